"""R4 Subscriptions, rest-hook channel (R4 subscription.html): activation, write-time matching, error display.

- A client creates (or updates) a Subscription with ``status = requested``; in the same transaction the server
  checks it and writes, through ``ece.store``, a new version that is ``active`` or ``error`` with the reason in
  ``Subscription.error`` (R4 subscription.html#2.46.7.1). Only ``rest-hook`` channels are served.
- Matches are decided when a resource is written (a store hook inside the writing transaction): for each active
  Subscription on that type, its ``criteria`` is run as a search restricted to the ids just written, and each
  match becomes an outbox row holding the Subscription and the matched version. The delivery task only delivers.
- Delivery POSTs to ``channel.endpoint``: with ``channel.payload`` set, the matched version (that media type); without
  it, an empty body (R4 subscription.html#2.46.7.2). ``channel.header`` entries are sent as given, plus
  ``Idempotency-Key`` (the outbox row) and ``X-ECE-Signature`` (HMAC-SHA256 of the body).
- The signing secret is the extension ``https://fhir.salud.gob.hn/StructureDefinition/secreto-suscripcion``
  (valueString) on the Subscription: the client may set it; otherwise the server generates one when activating,
  and the client reads it back from the active Subscription.
- A failed delivery attempt writes its reason into ``Subscription.error`` (kept while failures go on, removed by the
  next success); when a row fails for good the Subscription becomes ``error``. Updating it with ``status = requested``
  activates it again.
"""

from __future__ import annotations

import logging
import secrets
from urllib.parse import urlsplit

from sqlalchemy import text

from ece import fhirjson, reads, search, store
from ece.errors import FhirError, Gone, NotFound
from ece.notifications import outbox
from ece.notifications.outbox import Channel
from ece.resource_types import is_served
from ece.tx import Transaction

log = logging.getLogger(__name__)

SECRET_EXTENSION = "https://fhir.salud.gob.hn/StructureDefinition/secreto-suscripcion"
FHIR_PAYLOADS = ("application/fhir+json", "application/json")
_ACTIVE = text("SELECT id, content FROM resource WHERE resource_type = 'Subscription' AND NOT deleted "
               "AND CAST(content AS jsonb)->>'status' = 'active'")


async def on_write(tx: Transaction, results: list[store.WriteResult]) -> None:
    """Store hook: activate requested Subscriptions, then queue a rest-hook row for every match."""
    for result in results:
        if result.resource_type == "Subscription" and not result.deleted and result.content is not None:
            await _activate_if_requested(tx, result.id, fhirjson.loads(result.content))
    written = [r for r in results if not r.deleted]
    if written:
        await _match(tx, written)


# --- activation ---------------------------------------------------------------------------------------


async def _activate_if_requested(tx: Transaction, subscription_id: str, data: dict) -> None:
    if data.get("status") != "requested":
        return
    problem = await check(tx, data)
    data = {k: v for k, v in data.items() if k != "error"}
    if problem is None:
        data["status"] = "active"
        if secret_of(data) is None:
            data["extension"] = [*(data.get("extension") or []),
                                 {"url": SECRET_EXTENSION, "valueString": secrets.token_urlsafe(32)}]
    else:
        data["status"] = "error"
        data["error"] = problem
    await store.update(tx, resource_type="Subscription", resource_id=subscription_id, data=data)


async def check(tx: Transaction, data: dict) -> str | None:
    """Why this Subscription cannot be activated (Spanish / English), or None when it can."""
    channel = data.get("channel") or {}
    if channel.get("type") != "rest-hook":
        return (f"Solo se admite el canal rest-hook / only the rest-hook channel is supported "
                f"(channel.type = {channel.get('type')!r})")
    endpoint = channel.get("endpoint")
    parts = urlsplit(endpoint) if isinstance(endpoint, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        return "channel.endpoint debe ser una URL http(s) / channel.endpoint must be an http(s) URL"
    payload = channel.get("payload")
    if payload is not None and payload.split(";")[0].strip() not in FHIR_PAYLOADS:
        return f"channel.payload no admitido / unsupported channel.payload {payload!r} (application/fhir+json)"
    for header in channel.get("header") or []:
        if ":" not in header:
            return f"channel.header debe ser 'Nombre: valor' / must be 'Name: value': {header[:80]!r}"
    resource_type, query = split_criteria(data.get("criteria"))
    if not resource_type or not is_served(resource_type):
        return (f"criteria debe ser Tipo?parámetros de un tipo servido / criteria must be Type?parameters of a "
                f"served type: {str(data.get('criteria'))[:120]!r}")
    if query:
        try:
            await search.matching_ids(tx.conn, resource_type=resource_type, query=query, limit=0)
        except FhirError as error:
            return "criteria inválido / invalid criteria: " + "; ".join(i.diagnostics for i in error.issues)[:500]
    return None


def split_criteria(criteria: object) -> tuple[str, str]:
    if not isinstance(criteria, str):
        return "", ""
    resource_type, _, query = criteria.strip().partition("?")
    return resource_type, query


def secret_of(data: dict) -> str | None:
    for extension in data.get("extension") or []:
        if isinstance(extension, dict) and extension.get("url") == SECRET_EXTENSION:
            value = extension.get("valueString")
            return value if isinstance(value, str) and value else None
    return None


# --- matching -----------------------------------------------------------------------------------------


async def _match(tx: Transaction, written: list[store.WriteResult]) -> None:
    by_type: dict[str, list[store.WriteResult]] = {}
    for result in written:
        by_type.setdefault(result.resource_type, []).append(result)
    rows: list[dict] = []
    for subscription_id, content in (await tx.conn.execute(_ACTIVE)).all():
        subscription = fhirjson.loads(content)
        resource_type, query = split_criteria(subscription.get("criteria"))
        candidates = by_type.get(resource_type)
        if not candidates:
            continue
        versions = {r.id: r.version_id for r in candidates}
        restricted = "&".join(p for p in (query, "_id=" + ",".join(versions)) if p)
        try:
            matched = await search.matching_ids(tx.conn, resource_type=resource_type, query=restricted,
                                                limit=len(versions))
        except FhirError:  # criteria checked at activation; a parameter since removed must not block writes
            log.warning("Subscription/%s: criteria no longer valid, skipped", subscription_id)
            continue
        endpoint = (subscription.get("channel") or {}).get("endpoint", "")
        rows.extend(_row(subscription_id, endpoint, resource_type, ident, versions[ident]) for ident in matched)
    await outbox.insert_rows(tx, rows)


def _row(subscription_id: str, endpoint: str, resource_type: str, resource_id: str, version_id: int) -> dict:
    about = f"{resource_type}/{resource_id}"
    return {
        "id": outbox.new_row_id(), "event": "subscription.notification", "recipient": f"Subscription/{subscription_id}",
        "about": about, "channel": Channel.REST_HOOK.value, "address": endpoint, "language": "es",
        "title_es": f"Notificación de suscripción: {about}", "text_es": f"{about} versión {version_id}",
        "title_en": f"Subscription notification: {about}", "text_en": f"{about} version {version_id}",
        "tags": [], "subscription_id": subscription_id, "resource_version": version_id,
    }


# --- what delivery needs ------------------------------------------------------------------------------


async def current(tx: Transaction, subscription_id: str) -> dict | None:
    try:
        found = await reads.read(tx.conn, resource_type="Subscription", resource_id=subscription_id)
    except (NotFound, Gone):
        return None
    return fhirjson.loads(found.content or b"{}")


def headers_of(subscription: dict) -> dict[str, str]:
    headers = {}
    for header in (subscription.get("channel") or {}).get("header") or []:
        name, _, value = header.partition(":")
        headers[name.strip()] = value.strip()
    return headers


async def record_error(tx: Transaction, subscription_id: str, reason: str, *, final: bool) -> None:
    """Show a delivery failure on the Subscription (status ``error`` once a row has failed for good)."""
    await store.lock(tx, store.lock_keys([("Subscription", subscription_id)]))
    data = await current(tx, subscription_id)
    if data is None or data.get("status") not in ("active", "error"):
        return
    status = "error" if final else data["status"]
    if data.get("error") == reason and data.get("status") == status:
        return
    await store.update(tx, resource_type="Subscription", resource_id=subscription_id,
                       data={**data, "status": status, "error": reason[:1000]})


async def clear_error(tx: Transaction, subscription_id: str) -> None:
    await store.lock(tx, store.lock_keys([("Subscription", subscription_id)]))
    data = await current(tx, subscription_id)
    if data is None or data.get("status") != "active" or "error" not in data:
        return
    await store.update(tx, resource_type="Subscription", resource_id=subscription_id,
                       data={k: v for k, v in data.items() if k != "error"})
