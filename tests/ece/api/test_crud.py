"""The REST interactions over HTTP against a live server (R4 http.html): create, read, vread, update,
patch, delete, history, the conditional interactions, ``Prefer`` and ``_format``.

The live server's database is shared by every HTTP test, so each test scopes its data with a unique
identifier system or a uuid-based DNI and never assumes an empty database.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

import httpx

FHIR_JSON = {"Content-Type": "application/fhir+json"}
JSON_PATCH = {"Content-Type": "application/json-patch+json"}
DNI = "urn:oid:2.16.340.1.1.1"


def unique_system() -> str:
    return f"urn:ece-test:{uuid.uuid4().hex}"


def unique_dni() -> str:
    """A 13-digit DNI-shaped value (department 08, municipality 01) unique to this test."""
    return f"0801{uuid.uuid4().int % 10**9:09d}"


def patient(*, dni: str = "0801199012345", system: str = DNI, family: str = "Pérez", given: str = "María",
            gender: str = "female", birth_date: str = "1990-05-02", **extra) -> dict:
    return {"resourceType": "Patient", "identifier": [{"system": system, "value": dni}],
            "name": [{"family": family, "given": [given]}], "gender": gender, "birthDate": birth_date, **extra}


def observation(*, system: str, value: str = "peso-1", subject: str | None = None) -> dict:
    resource = {"resourceType": "Observation", "identifier": [{"system": system, "value": value}],
                "status": "final", "code": {"text": "Peso"}, "valueQuantity": {"value": 72.5, "unit": "kg"}}
    if subject:
        resource["subject"] = {"reference": subject}
    return resource


def create(http: httpx.Client, resource: dict, **headers: str) -> httpx.Response:
    return http.post(f"/{resource['resourceType']}", json=resource, headers={**FHIR_JSON, **headers})


def created_id(http: httpx.Client, resource: dict) -> str:
    response = create(http, resource)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def put(http: httpx.Client, resource_id: str, resource: dict, **headers: str) -> httpx.Response:
    return http.put(f"/{resource['resourceType']}/{resource_id}", json={**resource, "id": resource_id},
                    headers={**FHIR_JSON, **headers})


def json_patch(http: httpx.Client, path: str, operations: list[dict]) -> httpx.Response:
    return http.patch(path, content=json.dumps(operations), headers=JSON_PATCH)


def search_ids(http: httpx.Client, resource_type: str, **params: str) -> list[str]:
    response = http.get(f"/{resource_type}", params={**params, "_count": "100"})
    assert response.status_code == 200, response.text
    return [entry["resource"]["id"] for entry in response.json().get("entry", [])]


def history_versions(http: httpx.Client, path: str) -> list[str]:
    response = http.get(path)
    assert response.status_code == 200, response.text
    return [entry["response"]["etag"] for entry in response.json()["entry"]]


# --- create, read, vread, update ----------------------------------------------------------------------


def test_create_answers_201_with_location_etag_last_modified_and_meta(http, live_server):
    response = create(http, patient(dni=unique_dni(), id="elegido-por-el-cliente"))

    assert response.status_code == 201
    body = response.json()
    assert body["id"] != "elegido-por-el-cliente"  # R4 http.html#create: the server assigns the id
    assert response.headers["Location"] == f"{live_server}/Patient/{body['id']}/_history/1"
    assert response.headers["ETag"] == 'W/"1"'
    assert body["meta"]["versionId"] == "1"
    last_updated = datetime.fromisoformat(body["meta"]["lastUpdated"].replace("Z", "+00:00"))
    last_modified = parsedate_to_datetime(response.headers["Last-Modified"])
    assert abs(last_modified - last_updated) < timedelta(seconds=1)
    assert body["name"] == [{"family": "Pérez", "given": ["María"]}]


def test_read_returns_the_current_version_with_its_etag(http):
    created = create(http, patient(dni=unique_dni())).json()

    response = http.get(f"/Patient/{created['id']}")

    assert response.status_code == 200, response.text
    assert response.headers["ETag"] == 'W/"1"'
    assert parsedate_to_datetime(response.headers["Last-Modified"])
    assert response.json() == created


def test_read_of_unknown_resource_returns_404(http):
    response = http.get(f"/Patient/{uuid.uuid4()}")
    assert response.status_code == 404
    assert response.json()["resourceType"] == "OperationOutcome"


def test_update_writes_version_2_with_new_etag_and_location(http, live_server):
    resource = patient(dni=unique_dni())
    resource_id = created_id(http, resource)

    response = put(http, resource_id, {**resource, "name": [{"family": "López", "given": ["María"]}]})

    assert response.status_code == 200
    assert response.headers["ETag"] == 'W/"2"'
    assert response.headers["Location"] == f"{live_server}/Patient/{resource_id}/_history/2"
    assert response.json()["meta"]["versionId"] == "2"
    assert response.json()["name"][0]["family"] == "López"


def test_vread_returns_each_version_as_it_was(http):
    resource = patient(dni=unique_dni())
    resource_id = created_id(http, resource)
    put(http, resource_id, {**resource, "name": [{"family": "Zelaya", "given": ["María"]}]})

    first = http.get(f"/Patient/{resource_id}/_history/1")
    second = http.get(f"/Patient/{resource_id}/_history/2")

    assert (first.status_code, second.status_code) == (200, 200), first.text
    assert first.json()["name"][0]["family"] == "Pérez" and first.headers["ETag"] == 'W/"1"'
    assert second.json()["name"][0]["family"] == "Zelaya" and second.headers["ETag"] == 'W/"2"'
    assert http.get(f"/Patient/{resource_id}/_history/3").status_code == 404


def test_update_with_a_new_client_id_creates_the_resource_with_201(http, live_server):
    client_id = f"hn-{uuid.uuid4().hex[:20]}"

    response = put(http, client_id, patient(dni=unique_dni()))

    assert response.status_code == 201
    assert response.headers["ETag"] == 'W/"1"'
    assert response.headers["Location"] == f"{live_server}/Patient/{client_id}/_history/1"
    assert response.json()["id"] == client_id
    assert history_versions(http, f"/Patient/{client_id}/_history") == ['W/"1"']


def test_update_with_stale_if_match_is_412_and_changes_nothing(http):
    resource = patient(dni=unique_dni())
    resource_id = created_id(http, resource)

    response = put(http, resource_id, {**resource, "gender": "male"}, **{"If-Match": 'W/"7"'})

    assert response.status_code == 412
    assert response.json()["resourceType"] == "OperationOutcome"
    assert history_versions(http, f"/Patient/{resource_id}/_history") == ['W/"1"']


def test_update_with_matching_if_match_succeeds(http):
    resource = patient(dni=unique_dni())
    resource_id = created_id(http, resource)

    response = put(http, resource_id, {**resource, "gender": "male"}, **{"If-Match": 'W/"1"'})

    assert response.status_code == 200
    assert response.headers["ETag"] == 'W/"2"'
    assert response.json()["gender"] == "male"


# --- delete and history -------------------------------------------------------------------------------


def test_delete_answers_204_then_read_is_410_and_the_old_version_stays_readable(http):
    resource_id = created_id(http, patient(dni=unique_dni()))

    deleted = http.delete(f"/Patient/{resource_id}")

    assert deleted.status_code == 204 and deleted.content == b""
    gone = http.get(f"/Patient/{resource_id}")
    assert gone.status_code == 410
    assert gone.json()["resourceType"] == "OperationOutcome"
    old = http.get(f"/Patient/{resource_id}/_history/1")
    assert old.status_code == 200, old.text
    assert old.json()["name"][0]["family"] == "Pérez"


def test_instance_history_lists_every_version_newest_first_with_request_and_response(http):
    resource = patient(dni=unique_dni())
    resource_id = created_id(http, resource)
    put(http, resource_id, {**resource, "gender": "male"})
    http.delete(f"/Patient/{resource_id}")

    response = http.get(f"/Patient/{resource_id}/_history")

    assert response.status_code == 200
    bundle = response.json()
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "history"
    assert bundle["total"] == 3
    entries = bundle["entry"]
    assert [e["request"]["method"] for e in entries] == ["DELETE", "PUT", "POST"]
    assert [e["response"]["status"][:3] for e in entries] == ["204", "200", "201"]
    assert [e["response"]["etag"] for e in entries] == ['W/"3"', 'W/"2"', 'W/"1"']
    assert "resource" not in entries[0]
    assert entries[1]["resource"]["gender"] == "male" and entries[2]["resource"]["gender"] == "female"


def _follow_history(http: httpx.Client, path: str, params: dict) -> list[dict]:
    """Every entry of every page, following ``next`` links until there is none."""
    entries: list[dict] = []
    response = http.get(path, params=params)
    for _ in range(500):
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page.get("entry", [])) <= int(params["_count"])
        entries.extend(page.get("entry", []))
        following = [link["url"] for link in page["link"] if link["relation"] == "next"]
        if not following:
            return entries
        response = http.get(following[0])
    raise AssertionError("history paging did not end")


def _versions_written(http: httpx.Client, system: str) -> tuple[str, set[tuple[str, str, str]]]:
    """Three Patients and an Observation, two updates and a delete: seven versions under ``system``."""
    first = create(http, patient(system=system, dni="0801199000001")).json()
    since = first["meta"]["lastUpdated"]
    ids = [first["id"], created_id(http, patient(system=system, dni="0801199000002")),
           created_id(http, patient(system=system, dni="0801199000003"))]
    put(http, ids[0], patient(system=system, dni="0801199000001", family="López"))
    put(http, ids[1], patient(system=system, dni="0801199000002", family="Zelaya"))
    http.delete(f"/Patient/{ids[2]}")
    observation_id = created_id(http, observation(system=system, subject=f"Patient/{ids[0]}"))
    versions = {("Patient", ids[0], "1"), ("Patient", ids[0], "2"), ("Patient", ids[1], "1"),
                ("Patient", ids[1], "2"), ("Patient", ids[2], "1"), ("Patient", ids[2], "2"),
                ("Observation", observation_id, "1")}
    return since, versions


def _seen(entries: list[dict]) -> list[tuple[str, str, str]]:
    """(type, id, versionId) of each history entry, from its fullUrl and ETag."""
    return [(*entry["fullUrl"].split("/")[-2:], entry["response"]["etag"][3:-1]) for entry in entries]


def test_type_history_since_pages_through_every_version_exactly_once(http):
    since, versions = _versions_written(http, unique_system())

    entries = _follow_history(http, "/Patient/_history", {"_since": since, "_count": "2"})

    seen = _seen(entries)
    assert len(seen) == len(set(seen)), "a version appeared on two pages"
    assert {v for v in versions if v[0] == "Patient"} <= set(seen)
    assert all(v[0] == "Patient" for v in seen)
    moments = [e["response"]["lastModified"] for e in entries]
    assert moments == sorted(moments, reverse=True)  # newest first across pages


def test_system_history_since_pages_through_every_version_exactly_once(http):
    since, versions = _versions_written(http, unique_system())

    entries = _follow_history(http, "/_history", {"_since": since, "_count": "3"})

    seen = _seen(entries)
    assert len(seen) == len(set(seen)), "a version appeared on two pages"
    assert versions <= set(seen)


# --- patch --------------------------------------------------------------------------------------------


def test_json_patch_applies_and_writes_the_next_version(http):
    resource_id = created_id(http, patient(dni=unique_dni()))

    response = json_patch(http, f"/Patient/{resource_id}", [
        {"op": "test", "path": "/gender", "value": "female"},
        {"op": "replace", "path": "/name/0/family", "value": "López"},
    ])

    assert response.status_code == 200, response.text
    assert response.headers["ETag"] == 'W/"2"'
    assert response.json()["meta"]["versionId"] == "2"
    assert response.json()["name"][0] == {"family": "López", "given": ["María"]}


def test_json_patch_with_a_failing_test_operation_is_422_and_changes_nothing(http):
    resource_id = created_id(http, patient(dni=unique_dni()))

    response = json_patch(http, f"/Patient/{resource_id}", [
        {"op": "test", "path": "/gender", "value": "male"},
        {"op": "replace", "path": "/gender", "value": "other"},
    ])

    assert response.status_code == 422
    assert response.json()["resourceType"] == "OperationOutcome"
    assert history_versions(http, f"/Patient/{resource_id}/_history") == ['W/"1"']


def test_json_patch_of_a_deleted_resource_is_410(http):
    resource_id = created_id(http, patient(dni=unique_dni()))
    http.delete(f"/Patient/{resource_id}")

    response = json_patch(http, f"/Patient/{resource_id}", [{"op": "replace", "path": "/gender", "value": "male"}])

    assert response.status_code == 410


def test_json_patch_sent_as_fhir_json_is_415(http):
    resource_id = created_id(http, patient(dni=unique_dni()))

    response = http.patch(f"/Patient/{resource_id}", headers=FHIR_JSON,
                          content=json.dumps([{"op": "replace", "path": "/gender", "value": "male"}]))

    assert response.status_code == 415


# --- conditional interactions (R4 http.html#ccreate, #cond-update, #3.1.0.7.1) ---------------------------


def test_conditional_create_without_a_match_creates_with_201(http):
    dni = unique_dni()

    response = create(http, patient(dni=dni), **{"If-None-Exist": f"identifier={DNI}|{dni}"})

    assert response.status_code == 201
    assert search_ids(http, "Patient", identifier=f"{DNI}|{dni}") == [response.json()["id"]]


def test_conditional_create_with_one_match_returns_it_with_200_and_writes_nothing(http):
    dni = unique_dni()
    existing = created_id(http, patient(dni=dni))

    response = create(http, patient(dni=dni, family="Zelaya"), **{"If-None-Exist": f"identifier={DNI}|{dni}"})

    assert response.status_code == 200, response.text
    assert response.json()["id"] == existing
    assert response.json()["name"][0]["family"] == "Pérez"
    assert search_ids(http, "Patient", identifier=f"{DNI}|{dni}") == [existing]


def test_conditional_create_with_two_matches_is_412(http):
    dni = unique_dni()
    created_id(http, patient(dni=dni))
    created_id(http, patient(dni=dni))

    response = create(http, patient(dni=dni), **{"If-None-Exist": f"identifier={DNI}|{dni}"})

    assert response.status_code == 412
    assert len(search_ids(http, "Patient", identifier=f"{DNI}|{dni}")) == 2


def test_conditional_update_without_a_match_creates_with_201(http):
    dni = unique_dni()

    response = http.put("/Patient", params={"identifier": f"{DNI}|{dni}"}, json=patient(dni=dni), headers=FHIR_JSON)

    assert response.status_code == 201
    assert search_ids(http, "Patient", identifier=f"{DNI}|{dni}") == [response.json()["id"]]


def test_conditional_update_with_one_match_updates_it(http):
    dni = unique_dni()
    existing = created_id(http, patient(dni=dni))

    response = http.put("/Patient", params={"identifier": f"{DNI}|{dni}"}, json=patient(dni=dni, family="López"),
                        headers=FHIR_JSON)

    assert response.status_code == 200
    assert response.json()["id"] == existing
    assert response.headers["ETag"] == 'W/"2"'
    assert response.json()["name"][0]["family"] == "López"


def test_conditional_update_with_several_matches_is_412_and_changes_nothing(http):
    dni = unique_dni()
    first, second = created_id(http, patient(dni=dni)), created_id(http, patient(dni=dni))

    response = http.put("/Patient", params={"identifier": f"{DNI}|{dni}"}, json=patient(dni=dni, family="López"),
                        headers=FHIR_JSON)

    assert response.status_code == 412
    assert history_versions(http, f"/Patient/{first}/_history") == ['W/"1"']
    assert history_versions(http, f"/Patient/{second}/_history") == ['W/"1"']


def test_conditional_delete_removes_the_single_match(http):
    dni = unique_dni()
    existing = created_id(http, patient(dni=dni))

    response = http.delete("/Patient", params={"identifier": f"{DNI}|{dni}"})

    assert response.status_code == 204
    assert search_ids(http, "Patient", identifier=f"{DNI}|{dni}") == []
    assert http.get(f"/Patient/{existing}").status_code == 410


def test_conditional_delete_without_a_match_is_a_no_op(http):
    response = http.delete("/Patient", params={"identifier": f"{DNI}|{unique_dni()}"})
    assert response.status_code in (200, 204)


def test_conditional_delete_with_several_matches_is_412_and_deletes_nothing(http):
    dni = unique_dni()
    created_id(http, patient(dni=dni))
    created_id(http, patient(dni=dni))

    response = http.delete("/Patient", params={"identifier": f"{DNI}|{dni}"})

    assert response.status_code == 412
    assert len(search_ids(http, "Patient", identifier=f"{DNI}|{dni}")) == 2


# --- Prefer and _format (R4 http.html#ops, #mime) ------------------------------------------------------


def test_prefer_return_minimal_answers_an_empty_body_with_headers(http, live_server):
    response = create(http, patient(dni=unique_dni()), Prefer="return=minimal")

    assert response.status_code == 201
    assert response.content == b""
    assert response.headers["ETag"] == 'W/"1"'
    assert response.headers["Location"].startswith(f"{live_server}/Patient/")


def test_prefer_return_operation_outcome_answers_an_operation_outcome(http):
    response = create(http, patient(dni=unique_dni()), Prefer="return=OperationOutcome")

    assert response.status_code == 201
    assert response.json()["resourceType"] == "OperationOutcome"
    assert response.json()["issue"][0]["severity"] == "information"


def test_format_json_and_plain_json_content_type_are_accepted(http):
    dni = unique_dni()

    response = http.post("/Patient", params={"_format": "json"}, content=json.dumps(patient(dni=dni)),
                         headers={"Content-Type": "application/json"})

    assert response.status_code == 201
    assert response.headers["Content-Type"].startswith("application/fhir+json")
    assert response.json()["identifier"][0]["value"] == dni


def test_pretty_true_answers_indented_json(http):
    response = http.post("/Patient", params={"_pretty": "true"}, json=patient(dni=unique_dni()), headers=FHIR_JSON)

    assert response.status_code == 201
    assert response.text.startswith('{\n  "resourceType": "Patient"')
    assert response.json()["name"][0]["family"] == "Pérez"


def test_format_xml_is_406(http):
    response = http.get("/Patient", params={"_format": "xml", "identifier": f"{DNI}|{unique_dni()}"})

    assert response.status_code == 406
    assert response.json()["resourceType"] == "OperationOutcome"


def test_accepting_only_xml_is_406(http):
    response = http.get("/Patient", params={"identifier": f"{DNI}|{unique_dni()}"},
                        headers={"Accept": "application/fhir+xml"})
    assert response.status_code == 406
