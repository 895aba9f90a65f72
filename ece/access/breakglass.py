"""Break the glass: a clinician without a care relationship opens a patient's record in an emergency.

The grant is explicit (``Patient/[id]/$break-glass`` with a reason), personal (this user only), limited in
time, recorded as an AuditEvent with purpose ETREAT and the reason (which the patient reads in their access
log), notified to the patient (ece.notifications, on the channels of their preferences), and overrides a
Consent's refusal, as emergencies must.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from ece import fhirjson, reads
from ece.access.actor import Role
from ece.access.guard import Guard
from ece.access.policy import may
from ece.audit import Event, record
from ece.errors import BadRequest, Issue
from ece.notifications import Notice, notify
from ece.tx import Transaction

BREAK_GLASS_DEFAULT_MINUTES = 60
BREAK_GLASS_MAX_MINUTES = 240
MIN_REASON_LENGTH = 10


async def break_glass(tx: Transaction, *, guard: Guard, patient_id: str, reason: str, minutes: int) -> dict:
    if guard.actor.role is not Role.CLINICIAN:
        raise guard.refuse(tx, "solo el personal clínico puede abrir un expediente por emergencia / only "
                               "clinicians may break the glass", interaction="r", target=f"Patient/{patient_id}")
    reason = reason.strip()
    if len(reason) < MIN_REASON_LENGTH:
        raise BadRequest([Issue("required", f"Indique el motivo de la emergencia (al menos {MIN_REASON_LENGTH} "
                                            f"caracteres) / give the emergency's reason", ("reason",))])
    if not 0 < minutes <= BREAK_GLASS_MAX_MINUTES:
        raise BadRequest([Issue("invalid", f"minutes: entre 1 y {BREAK_GLASS_MAX_MINUTES} / between 1 and "
                                           f"{BREAK_GLASS_MAX_MINUTES}", ("minutes",))])
    await reads.read(tx.conn, resource_type="Patient", resource_id=patient_id)  # 404 / 410 as a read would
    granted = datetime.now(UTC)
    expires = granted + timedelta(minutes=minutes)
    grant_id = uuid.uuid4().hex
    await tx.conn.execute(text("INSERT INTO access_grant (id, subject, facility, patient_id, reason, granted_at, "
                               "expires_at) VALUES (:id, :s, :f, :p, :r, :g, :e)"),
                          {"id": grant_id, "s": guard.actor.subject, "f": guard.actor.facility, "p": patient_id,
                           "r": reason, "g": granted, "e": expires})
    record(tx, Event(guard.access, "break-glass", entities=[f"Patient/{patient_id}"], patients={patient_id},
                     purpose="ETREAT", reason=reason, recorded=granted,
                     description=f"Acceso de emergencia concedido hasta {fhirjson.instant(expires)} / emergency "
                                 "access granted"))
    who = guard.access.name or guard.actor.subject
    await notify(tx, [Notice(
        event="access.break-glass", recipient=f"Patient/{patient_id}", about=f"Patient/{patient_id}",
        title_es="Acceso de emergencia a su expediente",
        text_es=f"{who} ({guard.actor.facility}) abrió su expediente por una emergencia el "
                f"{granted:%d/%m/%Y a las %H:%M} (UTC). Motivo: {reason}",
        title_en="Emergency access to your record",
        text_en=f"{who} ({guard.actor.facility}) opened your record in an emergency on {granted:%Y-%m-%d %H:%M} "
                f"UTC. Reason: {reason}")])
    return {"resourceType": "Parameters", "parameter": [
        {"name": "grant", "valueString": grant_id},
        {"name": "patient", "valueReference": {"reference": f"Patient/{patient_id}"}},
        {"name": "expires", "valueInstant": fhirjson.instant(expires)},
        {"name": "reason", "valueString": reason},
    ]}


async def access_log_allowed(guard: Guard, patient_id: str) -> bool:
    """The patient reads their own access log; a back-end with AuditEvent read scope reads anyone's."""
    if not guard.enforced:
        return True
    actor = guard.actor
    if actor.role is Role.PATIENT:
        return actor.patient == f"Patient/{patient_id}"
    return actor.role is Role.SYSTEM and may(actor, "AuditEvent", "r")
