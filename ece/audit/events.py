"""Building R4 AuditEvent resources (R4 auditevent.html) for the accesses of the record.

Codes: type ``rest`` (audit-event-type) with the RESTful interaction as subtype, or DICOM ``110114``
"User Authentication" for logins; action C/R/U/D/E; outcome 0 (success), 4 (refused) or 8 (failure);
purpose of use from v3 ActReason (TREAT, ETREAT for break-the-glass, HOPERAT for system work, PATRQT for
a patient looking at their own record).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # ece.access records through this package; importing it here would be circular
    from ece.access.actor import Actor

ACT_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
ENTITY_TYPE = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
OBJECT_ROLE = "http://terminology.hl7.org/CodeSystem/object-role"
SOURCE_TYPE = "http://terminology.hl7.org/CodeSystem/security-source-type"
EVENT_TYPE = "http://terminology.hl7.org/CodeSystem/audit-event-type"
INTERACTION = "http://hl7.org/fhir/restful-interaction"
DICOM = "http://dicom.nema.org/resources/ontology/DCM"
OPERATION = "https://fhir.salud.gob.hn/CodeSystem/operacion-ece"
RESTFUL = frozenset({"read", "vread", "update", "patch", "delete", "history", "create", "search", "transaction",
                     "batch", "operation"})
ACTION = {"create": "C", "read": "R", "vread": "R", "history": "R", "search": "E", "update": "U", "patch": "U",
          "delete": "D", "transaction": "E", "batch": "E", "operation": "E", "login": "E", "break-glass": "E"}
# A reference to a patient anywhere in a resource's JSON (relative or absolute); FHIR ids are [A-Za-z0-9.-]{1,64}.
_PATIENT_REFERENCE = re.compile(rb'"reference"\s*:\s*"(?:[^"]*/)?Patient/([A-Za-z0-9.\-]{1,64})"')


@dataclass(frozen=True)
class Access:
    """Who accessed, from where, and why."""

    actor: Actor
    name: str | None = None
    address: str | None = None

    @property
    def purpose(self) -> str:
        return {"system": "HOPERAT", "patient": "PATRQT", "coordinator": "HOPERAT",
                "admin": "HOPERAT"}.get(self.actor.role.value, "TREAT")


@dataclass
class Event:
    """One access, before it becomes an AuditEvent."""

    access: Access
    interaction: str  # read, vread, history, search, create, update, patch, delete, transaction, login, ...
    outcome: str = "0"
    entities: list[str] = field(default_factory=list)  # "Type/id" returned or written
    patients: set[str] = field(default_factory=set)  # ids of the patients whose data it touched
    query: str | None = None
    description: str | None = None
    purpose: str | None = None
    reason: str | None = None  # break-the-glass: the reason given
    recorded: datetime = field(default_factory=lambda: datetime.now(UTC))


def patients_in(resource_type: str, resource_id: str, content: bytes | str | None) -> set[str]:
    """The patients a resource is about: itself if a Patient, and every Patient it references."""
    found = {resource_id} if resource_type == "Patient" else set()
    if content:
        raw = content.encode() if isinstance(content, str) else content
        found.update(m.decode() for m in _PATIENT_REFERENCE.findall(raw))
    return found


def to_resource(event: Event) -> dict:
    access = event.access
    actor = access.actor
    purpose = [{"coding": [{"system": ACT_REASON, "code": event.purpose or access.purpose}]}]
    who: dict = {"display": access.name or actor.subject}
    if actor.practitioner_role or actor.patient:
        who["reference"] = actor.practitioner_role or actor.patient
    agent: dict = {"type": {"text": actor.role.value}, "who": who, "altId": actor.subject, "requestor": True,
                   "purposeOfUse": purpose}
    if access.address:
        agent["network"] = {"address": access.address, "type": "2"}
    agents = [agent]
    if actor.facility:
        agents.append({"type": {"text": "organization"}, "who": {"reference": actor.facility}, "requestor": False})
    if event.interaction == "login":
        kind = {"system": DICOM, "code": "110114", "display": "User Authentication"}
        subtype = [{"system": DICOM, "code": "110122", "display": "Login"}]
    elif event.interaction in RESTFUL:
        kind = {"system": EVENT_TYPE, "code": "rest", "display": "RESTful Operation"}
        subtype = [{"system": INTERACTION, "code": event.interaction}]
    else:  # an operation of this server ($break-glass): restful "operation", then the operation's name
        kind = {"system": EVENT_TYPE, "code": "rest", "display": "RESTful Operation"}
        subtype = [{"system": INTERACTION, "code": "operation"}, {"system": OPERATION, "code": event.interaction}]
    resource: dict = {
        "resourceType": "AuditEvent", "type": kind, "subtype": subtype,
        "action": ACTION.get(event.interaction, "E"), "recorded": event.recorded.isoformat(timespec="milliseconds"),
        "outcome": event.outcome, "purposeOfEvent": purpose, "agent": agents,
        "source": {"site": "ECE Honduras", "observer": {"display": "ECE Honduras FHIR"},
                   "type": [{"system": SOURCE_TYPE, "code": "4", "display": "Application Server"}]},
        "entity": list(_entities(event)),
    }
    if event.description:
        resource["outcomeDesc"] = event.description
    return resource


def _entities(event: Event) -> Iterable[dict]:
    for patient_id in sorted(event.patients):
        yield {"what": {"reference": f"Patient/{patient_id}"}, "type": {"system": ENTITY_TYPE, "code": "1"},
               "role": {"system": OBJECT_ROLE, "code": "1", "display": "Patient"}}
    for reference in event.entities:
        if reference.startswith("Patient/") and reference[8:] in event.patients:
            continue
        yield {"what": {"reference": reference}, "type": {"system": ENTITY_TYPE, "code": "2"}}
    if event.query is not None:
        yield {"type": {"system": ENTITY_TYPE, "code": "2"}, "role": {"system": OBJECT_ROLE, "code": "24",
                                                                     "display": "Query"},
               "query": base64.b64encode(event.query.encode()).decode()}
    if event.reason is not None:
        yield {"type": {"system": ENTITY_TYPE, "code": "4"}, "name": "acceso de emergencia / break the glass",
               "detail": [{"type": "motivo", "valueString": event.reason}]}
