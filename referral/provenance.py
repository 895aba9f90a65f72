"""Every transition is recorded as a Provenance (R4 provenance.html): target the Task (the version the
transition wrote) and its ServiceRequest, ``recorded`` when, ``agent`` who (and for which facility),
``activity`` the named event (evento-referencia), ``reason`` why, and the Task's previous version as an
``entity`` with role ``revision``; the patient is a target too, which puts the trail in the patient's
compartment. From and to (Task.status and businessStatus) ride in the extension ``transicion-referencia``, so
``Task?_revinclude=Provenance:target`` reads the whole trail.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ece import fhirjson
from ece.access import Actor, Role
from fhir_profiles import systems

EXT_TRANSITION = systems.canonical("StructureDefinition", "transicion-referencia")
USER_SYSTEM = systems.sid("usuario")
ENGINE_NAME = "Motor de referencia y respuesta ECE / ECE referral engine"
PARTICIPANT_TYPE = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"


@dataclass(frozen=True)
class Step:
    """One recorded transition (``source``/``target`` None for the creation of a Task)."""

    event: str
    task: str  # "Task/<id>"
    task_version: int
    service_request: str | None
    source: tuple[str, str | None] | None  # (Task.status, businessStatus) before
    target: tuple[str, str]  # after
    when: datetime
    reason: dict | None = None
    note: str | None = None
    patient: str | None = None  # "Patient/<id>", Task.for


def agent_of(actor: Actor | None, *, on_behalf_of: str | None = None) -> dict:
    """Provenance.agent for an actor; None is the engine itself (deadline sweep, withdrawn offers)."""
    agent: dict = {"type": {"coding": [{"system": PARTICIPANT_TYPE, "code": "author"}]}}
    if actor is None:
        agent["who"] = {"display": ENGINE_NAME}
        return agent
    if actor.practitioner_role:
        agent["who"] = {"reference": actor.practitioner_role, "display": actor.subject}
    elif actor.role == Role.PATIENT and actor.patient:
        agent["who"] = {"reference": actor.patient}
    else:
        agent["who"] = {"identifier": {"system": USER_SYSTEM, "value": actor.subject}, "display": actor.subject}
    facility = actor.facility or on_behalf_of
    if facility and facility != agent["who"].get("reference"):
        agent["onBehalfOf"] = {"reference": facility}
    return agent


def provenance(step: Step, agent: dict) -> dict:
    transition = [{"url": "evento", "valueCode": step.event},
                  {"url": "hacia", "valueCode": step.target[0]},
                  {"url": "hacia-estado-negocio", "valueCode": step.target[1]}]
    if step.source is not None:
        transition[1:1] = [{"url": "desde", "valueCode": step.source[0]}]
        if step.source[1]:
            transition.insert(2, {"url": "desde-estado-negocio", "valueCode": step.source[1]})
    data: dict = {
        "resourceType": "Provenance",
        "extension": [{"url": EXT_TRANSITION, "extension": transition}],
        "target": [{"reference": f"{step.task}/_history/{step.task_version}"}],
        "recorded": fhirjson.instant(step.when),
        "activity": {"coding": [{"system": systems.CS_REFERRAL_EVENT, "code": step.event}]},
        "agent": [agent],
    }
    if step.service_request:
        data["target"].append({"reference": step.service_request})
    if step.patient:
        # Provenance belongs to a patient's compartment through a Patient target (R4 compartmentdefinition-patient
        # .html: Provenance.patient): the trail is then readable by whoever may read the patient's record.
        data["target"].append({"reference": step.patient})
    if step.reason:
        data["reason"] = [step.reason]
    if step.source is not None and step.task_version > 1:
        data["entity"] = [{"role": "revision", "what": {"reference": f"{step.task}/_history/{step.task_version - 1}"}}]
    if step.note:
        data["extension"][0]["extension"].append({"url": "nota", "valueString": step.note})
    return data
