"""Break the glass: explicit, with a reason, personal, overriding a Consent, audited and in the patient's
access log."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import auth_headers
from tests.ece.access.network import FHIR_JSON


def glass(reason: str, minutes: int | None = None) -> dict:
    parameters = [{"name": "reason", "valueString": reason}]
    if minutes is not None:
        parameters.append({"name": "minutes", "valueInteger": minutes})
    return {"resourceType": "Parameters", "parameter": parameters}


REASON = "Paciente inconsciente en emergencias, se necesita su historia de alergias"


def test_clinician_without_relationship_reads_after_breaking_the_glass_and_the_patient_sees_why(live_server, net):
    patient = net.patients["registered"]
    with httpx.Client(base_url=live_server, timeout=30, headers=net.clinician_b()) as client:
        before = client.get(f"/Patient/{patient}")
        opened = client.post(f"/Patient/{patient}/$break-glass", json=glass(REASON, 30), headers=FHIR_JSON)
        after = client.get(f"/Patient/{patient}")
        observations = client.get("/Observation", params={"subject": f"Patient/{patient}"})
    colleague_headers = auth_headers("clinician", subject=f"colega-{net.suffix}",
                                     facility=f"Organization/{net.facility_b}")
    with httpx.Client(base_url=live_server, timeout=30, headers=colleague_headers) as colleague:
        other_user = colleague.get(f"/Patient/{patient}")
    with httpx.Client(base_url=live_server, timeout=30, headers=net.patient("registered")) as own:
        log = own.get(f"/Patient/{patient}/$access-log").json()

    assert before.status_code == 403
    assert opened.status_code == 201
    assert after.status_code == 200 and len(observations.json()["entry"]) == 1
    assert other_user.status_code == 403  # the grant is personal
    texts = [e["resource"]["text"]["div"] for e in log["entry"]]
    assert any("abrió su expediente por emergencia" in t and REASON in t for t in texts)
    assert any("Dr. Bruno Bonilla" in t and "consultó su expediente (acceso de emergencia)" in t for t in texts)
    assert any("intentó acceder" in t for t in texts)  # the refused read before the grant
    emergency_reads = [e["resource"] for e in log["entry"] if e["resource"]["subtype"][0]["code"] == "read"
                       and e["resource"]["purposeOfEvent"][0]["coding"][0]["code"] == "ETREAT"]
    assert emergency_reads


def test_break_the_glass_overrides_a_consent_denial(live_server, net):
    patient = net.patients["refusing"]
    with httpx.Client(base_url=live_server, timeout=30, headers=net.clinician_a()) as client:
        before = client.get(f"/Patient/{patient}").status_code
        client.post(f"/Patient/{patient}/$break-glass", json=glass(REASON), headers=FHIR_JSON)
        after = client.get(f"/Patient/{patient}").status_code

    assert (before, after) == (403, 200)


@pytest.mark.parametrize(("body", "status"), [
    (glass("urgente"), 400),  # too short to be a reason
    (glass(REASON, 600), 400),  # longer than allowed
    ({"resourceType": "Parameters", "parameter": []}, 400),
])
def test_break_the_glass_needs_a_reason_and_a_bounded_time(live_server, net, body, status):
    with httpx.Client(base_url=live_server, timeout=30, headers=net.clinician_b()) as client:
        response = client.post(f"/Patient/{net.patients['stranger']}/$break-glass", json=body, headers=FHIR_JSON)
        still_refused = client.get(f"/Patient/{net.patients['stranger']}").status_code

    assert response.status_code == status
    assert still_refused == 403


def test_only_clinicians_break_the_glass(live_server, net):
    with httpx.Client(base_url=live_server, timeout=30, headers=net.coordinator()) as client:
        response = client.post(f"/Patient/{net.patients['stranger']}/$break-glass", json=glass(REASON),
                               headers=FHIR_JSON)

    assert response.status_code == 403


def test_access_log_is_the_patients_own(live_server, net):
    with httpx.Client(base_url=live_server, timeout=30, headers=net.patient("stranger")) as client:
        assert client.get(f"/Patient/{net.patients['registered']}/$access-log").status_code == 403
    with httpx.Client(base_url=live_server, timeout=30, headers=net.clinician_a()) as client:
        assert client.get(f"/Patient/{net.patients['registered']}/$access-log").status_code == 403
