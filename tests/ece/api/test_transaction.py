"""Transaction and batch Bundles posted to the base of the live server (R4 http.html#transaction).

Transactions: urn:uuid and conditional references resolved before writing, conditional creates,
processing order DELETE, POST, PUT, GET, all or nothing. Batches: each entry answers on its own.
"""

from __future__ import annotations

import uuid

import httpx

FHIR_JSON = {"Content-Type": "application/fhir+json"}
DNI = "urn:oid:2.16.340.1.1.1"
AMBULATORY = {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"}



def unique_system() -> str:
    return f"urn:ece-test:{uuid.uuid4().hex}"


def unique_dni() -> str:
    return f"0801{uuid.uuid4().int % 10**9:09d}"


def urn() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


def patient(*, system: str = DNI, value: str = "0801199012345", family: str = "López") -> dict:
    return {"resourceType": "Patient", "identifier": [{"system": system, "value": value}],
            "name": [{"family": family, "given": ["José"]}], "gender": "male", "birthDate": "1985-03-04"}


def encounter(*, system: str, subject: str) -> dict:
    return {"resourceType": "Encounter", "identifier": [{"system": system, "value": "consulta-1"}],
            "status": "finished", "class": AMBULATORY, "subject": {"reference": subject}}


def observation(*, system: str, subject: str, encounter_ref: str | None = None) -> dict:
    resource = {"resourceType": "Observation", "identifier": [{"system": system, "value": "peso-1"}],
                "status": "final", "code": {"text": "Peso"}, "subject": {"reference": subject},
                "valueQuantity": {"value": 72.5, "unit": "kg"}}
    if encounter_ref:
        resource["encounter"] = {"reference": encounter_ref}
    return resource


def post_entry(resource: dict, full_url: str | None = None, **request) -> dict:
    entry = {"resource": resource, "request": {"method": "POST", "url": resource["resourceType"], **request}}
    if full_url:
        entry["fullUrl"] = full_url
    return entry


def bundle(kind: str, entries: list[dict]) -> dict:
    return {"resourceType": "Bundle", "type": kind, "entry": entries}


def submit(http: httpx.Client, base: str, body: dict, **kwargs) -> httpx.Response:
    return http.post(base, json=body, headers=FHIR_JSON, **kwargs)


def found(http: httpx.Client, resource_type: str, **params: str) -> list[dict]:
    response = http.get(f"/{resource_type}", params={**params, "_count": "1000"})
    assert response.status_code == 200, response.text
    return [entry["resource"] for entry in response.json().get("entry", [])]


def location_id(entry: dict) -> str:
    return entry["response"]["location"].split("/")[1]


def create(http: httpx.Client, resource: dict) -> str:
    response = http.post(f"/{resource['resourceType']}", json=resource, headers=FHIR_JSON)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def test_transaction_resolves_urn_uuid_references_to_the_assigned_ids(http, live_server):
    system, patient_urn, encounter_urn = unique_system(), urn(), urn()
    body = bundle("transaction", [
        post_entry(observation(system=system, subject=patient_urn, encounter_ref=encounter_urn)),
        post_entry(patient(system=system), patient_urn),
        post_entry(encounter(system=system, subject=patient_urn), encounter_urn),
    ])

    response = submit(http, live_server, body)

    assert response.status_code == 200, response.text
    observation_id, patient_id, encounter_id = (location_id(e) for e in response.json()["entry"])
    [stored_observation] = found(http, "Observation", identifier=f"{system}|")
    [stored_encounter] = found(http, "Encounter", identifier=f"{system}|")
    assert stored_observation["id"] == observation_id and stored_encounter["id"] == encounter_id
    assert stored_observation["subject"] == {"reference": f"Patient/{patient_id}"}
    assert stored_observation["encounter"] == {"reference": f"Encounter/{encounter_id}"}
    assert stored_encounter["subject"] == {"reference": f"Patient/{patient_id}"}
    assert [o["id"] for o in found(http, "Observation", subject=f"Patient/{patient_id}")] == [observation_id]


def test_transaction_response_has_status_location_and_etag_per_entry_in_request_order(http, live_server):
    system, client_id = unique_system(), f"hn-{uuid.uuid4().hex[:20]}"
    existing = create(http, patient(system=system, value="existente"))
    body = bundle("transaction", [
        {"resource": {**patient(system=system, value="existente", family="Zelaya"), "id": existing},
         "request": {"method": "PUT", "url": f"Patient/{existing}"}},
        {"resource": {**patient(system=system, value="cliente"), "id": client_id},
         "request": {"method": "PUT", "url": f"Patient/{client_id}"}},
        post_entry(patient(system=system, value="nuevo"), urn()),
    ])

    response = submit(http, live_server, body)

    assert response.status_code == 200, response.text
    result = response.json()
    assert result["resourceType"] == "Bundle" and result["type"] == "transaction-response"
    statuses = [e["response"]["status"].split()[0] for e in result["entry"]]
    assert statuses == ["200", "201", "201"]
    assert [e["response"]["etag"] for e in result["entry"]] == ['W/"2"', 'W/"1"', 'W/"1"']
    locations = [e["response"]["location"] for e in result["entry"]]
    assert locations[0].endswith(f"Patient/{existing}/_history/2")
    assert locations[1].endswith(f"Patient/{client_id}/_history/1")
    assert all("lastModified" in e["response"] for e in result["entry"])
    new_id = location_id(result["entry"][2])
    assert sorted(p["id"] for p in found(http, "Patient", identifier=f"{system}|")) == sorted(
        [existing, client_id, new_id])


def test_conditional_create_in_a_transaction_reuses_the_match_and_its_urn_resolves_to_it(http, live_server):
    dni, system, patient_urn = unique_dni(), unique_system(), urn()
    existing = create(http, patient(value=dni))
    body = bundle("transaction", [
        post_entry(patient(value=dni, family="Zelaya"), patient_urn, ifNoneExist=f"identifier={DNI}|{dni}"),
        post_entry(observation(system=system, subject=patient_urn)),
    ])

    response = submit(http, live_server, body)

    assert response.status_code == 200, response.text
    patient_entry, observation_entry = response.json()["entry"]
    assert patient_entry["response"]["status"].startswith("200")
    assert location_id(patient_entry) == existing
    assert [p["id"] for p in found(http, "Patient", identifier=f"{DNI}|{dni}")] == [existing]
    [stored] = found(http, "Observation", identifier=f"{system}|")
    assert stored["id"] == location_id(observation_entry)
    assert stored["subject"] == {"reference": f"Patient/{existing}"}


def test_conditional_reference_is_resolved_to_the_single_match(http, live_server):
    dni, system = unique_dni(), unique_system()
    existing = create(http, patient(value=dni))
    body = bundle("transaction", [post_entry(encounter(system=system, subject=f"Patient?identifier={DNI}|{dni}"))])

    response = submit(http, live_server, body)

    assert response.status_code == 200, response.text
    [stored] = found(http, "Encounter", identifier=f"{system}|")
    assert stored["subject"] == {"reference": f"Patient/{existing}"}


def test_conditional_reference_without_a_match_fails_the_whole_transaction(http, live_server):
    system = unique_system()
    body = bundle("transaction", [
        post_entry(patient(system=system)),
        post_entry(encounter(system=system, subject=f"Patient?identifier={DNI}|{unique_dni()}")),
    ])

    response = submit(http, live_server, body)

    assert 400 <= response.status_code < 500
    assert response.json()["resourceType"] == "OperationOutcome"
    assert found(http, "Patient", identifier=f"{system}|") == []
    assert found(http, "Encounter", identifier=f"{system}|") == []


def test_transaction_runs_delete_post_put_then_get_and_the_get_sees_the_writes(http, live_server):
    system, client_id = unique_system(), f"hn-{uuid.uuid4().hex[:20]}"
    doomed = create(http, patient(system=system, value="a-borrar"))
    body = bundle("transaction", [
        {"request": {"method": "GET", "url": f"Patient?identifier={system}|"}},
        {"resource": {**patient(system=system, value="put"), "id": client_id},
         "request": {"method": "PUT", "url": f"Patient/{client_id}"}},
        post_entry(patient(system=system, value="post")),
        {"request": {"method": "DELETE", "url": f"Patient/{doomed}"}},
    ])

    response = submit(http, live_server, body)

    assert response.status_code == 200, response.text
    entries = response.json()["entry"]
    assert [e["response"]["status"].split()[0] for e in entries] == ["200", "201", "201", "204"]
    searchset = entries[0]["resource"]
    assert searchset["type"] == "searchset"
    assert sorted(e["resource"]["identifier"][0]["value"] for e in searchset["entry"]) == ["post", "put"]
    assert http.get(f"/Patient/{doomed}").status_code == 410


def test_transaction_failing_at_write_time_rolls_back_the_earlier_entries(http, live_server):
    system = unique_system()
    existing = create(http, patient(system=system, value="existente"))
    body = bundle("transaction", [
        post_entry(patient(system=system, value="nuevo")),
        {"resource": {**patient(system=system, value="existente", family="Zelaya"), "id": existing},
         "request": {"method": "PUT", "url": f"Patient/{existing}", "ifMatch": 'W/"9"'}},
    ])

    response = submit(http, live_server, body)

    assert response.status_code == 412, response.text
    [only] = found(http, "Patient", identifier=f"{system}|")
    assert only["id"] == existing and only["meta"]["versionId"] == "1"


def test_batch_answers_each_entry_on_its_own(http, live_server):
    system = unique_system()
    mismatched = f"hn-{uuid.uuid4().hex[:20]}"
    body = bundle("batch", [
        post_entry(patient(system=system, value="uno")),
        {"resource": {**patient(system=system, value="dos"), "id": "otro-id"},
         "request": {"method": "PUT", "url": f"Patient/{mismatched}"}},
        {"request": {"method": "GET", "url": f"Patient/{uuid.uuid4()}"}},
        post_entry(patient(system=system, value="tres")),
    ])

    response = submit(http, live_server, body)

    assert response.status_code == 200, response.text
    result = response.json()
    assert result["type"] == "batch-response"
    statuses = [e["response"]["status"].split()[0] for e in result["entry"]]
    assert statuses == ["201", "400", "404", "201"]
    for failed in (result["entry"][1], result["entry"][2]):
        assert failed["response"]["outcome"]["resourceType"] == "OperationOutcome"
    values = sorted(p["identifier"][0]["value"] for p in found(http, "Patient", identifier=f"{system}|"))
    assert values == ["tres", "uno"]
    assert http.get(f"/Patient/{mismatched}").status_code == 404


def test_batch_entry_with_an_invalid_resource_fails_alone(http, live_server):
    # R4 http.html#brules: in a batch, the failure of one entry does not alter the others.
    system = unique_system()
    invalid = {**patient(system=system, value="dos"), "gender": "femme"}
    body = bundle("batch", [post_entry(patient(system=system, value="uno")), post_entry(invalid),
                            post_entry(patient(system=system, value="tres"))])

    response = submit(http, live_server, body)

    assert response.status_code == 200, response.text
    statuses = [e["response"]["status"].split()[0] for e in response.json()["entry"]]
    assert statuses == ["201", "400", "201"]
    values = sorted(p["identifier"][0]["value"] for p in found(http, "Patient", identifier=f"{system}|"))
    assert values == ["tres", "uno"]


def test_transaction_of_a_thousand_entries_commits_them_all(http, live_server):
    size, system = 1000, unique_system()
    entries = [post_entry(patient(system=system, value=f"0801{2000 + n:04d}00{n:03d}"), urn())
               for n in range(size)]

    response = submit(http, live_server, bundle("transaction", entries), timeout=120)

    assert response.status_code == 200, response.text[:500]
    result = response.json()["entry"]
    assert len(result) == size
    assert all(e["response"]["status"].startswith("201") for e in result)
    created = {location_id(e) for e in result}
    assert len(created) == size
    stored = {p["id"] for p in found(http, "Patient", identifier=f"{system}|")}
    assert stored == created
