"""The channels: building what each receiver gets, and sending it once.

Every message carries the outbox row id as its idempotency key, so a receiver that sees a redelivery (a
worker killed after sending, before recording it) can drop it: ``Idempotency-Key`` on HTTP (SMS gateway,
rest-hook), ``Message-ID`` on email, and the id of the in-app Communication itself.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import smtplib
import ssl
from datetime import datetime
from email.message import EmailMessage
from email.utils import formatdate
from zoneinfo import ZoneInfo

import httpx

from ece import fhirjson
from ece.notifications.config import Config, SmsGateway, Smtp

HONDURAS = ZoneInfo("America/Tegucigalpa")
SMS_MAX_CHARACTERS = 160  # one GSM-7 segment
IDEMPOTENCY_HEADER = "Idempotency-Key"
SIGNATURE_HEADER = "X-ECE-Signature"  # "sha256=<hex HMAC-SHA256 of the body with the subscription's secret>"


class DeliveryError(Exception):
    """A refused or failed attempt; the message is kept as the row's last error (and shown to coordinators)."""


def texts(row: dict) -> list[tuple[str, str]]:
    """(title, text) in the recipient's language first, then the other one."""
    spanish = (row["title_es"], row["text_es"])
    english = (row["title_en"], row["text_en"])
    return [english, spanish] if row["language"] == "en" else [spanish, english]


# --- email -------------------------------------------------------------------------------------------


def email_message(row: dict, smtp: Smtp) -> EmailMessage:
    (first_title, first_text), (second_title, second_text) = texts(row)
    message = EmailMessage()
    message["From"] = smtp.sender
    message["To"] = row["address"]
    message["Subject"] = f"{first_title} / {second_title}"
    message["Date"] = formatdate(localtime=False)
    domain = smtp.sender.rpartition("@")[2] or "salud.gob.hn"
    message["Message-ID"] = f"<{row['id']}@{domain}>"
    message[IDEMPOTENCY_HEADER] = row["id"]
    message.set_content(f"{first_text}\n\n{second_text}\n\n({row['about']})\n")
    return message


async def send_email(row: dict, config: Config) -> None:
    smtp = config.smtp
    if not smtp.host:
        raise DeliveryError("El correo no está configurado (ECE_SMTP_HOST) / email is not configured")
    message = email_message(row, smtp)
    try:
        await asyncio.to_thread(_smtp_send, smtp, message, config.timeout_seconds)
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryError(f"SMTP {smtp.host}:{smtp.port}: {_describe(exc)}") from None


def _smtp_send(smtp: Smtp, message: EmailMessage, timeout: float) -> None:
    assert smtp.host is not None
    # The server's certificate and name are always verified (against ca_file when given).
    if smtp.tls == "ssl":
        client: smtplib.SMTP = smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=timeout,
                                               context=ssl.create_default_context(cafile=smtp.ca_file))
    else:
        client = smtplib.SMTP(smtp.host, smtp.port, timeout=timeout)
    with client:
        if smtp.tls == "starttls":
            client.starttls(context=ssl.create_default_context(cafile=smtp.ca_file))
        if smtp.user:
            client.login(smtp.user, smtp.password or "")
        client.send_message(message)


# --- SMS ---------------------------------------------------------------------------------------------


def sms_text(row: dict, gateway: SmsGateway) -> str:
    """The template with the title, the referral number and the local date: nothing clinical."""
    title = row["title_en"] if row["language"] == "en" else row["title_es"]
    created: datetime = row["created_at"]
    try:
        text = gateway.template.format(titulo=title, referencia=row.get("reference_number") or "",
                                       fecha=created.astimezone(HONDURAS).strftime("%d/%m/%Y"))
    except (KeyError, IndexError, ValueError) as exc:
        raise DeliveryError(f"Plantilla de SMS inválida (ECE_SMS_TEMPLATE) / invalid SMS template: {exc!r}") from None
    return text[:SMS_MAX_CHARACTERS]


async def send_sms(row: dict, config: Config, client: httpx.AsyncClient) -> None:
    gateway = config.sms
    if not gateway.url:
        raise DeliveryError("SMS no configurado (ECE_SMS_GATEWAY_URL) / SMS is not configured")
    headers = {IDEMPOTENCY_HEADER: row["id"]}
    if gateway.token:
        headers["Authorization"] = f"Bearer {gateway.token}"
    body = {"to": row["address"], "message": sms_text(row, gateway)}  # may raise DeliveryError: a failed attempt
    await _post(client, gateway.url, content=fhirjson.dumps(body), headers={**headers,
                "Content-Type": "application/json"}, timeout=config.timeout_seconds)


# --- rest-hook ---------------------------------------------------------------------------------------


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


async def send_rest_hook(row: dict, *, endpoint: str, headers: dict[str, str], body: bytes, content_type: str | None,
                         secret: str | None, config: Config, client: httpx.AsyncClient) -> None:
    sent = {**headers, IDEMPOTENCY_HEADER: row["id"]}
    if content_type:
        sent["Content-Type"] = content_type
    if secret:
        sent[SIGNATURE_HEADER] = signature(secret, body)
    await _post(client, endpoint, content=body, headers=sent, timeout=config.timeout_seconds)


async def _post(client: httpx.AsyncClient, url: str, *, content: bytes, headers: dict[str, str],
                timeout: float) -> None:
    try:
        response = await client.post(url, content=content, headers=headers, timeout=timeout)
    except httpx.HTTPError as exc:
        raise DeliveryError(f"POST {url}: {_describe(exc)}") from None
    if not 200 <= response.status_code < 300:
        raise DeliveryError(f"POST {url}: HTTP {response.status_code} {response.text[:200]}")


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:500]
