"""Explicit synthetic referral data: facilities in two health regions, a patient, a referring clinician, and
referrals between them, written through the store."""

from __future__ import annotations

from ece import store
from ece.access import Actor, Role
from ece.tx import Transaction
from fhir_profiles import systems as s
from tests.fhir_profiles import factories as national

ORIGIN = "Organization/uaps-la-esperanza"  # region 10 (Intibucá)
DESTINATION = "Organization/hospital-la-esperanza"  # region 10
NATIONAL_HOSPITAL = "Organization/hospital-escuela"  # region 19 (Distrito Central)
ROLE = "PractitionerRole/medica-uaps"
PATIENT = "Patient/dilcia-zelaya"

ORIGIN_CLINICIAN = Actor(subject="dra.mejia", role=Role.CLINICIAN, facility=ORIGIN, practitioner_role=ROLE)
DESTINATION_CLINICIAN = Actor(subject="dr.lopez", role=Role.CLINICIAN, facility=DESTINATION,
                              practitioner_role="PractitionerRole/pediatra-hospital")
NATIONAL_CLINICIAN = Actor(subject="dra.rivera", role=Role.CLINICIAN, facility=NATIONAL_HOSPITAL)
COORDINATOR_10 = Actor(subject="coord.intibuca", role=Role.COORDINATOR, region="10")
COORDINATOR_05 = Actor(subject="coord.cortes", role=Role.COORDINATOR, region="05")
PATIENT_ACTOR = Actor(subject="dilcia", role=Role.PATIENT, patient=PATIENT)


def _facility(rid: str, name: str, region: str) -> dict:
    return {"resourceType": "Organization", "id": rid, "name": name, "active": True,
            "extension": [{"url": s.EXT_HEALTH_REGION, "valueCoding": {"system": s.CS_HEALTH_REGION,
                                                                        "code": region}}]}


async def network(tx: Transaction) -> None:
    """Three facilities, the referring clinician's role and the patient."""
    for reference, name, region in ((ORIGIN, "UAPS La Esperanza", "10"),
                                    (DESTINATION, "Hospital Regional de La Esperanza", "10"),
                                    (NATIONAL_HOSPITAL, "Hospital Escuela", "19")):
        rid = reference.split("/")[1]
        await store.update(tx, resource_type="Organization", resource_id=rid, data=_facility(rid, name, region))
    await store.update(tx, resource_type="PractitionerRole", resource_id="medica-uaps", data={
        "resourceType": "PractitionerRole", "id": "medica-uaps", "active": True,
        "organization": {"reference": ORIGIN}})
    await store.update(tx, resource_type="Patient", resource_id="dilcia-zelaya", data={
        "resourceType": "Patient", "id": "dilcia-zelaya", "name": [{"family": "Zelaya", "given": ["Dilcia"]}]})


def referral(*, performers: tuple[str, ...] = (DESTINATION,), priority: str = "urgent",
             status: str = "active") -> dict:
    """A conformant hn-referencia from the UAPS clinician to ``performers``."""
    data = national.referral()
    data.update(subject={"reference": PATIENT}, requester={"reference": ROLE}, priority=priority, status=status,
                note=[{"text": "Paciente con glucemias de 350 mg/dl pese a metformina"}])
    data.pop("supportingInfo")
    if performers:
        data["performer"] = [{"reference": p} for p in performers]
    else:
        data.pop("performer")
    return data


def reason(system: str, code: str) -> dict:
    return {"coding": [{"system": system, "code": code}]}


def response() -> dict:
    """A conformant hn-respuesta-referencia (event.detail filled in by $respond)."""
    data = national.response()
    data["subject"] = {"reference": PATIENT}
    data.pop("event")
    return data
