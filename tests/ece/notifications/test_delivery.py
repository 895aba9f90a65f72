"""Delivering outbox rows on each channel, against a real SMTP server and a real HTTP gateway in this process."""

from __future__ import annotations

import json
import ssl
from dataclasses import replace
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.smtp import AuthResult
from sqlalchemy import text

from ece import fhirjson, reads
from ece.access import Actor, Forbidden, Role
from ece.errors import Conflict
from ece.notifications import Smtp, config, notify
from ece.notifications.delivery import MAX_DELIVERY_ATTEMPTS, deliver, retry_delay_seconds
from ece.notifications.operations import resend
from ece.tx import unit_of_work
from tests.ece.notifications.factories import create_organization, create_patient, create_task, notice
from tests.ece.notifications.receivers import SmtpReceiver, self_signed_certificate

coordinator_03 = Actor(subject="coord-03", role=Role.COORDINATOR, region="03")


async def _notify(engine, make):
    async with unit_of_work(engine) as tx:
        return await make(tx)


async def _row(engine, row_id: str) -> dict:
    async with engine.connect() as conn:
        return dict((await conn.execute(text("SELECT * FROM notification_outbox WHERE id = :id"),
                                        {"id": row_id})).mappings().one())


async def _communication(engine, row_id: str) -> tuple[int, dict]:
    async with engine.connect() as conn:
        found = await reads.read(conn, resource_type="Communication", resource_id=row_id)
    return found.version_id, fhirjson.loads(found.content)


async def _by_channel(engine, ids: list[str]) -> dict[str, str]:
    async with engine.connect() as conn:
        rows = await conn.execute(text("SELECT channel, id FROM notification_outbox WHERE id = ANY(:ids)"),
                                  {"ids": ids})
    return {channel: row_id for channel, row_id in rows}


async def test_inbox_delivery_writes_one_unread_communication_even_when_delivered_twice(notify_engine, runtime,
                                                                                        channels):
    async def make(tx):
        org = await create_organization(tx, org_id="d-hosp-1")
        task = await create_task(tx, task_id="d-ref-1", owner=org, region="05")
        return await notify(tx, [notice(recipient=org, about=task)])

    (row_id,) = await _notify(notify_engine, make)
    assert (await deliver(runtime, row_id=row_id)).state == "delivered"
    assert (await deliver(runtime, row_id=row_id)).state == "skipped"
    version, communication = await _communication(notify_engine, row_id)
    assert version == 1
    assert communication["status"] == "in-progress"
    assert communication["recipient"] == [{"reference": "Organization/d-hosp-1"}]
    assert communication["about"] == [{"reference": "Task/d-ref-1"}]
    assert communication["meta"]["tag"] == [{"system": "https://fhir.salud.gob.hn/CodeSystem/region-sanitaria",
                                             "code": "05"}]
    assert communication["payload"][0]["contentString"].startswith("Referencia recibida\n")
    assert (await _row(notify_engine, row_id))["status"] == "delivered"


async def test_region_inbox_is_addressed_by_region_identifier(notify_engine, runtime, channels):
    async def make(tx):
        return await notify(tx, [notice(recipient="region:12", about="Task/d-ref-x", event="referral.overdue")])

    (row_id,) = await _notify(notify_engine, make)
    await deliver(runtime, row_id=row_id)
    _version, communication = await _communication(notify_engine, row_id)
    assert communication["recipient"] == [{"identifier": {
        "system": "https://fhir.salud.gob.hn/CodeSystem/region-sanitaria", "value": "12"}}]
    assert communication["category"][0]["coding"][0]["code"] == "referral.overdue"


async def test_email_arrives_over_smtp_with_the_row_as_message_id(notify_engine, runtime, channels, smtp):
    async def make(tx):
        org = await create_organization(tx, org_id="d-hosp-2", emails=("admision@hosp2.hn",))
        return await notify(tx, [notice(recipient=org, about="Task/d-ref-2")])

    row_id = (await _by_channel(notify_engine, await _notify(notify_engine, make)))["email"]
    assert (await deliver(runtime, row_id=row_id)).state == "delivered"
    arrival = smtp.inbox.accepted[f"<{row_id}@salud.gob.hn>"]
    assert arrival.headers["To"] == "admision@hosp2.hn"
    assert arrival.headers["Subject"] == "Referencia recibida / Referral received"
    assert b"Tiene una referencia nueva" in arrival.body


async def test_sms_goes_to_the_gateway_with_only_number_and_date(notify_engine, runtime, channels, gateway):
    async def make(tx):
        patient = await create_patient(tx, patient_id="d-pac-1", sms_consent=True,
                                       telecom=[{"system": "sms", "value": "+50499991111"}])
        task = await create_task(tx, task_id="d-ref-3", owner="Organization/x", number="REF-2026-000777")
        return await notify(tx, [notice(recipient=patient, about=task, event="referral.booked")])

    row_id = (await _by_channel(notify_engine, await _notify(notify_engine, make)))["sms"]
    assert (await deliver(runtime, row_id=row_id)).state == "delivered"
    arrival = gateway.inbox.accepted[row_id]
    assert arrival.headers["Authorization"] == "Bearer clave-de-prueba"
    body = json.loads(arrival.body)
    assert body["to"] == "+50499991111"
    created = (await _row(notify_engine, row_id))["created_at"]
    local_day = created.astimezone(ZoneInfo("America/Tegucigalpa")).strftime("%d/%m/%Y")
    assert body["message"] == (f"Salud Honduras: Referencia recibida, referencia REF-2026-000777. Aviso del "
                               f"{local_day}; los detalles, en su establecimiento.")
    assert "revisar" not in body["message"]  # the notice's text never goes out by SMS
    assert len(body["message"]) <= 160


async def test_refused_email_is_retried_with_backoff_then_failed_then_resent(notify_engine, runtime, channels,
                                                                            smtp):
    async def make(tx):
        org = await create_organization(tx, org_id="d-hosp-3", emails=("cerrado@hosp3.hn",))
        task = await create_task(tx, task_id="d-ref-4", owner=org, region="03")
        return await notify(tx, [notice(recipient=org, about=task)])

    row_id = (await _by_channel(notify_engine, await _notify(notify_engine, make)))["email"]
    smtp.refuse = True
    delays = []
    for _attempt in range(MAX_DELIVERY_ATTEMPTS - 1):
        outcome = await deliver(runtime, row_id=row_id)
        assert outcome.state == "retry"
        delays.append(outcome.retry_in_seconds)
    assert delays == [retry_delay_seconds(n, 0.01) for n in range(1, MAX_DELIVERY_ATTEMPTS)]
    assert delays[1] == 2 * delays[0]
    assert (await deliver(runtime, row_id=row_id)).state == "failed"
    row = await _row(notify_engine, row_id)
    assert (row["status"], row["attempts"]) == ("failed", MAX_DELIVERY_ATTEMPTS)
    assert "550" in row["last_error"]
    _version, record = await _communication(notify_engine, row_id)
    assert record["status"] == "not-done"
    assert "550" in record["statusReason"]["text"]
    assert record["meta"]["tag"][0]["code"] == "03"  # visible to the region's coordinators

    smtp.refuse = False
    with pytest.raises(Forbidden):  # another region's coordinator
        async with unit_of_work(notify_engine) as tx:
            await resend(tx, communication_id=row_id, actor=Actor(subject="c4", role=Role.COORDINATOR, region="04"))
    async with unit_of_work(notify_engine) as tx:
        resent = fhirjson.loads((await resend(tx, communication_id=row_id, actor=coordinator_03)).content)
    assert resent["status"] == "in-progress"
    assert channels[-1] == [row_id]  # queued again after commit
    assert (await deliver(runtime, row_id=row_id)).state == "delivered"
    assert list(smtp.inbox.accepted) == [f"<{row_id}@salud.gob.hn>"]
    _version, record = await _communication(notify_engine, row_id)
    assert record["status"] == "completed"
    with pytest.raises(Conflict):  # only a failed delivery is re-sent
        async with unit_of_work(notify_engine) as tx:
            await resend(tx, communication_id=row_id, actor=coordinator_03)


async def test_email_goes_over_starttls_with_login_and_a_wrong_password_is_a_failed_attempt(
        notify_engine, runtime, channels, tmp_path):
    cert, key = self_signed_certificate(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)

    def authenticate(server, session, envelope, mechanism, auth_data) -> AuthResult:
        ok = (auth_data.login, auth_data.password) == (b"notificador", b"clave-smtp")
        return AuthResult(success=ok, handled=False)

    async def make(tx):
        org = await create_organization(tx, org_id="d-hosp-tls", emails=("seguro@hosp.hn",))
        return await notify(tx, [notice(recipient=org, about="Task/d-ref-tls")])

    with SmtpReceiver(tls_context=context, require_starttls=True, authenticator=authenticate,
                      auth_require_tls=True) as secure:
        smtp = Smtp(host="127.0.0.1", port=secure.port, tls="starttls", user="notificador", password="clave-smtp",
                    ca_file=str(cert))
        config.STATE.config = replace(config.STATE.config, smtp=smtp)
        row_id = (await _by_channel(notify_engine, await _notify(notify_engine, make)))["email"]
        assert (await deliver(runtime, row_id=row_id)).state == "delivered"
        assert f"<{row_id}@salud.gob.hn>" in secure.inbox.accepted

        config.STATE.config = replace(config.STATE.config, smtp=replace(smtp, password="equivocada"))
        row_id = (await _by_channel(notify_engine, await _notify(notify_engine, make)))["email"]
        assert (await deliver(runtime, row_id=row_id)).state == "retry"
        assert "535" in (await _row(notify_engine, row_id))["last_error"]  # authentication refused
