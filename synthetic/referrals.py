"""Referrals in every state of the lifecycle, written by the referral engine's own service functions.

A referral starts from a patient's diagnosis that the first level sends up (hypertension or diabetes to
internal medicine, a pregnancy to obstetrics, a fracture to orthopaedics, pneumonia or dengue with warning
signs to admission, a head injury to neurosurgery), from the patient's facility to the department's hospital
or, for what it lacks, the national hospital. Its hn-referencia ServiceRequest (id drawn from the seed) is
written through ``ece.store``; ``referral.intake.open_referral`` opens its Task and ``referral.lifecycle.fire``
(or ``referral.deadlines.mark_overdue``) moves it, each step at its own moment in the days before the seeding,
so acceptance and attention deadlines (``referral.policy``) are met by some and missed by others. Every
``SCENARIOS`` path is used in turn, so every state appears as soon as there are as many referrals.

The moments are relative to the time of seeding: the referral resources are the one part of the data set that
is not byte-identical between two runs (their ServiceRequest ids and clinical content are).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from ece import fhirjson, search, store
from ece.access import Actor, Role
from ece.errors import FhirError
from ece.tx import Transaction, unit_of_work
from fhir_profiles import systems as s
from referral import deadlines, intake, lifecycle, policy
from referral.inputs import Inputs
from referral.machine import Event
from synthetic import clinical
from synthetic.ids import new_id, stream
from synthetic.network import Facility, Network
from synthetic.patients import person_and_patient

SHARE_OF_PATIENTS = 0.05  # referrals per patient
H = timedelta(hours=1)
# Final state: the events that lead there; "overdue" marks the referral past its deadline (the engine's sweep).
SCENARIOS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("enviada", ()),
    ("recibida", ("receive",)),
    ("aceptada", ("receive", "accept")),
    ("cita-programada", ("receive", "accept", "schedule")),
    ("paciente-recibido", ("receive", "accept", "arrive")),
    ("respondida", ("receive", "accept", "arrive", "respond")),
    ("respuesta-recibida", ("receive", "accept", "arrive", "respond", "acknowledge")),
    ("aceptacion-vencida", ("overdue",)),
    ("atencion-vencida", ("receive", "accept", "overdue")),
    ("rechazada", ("receive", "reject")),
    ("redirigida", ("receive", "reject", "redirect")),
    ("en-espera", ("receive", "hold")),
    ("no-se-presento", ("receive", "accept", "no-show")),
    ("cancelada", ("cancel",)),
    ("anulada", ("entered-in-error",)),
    ("respondida", ("receive", "accept", "arrive", "respond")),
    ("borrador", ("draft",)),
    ("pendiente-asignacion", ("unassigned",)),
    ("aceptada", ("receive", "accept")),
    ("enviada", ("late",)),  # past its deadline, not yet marked: the sweep of `ece run` marks it
)
# CIE-10 code prefix → (specialty wanted, service, priority, transfer condition, transport)
REASONS = (
    ("S06", ("neurocirugia", "emergencia", "stat", "inestable", "ambulancia-avanzada")),
    ("A97.1", ("medicina-interna", "hospitalizacion", "urgent", "estable", "ambulancia-basica")),
    ("J18", ("medicina-interna", "hospitalizacion", "urgent", "estable", "ambulancia-basica")),
    ("S52", ("ortopedia", "emergencia", "urgent", "estable", "vehiculo-institucional")),
    ("Z34", ("ginecologia-obstetricia", "consulta-externa", "urgent", "estable", "transporte-publico")),
    ("E11", ("endocrinologia", "consulta-externa", "routine", "estable", "transporte-publico")),
    ("I10", ("medicina-interna", "consulta-externa", "routine", "estable", "transporte-publico")),
    ("J45", ("pediatria", "consulta-externa", "routine", "estable", "transporte-propio")),
)
REJECTIONS = ("sin-camas", "servicio-no-disponible", "especialista-ausente", "informacion-incompleta")
CANCELLATIONS = ("paciente-mejoro", "atendido-en-otro-lugar", "decision-del-paciente")


@dataclass(frozen=True)
class Plan:
    """One referral: its ServiceRequest and the path it takes."""

    service_request: dict
    origin: Facility
    destination: Facility
    alternative: Facility  # where a redirected referral goes
    scenario: tuple[str, tuple[str, ...]]
    condition: str  # "Condition/<id>" it answers with


def plans(network: Network, *, patients: int, count: int | None = None) -> list[Plan]:
    """The referrals of the first ``patients`` patients: ``count`` of them (default ``SHARE_OF_PATIENTS``)."""
    wanted = max(round(patients * SHARE_OF_PATIENTS), 0) if count is None else count
    rng = stream("referrals", network.seed)
    out: list[Plan] = []
    for index in range(patients):
        if len(out) >= wanted:
            break
        records = clinical.patient_records(network, index)
        found = _reason(records)
        if found is None:
            continue
        condition, (specialty, service, priority, transfer, transport) = found
        _rng, person, _patient = person_and_patient(network, index)
        destinations = [h for h in network.hospitals(person.municipality.department) if specialty in h.roles]
        if not destinations:
            continue
        requester = f"PractitionerRole/{person.home.roles['medicina-general'][0]}"
        number = len(out)
        data = {"resourceType": "ServiceRequest", "id": new_id(rng),
                "meta": {"profile": [s.canonical("StructureDefinition", "hn-referencia")]},
                "extension": [{"url": s.EXT_TRANSFER_CONDITION,
                               "valueCoding": {"system": s.CS_TRANSFER_CONDITION, "code": transfer}},
                              {"url": s.EXT_TRANSPORT, "valueCoding": {"system": s.CS_TRANSPORT, "code": transport}}],
                "identifier": [{"system": s.REFERRAL_NUMBER, "value": f"REF-{network.seed}-{number + 1:06d}"}],
                "status": "active", "intent": "order",
                "category": [{"coding": [{"system": s.CS_REQUEST_CATEGORY, "code": "referencia"}]}],
                "priority": priority, "code": {"coding": [{"system": s.CS_REFERRAL_SERVICE, "code": service}]},
                "subject": {"reference": person.reference}, "encounter": condition["encounter"],
                "requester": {"reference": requester},
                "performerType": {"coding": [{"system": s.CS_SPECIALTY, "code": specialty}]},
                "performer": [{"reference": destinations[0].reference}],
                "reasonCode": [{"coding": [condition["code"]["coding"][0]], "text": condition["code"]["text"]}],
                "reasonReference": [{"reference": f"Condition/{condition['id']}"}],
                "note": [{"text": f"Se refiere por {condition['code']['text'].lower()}; requiere valoración por "
                                  f"{specialty.replace('-', ' ')}."}]}
        out.append(Plan(data, person.home, destinations[0], destinations[-1], SCENARIOS[number % len(SCENARIOS)],
                        f"Condition/{condition['id']}"))
    return out


def _reason(records: list[dict]) -> tuple[dict, tuple] | None:
    conditions = [r for r in records if r["resourceType"] == "Condition"]
    for prefix, reason in REASONS:
        for condition in conditions:
            if condition["code"]["coding"][0]["code"].startswith(prefix):
                return condition, reason
    return None


async def write(tx: Transaction, plan: Plan, *, now: datetime) -> str | None:
    """Write one referral and walk it along its path; answers its final business status, or None when the
    ServiceRequest exists already (seeding again adds nothing)."""
    data = dict(plan.service_request)
    found = await store.current_versions(tx, [("ServiceRequest", data["id"])])
    if found:
        return None
    name, path = plan.scenario
    rules = policy.current()
    moment = now - _age(path, data["priority"], rules)
    data["authoredOn"] = fhirjson.instant(moment)
    if "draft" in path:
        data["status"] = "draft"
    if "unassigned" in path:
        data.pop("performer")
    written = await store.update(tx, resource_type="ServiceRequest", resource_id=data["id"], data=data)
    task = await _task_of(tx, f"ServiceRequest/{data['id']}", fhirjson.loads(written.content or b"{}"), moment)
    origin = Actor(subject="seed-origin", role=Role.CLINICIAN, facility=plan.origin.reference,
                   practitioner_role=data["requester"]["reference"])
    destination = Actor(subject="seed-destination", role=Role.CLINICIAN, facility=plan.destination.reference,
                        practitioner_role=f"PractitionerRole/{_first_role(plan.destination)}")
    rng = random.Random(data["id"])
    for event in path:
        if event in ("draft", "unassigned", "late"):
            continue
        if event == "overdue":
            fired_task = await _current_task(tx, task)
            deadline = datetime.fromisoformat(fired_task["restriction"]["period"]["end"])
            await deadlines.mark_overdue(tx, task_id=task, now=deadline + timedelta(minutes=5))
            continue
        moment += _gap(event)
        actor = origin if event in ("cancel", "acknowledge", "entered-in-error") else destination
        inputs = _inputs(event, rng, plan, data, moment)
        fired = await lifecycle.fire(tx, task_id=task, event=Event(event), actor=actor, inputs=inputs, now=moment)
        for created in fired.created:  # a redirect's new referral: its Task opens as for any new referral
            if created.startswith("ServiceRequest/"):
                replacement = await store.current_contents(tx, [("ServiceRequest", created.split("/")[1])])
                await _task_of(tx, created, fhirjson.loads(next(iter(replacement.values()))[2] or "{}"), moment)
    return name


def _first_role(facility: Facility) -> str:
    return next(iter(facility.roles.values()))[0]


def _gap(event: str) -> timedelta:
    return {"receive": 1 * H, "accept": 3 * H, "schedule": 1 * H, "arrive": 30 * H, "respond": 20 * H,
            "acknowledge": 18 * H, "reject": 2 * H, "redirect": 1 * H, "hold": 2 * H, "no-show": 40 * H,
            "cancel": 5 * H, "entered-in-error": 1 * H}[event]


def _age(path: tuple[str, ...], priority: str, rules: policy.Policy) -> timedelta:
    """How long before the seeding the referral was sent: recent for pending ones, long enough for the
    steps of the others, past the deadline for the late and overdue ones."""
    if "late" in path or path == ("overdue",):
        return rules.accept_within(priority) + timedelta(hours=6)
    if "overdue" in path:
        return _gap("receive") + _gap("accept") + rules.attend_within(priority) + timedelta(hours=6)
    steps = sum((_gap(e) for e in path if e not in ("draft", "unassigned")), timedelta())
    return steps + min(rules.accept_within(priority) / 2, timedelta(hours=12))


async def _task_of(tx: Transaction, focus: str, service_request: dict, moment: datetime) -> str:
    """The referral's Task: the one the store hook opened if the engine's hook is installed in this process,
    otherwise opened here at the referral's moment."""
    existing = await search.matching_ids(tx.conn, resource_type="Task", query=f"focus={focus}", limit=5)
    if existing:
        return existing[0]
    opened = await intake.open_referral(tx, service_request=service_request, now=moment)
    return opened[0].split("/")[1]


async def _current_task(tx: Transaction, task_id: str) -> dict:
    found = await store.current_contents(tx, [("Task", task_id)])
    return fhirjson.loads(found[("Task", task_id)][2] or "{}")


def _inputs(event: str, rng: random.Random, plan: Plan, referral: dict, moment: datetime) -> Inputs:
    if event == "reject":
        return Inputs(reason={"coding": [{"system": s.CS_REJECTION_REASON, "code": rng.choice(REJECTIONS)}]},
                      note="Sin capacidad en este momento; se sugiere otro establecimiento.")
    if event == "cancel":
        return Inputs(reason={"coding": [{"system": s.CS_CANCELLATION_REASON, "code": rng.choice(CANCELLATIONS)}]})
    if event == "redirect":
        return Inputs(destination=plan.alternative.reference, note="Redirigida al hospital nacional.")
    if event == "schedule":
        start = (moment + timedelta(days=rng.randrange(2, 10))).replace(hour=14, minute=0, second=0, microsecond=0)
        return Inputs(start=fhirjson.instant(start))
    if event == "respond":
        return Inputs(response=_response(plan, referral, moment))
    return Inputs()


def _response(plan: Plan, referral: dict, moment: datetime) -> dict:
    """The written answer to the referring facility (hn-respuesta-referencia)."""
    reason = referral["reasonCode"][0]["text"]

    def section(code: str, text: str, entries: list[str] | None = None) -> dict:
        out = {"title": text, "code": {"coding": [{"system": s.CS_RESPONSE_SECTION, "code": code}]},
               "text": {"status": "generated", "div": f'<div xmlns="http://www.w3.org/1999/xhtml">{text}</div>'}}
        if entries:
            out["entry"] = [{"reference": e} for e in entries]
        return out

    return {"resourceType": "Composition",
            "meta": {"profile": [s.canonical("StructureDefinition", "hn-respuesta-referencia")]},
            "extension": [{"url": s.EXT_REFERRAL_JUSTIFIED, "valueBoolean": True},
                          {"url": s.EXT_REFERRAL_TIMELY, "valueBoolean": plan.scenario[0] != "atencion-vencida"}],
            "status": "final", "type": {"coding": [{"system": s.LOINC, "code": "11488-4"}]},
            "subject": referral["subject"], "date": fhirjson.instant(moment),
            "author": [{"reference": f"PractitionerRole/{_first_role(plan.destination)}"}],
            "custodian": {"reference": plan.destination.reference},
            "title": f"Respuesta a la referencia {referral['identifier'][0]['value']}",
            "section": [section("diagnosticos", reason, [plan.condition]),
                        section("recomendaciones", "Continuar tratamiento indicado y control de signos de alarma."),
                        section("seguimiento", "Control en su establecimiento de salud en 2 semanas.")]}


async def write_all(engine: AsyncEngine, plans_: list[Plan], *, now: datetime) -> dict[str, int]:
    """Each referral in its own transaction (a refused one does not undo the others); answers how many
    referrals ended in each business status (plus "existing" and the refusals)."""
    counts: dict[str, int] = {}
    for plan in plans_:
        try:
            async with unit_of_work(engine) as tx:
                name = await write(tx, plan, now=now)
        except FhirError as error:
            name = f"refused: {str(error)[:200]}"
        key = name or "existing"
        counts[key] = counts.get(key, 0) + 1
    return counts
