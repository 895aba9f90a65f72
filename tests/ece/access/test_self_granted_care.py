"""A write may not create its own care relationship: before a clinician writes, every existing Patient the new
content references must already be in their care (or reached by breaking the glass); otherwise the Encounter,
Task or managingOrganization being written would grant the relationship that the check after the write trusts."""

from __future__ import annotations

import httpx

from tests.ece.access.network import FHIR_JSON, Network

AMBULATORY = {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"}


def encounter_at_a(net: Network, patient_reference: str, note: str) -> dict:
    return {"resourceType": "Encounter", "status": "in-progress", "class": AMBULATORY,
            "subject": {"reference": patient_reference}, "serviceProvider": {"reference": f"Organization/"
                                                                                          f"{net.facility_a}"},
            "reasonCode": [{"text": note}]}


def encounters_for(system: httpx.Client, patient_id: str) -> list[str]:
    found = system.get("/Encounter", params={"subject": f"Patient/{patient_id}", "_count": "50"}).json()
    return [e["resource"]["id"] for e in found.get("entry", [])]


def test_an_encounter_at_ones_facility_for_a_stranger_is_refused_and_writes_nothing(live_server, net, system):
    patient = net.patients["encountered"]
    before = encounters_for(system, patient)
    with httpx.Client(base_url=live_server, timeout=30, headers=net.clinician_a()) as client:
        relative = client.post("/Encounter", json=encounter_at_a(net, f"Patient/{patient}", "relativa"),
                               headers=FHIR_JSON)
        absolute = client.post("/Encounter", json=encounter_at_a(net, f"{live_server}/Patient/{patient}",
                                                                 "absoluta"), headers=FHIR_JSON)
        read = client.get(f"/Patient/{patient}")

    assert relative.status_code == 403, relative.text
    issue = relative.json()["issue"][0]
    assert issue["code"] == "forbidden" and "$break-glass" in issue["diagnostics"]
    text = issue["diagnostics"]
    assert text.index(f"sin relación de atención con Patient/{patient}") < text.index("no care relationship")
    assert absolute.status_code == 403, absolute.text
    assert read.status_code == 403
    assert encounters_for(system, patient) == before


def test_the_same_encounter_is_accepted_after_breaking_the_glass(live_server, net, system):
    patient = net.patients["stranger"]
    with httpx.Client(base_url=live_server, timeout=30, headers=net.clinician_a()) as client:
        refused = client.post("/Encounter", json=encounter_at_a(net, f"Patient/{patient}", "antes"),
                              headers=FHIR_JSON)
        glass = client.post(f"/Patient/{patient}/$break-glass", headers=FHIR_JSON, json={
            "resourceType": "Parameters", "parameter": [
                {"name": "reason", "valueString": "Paciente inconsciente traída a emergencias"}]})
        accepted = client.post("/Encounter", json=encounter_at_a(net, f"Patient/{patient}", "después"),
                               headers=FHIR_JSON)

    assert refused.status_code == 403, refused.text
    assert glass.status_code == 201, glass.text
    assert accepted.status_code == 201, accepted.text
    assert encounters_for(system, patient) == [accepted.json()["id"]]


def test_a_task_requested_by_ones_facility_for_a_stranger_is_refused(live_server, net, system):
    patient = net.patients["encountered"]
    task = {"resourceType": "Task", "status": "requested", "intent": "order",
            "for": {"reference": f"Patient/{patient}"}, "requester": {"reference": f"Organization/{net.facility_a}"},
            "owner": {"reference": f"Organization/{net.facility_b}"}}
    with httpx.Client(base_url=live_server, timeout=30, headers=net.clinician_a()) as client:
        refused = client.post("/Task", json=task, headers=FHIR_JSON)

    assert refused.status_code == 403, refused.text
    found = system.get("/Task", params={"patient": f"Patient/{patient}", "_summary": "count"}).json()
    assert found["total"] == 0


def test_a_patient_update_cannot_take_a_stranger_into_ones_facility(live_server, net, system):
    patient = net.patients["encountered"]
    stored = system.get(f"/Patient/{patient}").json()
    taken = {**stored, "managingOrganization": {"reference": f"Organization/{net.facility_a}"}}
    with httpx.Client(base_url=live_server, timeout=30, headers=net.clinician_a()) as client:
        refused = client.put(f"/Patient/{patient}", json=taken, headers=FHIR_JSON)

    assert refused.status_code == 403, refused.text
    current = system.get(f"/Patient/{patient}").json()
    assert current["meta"]["versionId"] == stored["meta"]["versionId"] and "managingOrganization" not in current


def test_a_patch_adding_a_stranger_to_a_visible_encounter_is_refused(live_server, net, system):
    registered, stranger = net.patients["registered"], net.patients["encountered"]
    with httpx.Client(base_url=live_server, timeout=30, headers=net.clinician_a()) as client:
        created = client.post("/Encounter", json=encounter_at_a(net, f"Patient/{registered}", "parche"),
                              headers=FHIR_JSON)
        assert created.status_code == 201, created.text
        encounter = created.json()["id"]
        patched = client.patch(f"/Encounter/{encounter}", json=[
            {"op": "replace", "path": "/subject/reference", "value": f"Patient/{stranger}"}],
            headers={"Content-Type": "application/json-patch+json"})

    assert patched.status_code == 403, patched.text
    assert system.get(f"/Encounter/{encounter}").json()["subject"]["reference"] == f"Patient/{registered}"


def test_a_transaction_registering_a_new_patient_with_an_encounter_at_ones_facility_succeeds(live_server, net,
                                                                                          system):
    family = f"Nueva{net.suffix}"
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": "urn:uuid:5b8a2f0e-6c1d-4b7e-9a43-0d2f3c4b5a61",
         "request": {"method": "POST", "url": "Patient"},
         "resource": {"resourceType": "Patient", "name": [{"family": family, "given": ["Rosa"]}]}},
        {"request": {"method": "POST", "url": "Encounter"},
         "resource": encounter_at_a(net, "urn:uuid:5b8a2f0e-6c1d-4b7e-9a43-0d2f3c4b5a61", "primera consulta")}]}
    with httpx.Client(base_url=live_server, timeout=30, headers=net.clinician_a()) as client:
        response = client.post("", json=bundle, headers=FHIR_JSON)

    assert response.status_code == 200, response.text
    patient = response.json()["entry"][0]["response"]["location"].split("/")[1]
    assert len(encounters_for(system, patient)) == 1


def test_a_transaction_with_an_encounter_for_a_stranger_writes_nothing(live_server, net, system):
    family = f"Otra{net.suffix}"
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"request": {"method": "POST", "url": "Patient"},
         "resource": {"resourceType": "Patient", "name": [{"family": family}],
                      "managingOrganization": {"reference": f"Organization/{net.facility_a}"}}},
        {"request": {"method": "POST", "url": "Encounter"},
         "resource": encounter_at_a(net, f"Patient/{net.patients['encountered']}", "en lote")}]}
    with httpx.Client(base_url=live_server, timeout=30, headers=net.clinician_a()) as client:
        response = client.post("", json=bundle, headers=FHIR_JSON)
        batch = client.post("", json={**bundle, "type": "batch"}, headers=FHIR_JSON)

    assert response.status_code == 403, response.text
    assert batch.status_code == 200, batch.text
    assert [e["response"]["status"][:3] for e in batch.json()["entry"]] == ["201", "403"]
    assert system.get("/Patient", params={"family": family, "_summary": "count"}).json()["total"] == 1
