"""The in-app inbox: each notice becomes a FHIR Communication (R4 communication.html), written through the store.

- id = the outbox row id, so a second delivery of the same row finds it and writes nothing;
- ``recipient``: the Organization, PractitionerRole or Patient; a region's coordinators are addressed by
  identifier (system https://fhir.salud.gob.hn/CodeSystem/region-sanitaria, value the region code);
- ``status``: ``in-progress`` = unread, ``completed`` = read (the client updates it); ``not-done`` with
  ``statusReason`` = an email, SMS or rest-hook delivery that failed for good (coordinators search
  ``Communication?status=not-done``, and ``$resend`` it);
- ``category``: the event code; ``medium``: the channel; ``about``: the resource; ``sent``/``received``: when
  written and delivered; ``meta.tag``: the health regions of the resource it is about.
"""

from __future__ import annotations

from datetime import datetime

from ece import fhirjson, reads, store
from ece.errors import Gone, NotFound
from ece.notifications.channels import texts
from ece.notifications.outbox import Channel
from ece.notifications.recipients import REGION_PREFIX, REGION_SYSTEM
from ece.tx import Transaction

EVENT_SYSTEM = "https://fhir.salud.gob.hn/CodeSystem/evento-notificacion"
CHANNEL_SYSTEM = "https://fhir.salud.gob.hn/CodeSystem/canal-notificacion"
UNREAD, READ, FAILED = "in-progress", "completed", "not-done"


def communication(row: dict, *, status: str, received: datetime | None, reason: str | None = None) -> dict:
    tags = list(row["tags"] or [])
    recipient: dict
    if row["recipient"].startswith(REGION_PREFIX):
        code = row["recipient"][len(REGION_PREFIX):]
        recipient = {"identifier": {"system": REGION_SYSTEM, "value": code}}
        if not any(t.get("code") == code for t in tags):
            tags.append({"system": REGION_SYSTEM, "code": code})
    else:
        recipient = {"reference": row["recipient"]}
    data: dict = {
        "resourceType": "Communication",
        "id": row["id"],
        "identifier": [{"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{row['id']}"}],
        "status": status,
        "category": [{"coding": [{"system": EVENT_SYSTEM, "code": row["event"]}]}],
        "medium": [{"coding": [{"system": CHANNEL_SYSTEM, "code": row["channel"]}]}],
        "about": [{"reference": row["about"]}],
        "sent": fhirjson.instant(row["created_at"]),
        "payload": [{"contentString": f"{title}\n{text}"} for title, text in texts(row)],
    }
    if row["channel"] != Channel.REST_HOOK:
        data["recipient"] = [recipient]
    if tags:
        data["meta"] = {"tag": tags}
    if received is not None:
        data["received"] = fhirjson.instant(received)
    if reason:
        data["statusReason"] = {"text": reason[:1000]}
    return data


async def write(tx: Transaction, row: dict, *, status: str, received: datetime | None, reason: str | None = None
                ) -> None:
    """Write (or overwrite) Communication/<row id>: only ever called under the row's lock."""
    await store.update(tx, resource_type="Communication", resource_id=row["id"],
                       data=communication(row, status=status, received=received, reason=reason))


async def exists(tx: Transaction, row_id: str) -> bool:
    try:
        await reads.read(tx.conn, resource_type="Communication", resource_id=row_id)
    except (NotFound, Gone):
        return False
    return True
