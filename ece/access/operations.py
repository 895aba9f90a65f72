"""``Patient/[id]/$break-glass`` and ``Patient/[id]/$access-log`` as OperationDefinitions (R4
operationdefinition.html), so a client finds them in the CapabilityStatement and can read what each takes and
answers. Installed with fixed ids through the store, like the other definitions of this server."""

from __future__ import annotations

from ece import store
from ece.access.breakglass import BREAK_GLASS_DEFAULT_MINUTES, BREAK_GLASS_MAX_MINUTES, MIN_REASON_LENGTH
from ece.audit.log import ACCESS_LOG_LIMIT
from ece.tx import Transaction

CANONICAL_BASE = "https://fhir.salud.gob.hn/OperationDefinition/"
BREAK_GLASS_ID = "Patient-break-glass"
ACCESS_LOG_ID = "Patient-access-log"
_COMMON = {"resourceType": "OperationDefinition", "version": "0.1.0", "status": "active", "kind": "operation",
           "publisher": "ECE Honduras", "resource": ["Patient"], "system": False, "type": False, "instance": True}


def _parameter(name: str, use: str, minimum: int, maximum: str, kind: str, documentation: str) -> dict:
    return {"name": name, "use": use, "min": minimum, "max": maximum, "type": kind, "documentation": documentation}


BREAK_GLASS = {
    **_COMMON, "id": BREAK_GLASS_ID, "url": CANONICAL_BASE + BREAK_GLASS_ID, "name": "BreakGlass",
    "title": "Acceso de emergencia / break the glass", "code": "break-glass", "affectsState": True,
    "description": "Un profesional clínico sin relación de atención con el paciente abre su expediente por una "
                   "emergencia: el acceso es personal, dura un tiempo limitado, queda en la bitácora con el motivo "
                   "(propósito ETREAT) y se notifica al paciente. / A clinician without a care relationship opens "
                   "the patient's record in an emergency: personal, time-limited, audited with its reason, and "
                   "notified to the patient.",
    "parameter": [
        _parameter("reason", "in", 1, "1", "string",
                   f"Motivo de la emergencia (al menos {MIN_REASON_LENGTH} caracteres) / the emergency's reason"),
        _parameter("minutes", "in", 0, "1", "integer",
                   f"Duración del acceso: 1 a {BREAK_GLASS_MAX_MINUTES} minutos, {BREAK_GLASS_DEFAULT_MINUTES} por "
                   "defecto / how long access lasts"),
        _parameter("grant", "out", 1, "1", "string", "Identificador del acceso concedido / the grant's id"),
        _parameter("patient", "out", 1, "1", "Reference", "El paciente / the patient"),
        _parameter("expires", "out", 1, "1", "instant", "Fin del acceso / when access ends"),
        _parameter("reason", "out", 1, "1", "string", "El motivo registrado / the recorded reason"),
    ],
}

ACCESS_LOG = {
    **_COMMON, "id": ACCESS_LOG_ID, "url": CANONICAL_BASE + ACCESS_LOG_ID, "name": "AccessLog",
    "title": "Registro de accesos / access log", "code": "access-log", "affectsState": False,
    "description": "Quién consultó o modificó el expediente del paciente y cuándo, en lenguaje sencillo, incluidos "
                   "los accesos de emergencia y su motivo; solo para el propio paciente (o el sistema). / Who read "
                   "or changed the patient's record and when, in plain words, emergency accesses and their "
                   "reasons included; for the patient themselves.",
    "parameter": [
        _parameter("return", "out", 1, "1", "Bundle",
                   f"Bundle collection de AuditEvent, del más reciente al más antiguo (hasta {ACCESS_LOG_LIMIT}), "
                   "cada uno con su narrativa / the AuditEvents, newest first, each with a narrative"),
    ],
}

DEFINITIONS = (BREAK_GLASS, ACCESS_LOG)

# For the CapabilityStatement (R4 capabilitystatement.html#CapabilityStatement.rest.resource.operation).
OPERATIONS = {"Patient": [{"name": d["code"], "definition": d["url"]} for d in DEFINITIONS]}


async def install_access_operations(tx: Transaction) -> int:
    """Write each OperationDefinition that is missing or differs; answers how many were written."""
    return await store.update_if_changed(tx, list(DEFINITIONS))
