"""``require_patient_access``: the check other modules (the referral engine's operations) call in their own
transaction."""

from __future__ import annotations

import pytest

from ece import store
from ece.access import Actor, Forbidden, Role, require_patient_access


async def created(tx, resource: dict) -> str:
    return (await store.create(tx, data=resource)).id


async def test_clinician_of_the_registering_facility_passes_and_another_is_refused(tx):
    clinic = await created(tx, {"resourceType": "Organization", "name": "CESAMO El Carrizal"})
    other = await created(tx, {"resourceType": "Organization", "name": "Hospital del Sur"})
    patient = await created(tx, {"resourceType": "Patient", "managingOrganization": {
        "reference": f"Organization/{clinic}"}})
    own = Actor(subject="dr-carrizal", role=Role.CLINICIAN, facility=f"Organization/{clinic}")
    stranger = Actor(subject="dr-sur", role=Role.CLINICIAN, facility=f"Organization/{other}")

    await require_patient_access(tx, actor=own, patient=f"Patient/{patient}")
    with pytest.raises(Forbidden) as refused:
        await require_patient_access(tx, actor=stranger, patient=f"Patient/{patient}")

    assert refused.value.status == 403 and refused.value.target == f"Patient/{patient}"


async def test_patient_passes_for_themselves_only(tx):
    me = await created(tx, {"resourceType": "Patient"})
    someone = await created(tx, {"resourceType": "Patient"})
    actor = Actor(subject="juana", role=Role.PATIENT, patient=f"Patient/{me}")

    await require_patient_access(tx, actor=actor, patient=f"Patient/{me}")
    with pytest.raises(Forbidden):
        await require_patient_access(tx, actor=actor, patient=f"Patient/{someone}")


async def test_admin_is_refused_patient_data_and_a_trusted_system_passes(tx):
    patient = await created(tx, {"resourceType": "Patient"})

    with pytest.raises(Forbidden):
        await require_patient_access(tx, actor=Actor(subject="admin", role=Role.ADMIN), patient=f"Patient/{patient}")
    await require_patient_access(tx, actor=Actor(subject="svc", role=Role.SYSTEM, scopes=frozenset({"system/*.*"})),
                                 patient=f"Patient/{patient}")
