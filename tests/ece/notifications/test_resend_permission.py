"""Who may send a failed notice again (``Communication/[id]/$resend``): the facility it was for, the coordinators
of its region and trusted back-ends; not an admin (a notice may be about a patient), nor a narrow client."""

from __future__ import annotations

import pytest

from ece.access import Actor, Role
from ece.notifications.operations import may_resend

ROW = {"recipient": "Organization/hospital-escuela",
       "tags": [{"system": "https://fhir.salud.gob.hn/CodeSystem/region-sanitaria", "code": "19"}]}


@pytest.mark.parametrize(("actor", "allowed"), [
    (Actor("dra-he", Role.CLINICIAN, facility="Organization/hospital-escuela"), True),
    (Actor("dr-otro", Role.CLINICIAN, facility="Organization/hospital-atlantida"), False),
    (Actor("coord-19", Role.COORDINATOR, region="19"), True),
    (Actor("coord-05", Role.COORDINATOR, region="05"), False),
    (Actor("admin", Role.ADMIN), False),
    (Actor("integracion", Role.SYSTEM, scopes=frozenset({"system/*.rs"})), True),
    (Actor("tareas", Role.SYSTEM, scopes=frozenset({"system/Task.rs", "system/Communication.cruds"})), False),
    (Actor("paciente", Role.PATIENT, patient="Patient/p1"), False),
])
def test_only_the_recipient_its_regions_coordinators_and_trusted_back_ends_resend(actor, allowed):
    assert may_resend(actor, ROW) is allowed
