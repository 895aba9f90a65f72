"""Writes under access control: a write is allowed only on data the actor may see, before and after it, and a
refused write leaves nothing behind (same transaction)."""

from __future__ import annotations

import httpx

from tests.ece.access.network import FHIR_JSON, Network


def observation(net: Network, patient: str, code: str = "nuevo") -> dict:
    return {"resourceType": "Observation", "status": "final", "code": {"text": code},
            "subject": {"reference": f"Patient/{net.patients[patient]}"}}


def count_code(system: httpx.Client, code: str) -> int:
    return system.get("/Observation", params={"code:text": code, "_summary": "count"}).json()["total"]


def test_clinician_records_for_a_patient_in_care_and_not_for_another(live_server, net, system):
    with httpx.Client(base_url=live_server, timeout=30, headers=net.clinician_a()) as client:
        allowed = client.post("/Observation", json=observation(net, "registered", f"ok-{net.suffix}"),
                              headers=FHIR_JSON)
        refused = client.post("/Observation", json=observation(net, "encountered", f"no-{net.suffix}"),
                              headers=FHIR_JSON)

    assert allowed.status_code == 201
    assert refused.status_code == 403 and refused.json()["issue"][0]["code"] == "forbidden"
    assert count_code(system, f"no-{net.suffix}") == 0


def test_moving_another_patients_observation_into_ones_care_is_refused_and_changes_nothing(live_server, net,
                                                                                         system):
    target = net.observations["encountered"]
    moved = {**observation(net, "registered"), "id": target}
    with httpx.Client(base_url=live_server, timeout=30, headers=net.clinician_a()) as client:
        put = client.put(f"/Observation/{target}", json=moved, headers=FHIR_JSON)
        delete = client.delete(f"/Observation/{target}")
        patch = client.patch(f"/Observation/{target}", json=[{"op": "replace", "path": "/status",
                                                               "value": "cancelled"}],
                             headers={"Content-Type": "application/json-patch+json"})
        conditional = client.put("/Observation", params={"_id": target}, json=observation(net, "registered"),
                                 headers=FHIR_JSON)

    assert [put.status_code, delete.status_code, patch.status_code, conditional.status_code] == [403] * 4
    current = system.get(f"/Observation/{target}").json()
    assert current["meta"]["versionId"] == "1" and current["status"] == "final"


def test_transaction_with_one_refused_entry_writes_nothing(live_server, net, system):
    code = f"tx-{net.suffix}"
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"request": {"method": "POST", "url": "Observation"}, "resource": observation(net, "registered", code)},
        {"request": {"method": "POST", "url": "Observation"}, "resource": observation(net, "stranger", code)}]}
    with httpx.Client(base_url=live_server, timeout=30, headers=net.clinician_a()) as client:
        response = client.post("", json=bundle, headers=FHIR_JSON)

    assert response.status_code == 403
    assert count_code(system, code) == 0


def test_batch_refuses_only_the_entry_out_of_reach(live_server, net, system):
    code = f"batch-{net.suffix}"
    bundle = {"resourceType": "Bundle", "type": "batch", "entry": [
        {"request": {"method": "POST", "url": "Observation"}, "resource": observation(net, "registered", code)},
        {"request": {"method": "POST", "url": "Observation"}, "resource": observation(net, "stranger", code)}]}
    with httpx.Client(base_url=live_server, timeout=30, headers=net.clinician_a()) as client:
        response = client.post("", json=bundle, headers=FHIR_JSON)

    assert [e["response"]["status"][:3] for e in response.json()["entry"]] == ["201", "403"]
    assert count_code(system, code) == 1


def consent(net: Network, patient: str) -> dict:
    return {"resourceType": "Consent", "status": "active",
            "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope",
                                  "code": "patient-privacy"}]},
            "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
            "patient": {"reference": f"Patient/{net.patients[patient]}"},
            "policyRule": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                                       "code": "OPTIN"}]}}


def test_patient_records_own_consent_but_nothing_clinical_and_nothing_for_others(live_server, net):
    with httpx.Client(base_url=live_server, timeout=30, headers=net.patient("stranger")) as client:
        own = client.post("/Consent", json=consent(net, "stranger"), headers=FHIR_JSON)
        other = client.post("/Consent", json=consent(net, "registered"), headers=FHIR_JSON)
        clinical = client.post("/Observation", json=observation(net, "stranger"), headers=FHIR_JSON)

    assert own.status_code == 201
    assert other.status_code == 403
    assert clinical.status_code == 403


def test_consent_denying_everyone_but_the_treating_facility_hides_the_record_from_the_others(live_server, net,
                                                                                           system):
    """"Everyone but the facilities treating me": a base deny with a nested permit for facility B."""
    patient = system.post("/Patient", json={"resourceType": "Patient", "managingOrganization": {
        "reference": f"Organization/{net.facility_a}"}}, headers=FHIR_JSON).json()["id"]
    system.post("/Encounter", json={"resourceType": "Encounter", "status": "finished",
                                    "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                                              "code": "AMB"},
                                    "subject": {"reference": f"Patient/{patient}"},
                                    "serviceProvider": {"reference": f"Organization/{net.facility_b}"}},
                headers=FHIR_JSON)
    with httpx.Client(base_url=live_server, timeout=30, headers=net.clinician_a()) as a, \
            httpx.Client(base_url=live_server, timeout=30, headers=net.clinician_b()) as b:
        before = a.get(f"/Patient/{patient}").status_code
        system.post("/Consent", json={**consent(net, "registered"), "patient": {"reference": f"Patient/{patient}"},
                                      "provision": {"type": "deny", "provision": [{"type": "permit", "actor": [{
                                          "role": {"text": "tratante"},
                                          "reference": {"reference": f"Organization/{net.facility_b}"}}]}]}},
                    headers=FHIR_JSON)
        after_a, after_b = a.get(f"/Patient/{patient}").status_code, b.get(f"/Patient/{patient}").status_code

    assert (before, after_a, after_b) == (200, 403, 200)
