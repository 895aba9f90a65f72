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
_VERBS = {"read": ("consultó", "read"), "vread": ("consultó una versión anterior de", "read an earlier version of"),
          "history": ("consultó el historial de", "read the history of"), "search": ("buscó en", "searched"),
          "create": ("agregó datos a", "added to"), "update": ("modificó", "changed"), "patch": ("modificó", "changed"),
          "delete": ("eliminó datos de", "deleted from"), "transaction": ("registró cambios en", "recorded changes in"),
          "batch": ("registró cambios en", "recorded changes in"),
          "break-glass": ("abrió por emergencia", "opened in an emergency")}
_ROLES = {"clinician": "personal clínico", "coordinator": "coordinación de referencias", "patient": "usted",
          "admin": "administración", "system": "sistema"}


async def access_log(conn: AsyncConnection, *, patient_id: str, limit: int = ACCESS_LOG_LIMIT) -> dict:
    rows = (await conn.execute(text("SELECT content FROM audit_event WHERE patients @> ARRAY[CAST(:p AS text)] "
                                    "ORDER BY seq DESC LIMIT :limit"), {"p": patient_id, "limit": limit})).all()
    events = [orjson.loads(r[0]) for r in rows]
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
    interaction = event["subtype"][0]["code"] if event["type"]["code"] == "rest" else "operation"
    emergency = any(e.get("name", "").startswith("acceso de emergencia") for e in event.get("entity", []))
    if emergency:
        interaction = "break-glass"
    verb_es, verb_en = _VERBS.get(interaction, ("accedió a", "accessed"))
    refused = event["outcome"] != "0"
    es = (f"El {when:%d/%m/%Y} a las {when:%H:%M} (UTC), {who}{place} "
          f"{'intentó acceder a' if refused else verb_es} su expediente{' y se le negó el acceso' if refused else ''}.")
    en = f"On {when:%Y-%m-%d} at {when:%H:%M} UTC, {who}{place} {'was refused access to' if refused else verb_en} " \
         "your record."
    for entity in event.get("entity", []):
        for detail in entity.get("detail", []):
            if detail.get("type") == "motivo":
                es += f" Motivo de la emergencia: «{detail['valueString']}»."
                en += f" Emergency reason: “{detail['valueString']}”."
    return f'<div xmlns="http://www.w3.org/1999/xhtml"><p>{escape(es)}</p><p lang="en">{escape(en)}</p></div>'
