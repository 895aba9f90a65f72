"""``Patient/[id]/$access-log``: who opened a patient's record and when, in plain Spanish (with the English
alongside), including break-the-glass accesses and their reasons. Answers a ``collection`` Bundle of the
AuditEvents, newest first, each with a generated narrative (R4 narrative.html)."""

from __future__ import annotations

from datetime import datetime
from html import escape

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

ACCESS_LOG_LIMIT = 500
_PHRASES = {
    "read": ("consultó su expediente", "read your record"),
    "vread": ("consultó una versión anterior de su expediente", "read an earlier version of your record"),
    "history": ("consultó el historial de su expediente", "read the history of your record"),
    "search": ("buscó en su expediente", "searched your record"),
    "create": ("agregó datos a su expediente", "added to your record"),
    "update": ("modificó su expediente", "changed your record"), "patch": ("modificó su expediente",
                                                                           "changed your record"),
    "delete": ("eliminó datos de su expediente", "deleted from your record"),
    "transaction": ("registró cambios en su expediente", "recorded changes in your record"),
    "batch": ("registró cambios en su expediente", "recorded changes in your record"),
    "break-glass": ("abrió su expediente por emergencia", "opened your record in an emergency"),
}
_ROLES = {"clinician": "personal clínico", "coordinator": "coordinación de referencias", "patient": "usted",
          "admin": "administración", "system": "sistema"}


async def access_log(conn: AsyncConnection, *, patient_id: str, limit: int = ACCESS_LOG_LIMIT) -> dict:
    rows = (await conn.execute(text("SELECT seq, content FROM audit_event WHERE patients @> ARRAY[CAST(:p AS text)] "
                                    "ORDER BY seq DESC LIMIT :limit"), {"p": patient_id, "limit": limit})).all()
    events = [{"resourceType": "AuditEvent", "id": str(seq), **orjson.loads(content)} for seq, content in rows]
    facilities = sorted({a["who"]["reference"].partition("/")[2] for e in events for a in e["agent"]
                         if not a.get("requestor")
                         and a.get("who", {}).get("reference", "").startswith("Organization/")})
    names = dict((await conn.execute(text("SELECT id, CAST(content AS jsonb) ->> 'name' FROM resource WHERE "
                                          "resource_type = 'Organization' AND id = ANY(CAST(:ids AS text[]))"),
                                     {"ids": facilities})).all()) if facilities else {}
    entries = []
    for event in events:
        event["text"] = {"status": "generated", "div": _narrative(event, names)}
        entries.append({"fullUrl": f"urn:ece:audit:{event['id']}", "resource": event})
    return {"resourceType": "Bundle", "type": "collection", "total": len(entries), "entry": entries}


def _narrative(event: dict, names: dict[str, str]) -> str:
    requestor = next(a for a in event["agent"] if a.get("requestor"))
    role = requestor.get("type", {}).get("text", "")
    who = "Usted" if role == "patient" else f"{requestor['who'].get('display', '?')} ({_ROLES.get(role, role)})"
    facility = next((a["who"]["reference"] for a in event["agent"] if not a.get("requestor")), None)
    place = f", de {names.get(facility.partition('/')[2]) or facility}" if facility else ""
    when = datetime.fromisoformat(event["recorded"])
    interaction = event["subtype"][-1]["code"] if event["type"]["code"] == "rest" else "operation"
    phrase_es, phrase_en = _PHRASES.get(interaction, ("accedió a su expediente", "accessed your record"))
    if event["outcome"] != "0":
        phrase_es = "intentó acceder a su expediente y se le negó el acceso"
        phrase_en = "was refused access to your record"
    elif event["purposeOfEvent"][0]["coding"][0]["code"] == "ETREAT" and interaction != "break-glass":
        phrase_es, phrase_en = f"{phrase_es} (acceso de emergencia)", f"{phrase_en} (emergency access)"
    es = f"El {when:%d/%m/%Y} a las {when:%H:%M} (UTC), {who}{place} {phrase_es}."
    en = f"On {when:%Y-%m-%d} at {when:%H:%M} UTC, {who}{place} {phrase_en}."
    for entity in event.get("entity", []):
        for detail in entity.get("detail", []):
            if detail.get("type") == "motivo":
                es += f" Motivo de la emergencia: «{detail['valueString']}»."
                en += f" Emergency reason: “{detail['valueString']}”."
    return f'<div xmlns="http://www.w3.org/1999/xhtml"><p>{escape(es)}</p><p lang="en">{escape(en)}</p></div>'
