"""The REST interactions over HTTP against a live server (R4 http.html): create, read, vread, update,
patch, delete, ``Prefer`` and ``_format``. History is in test_history.py, the conditional interactions
in test_conditional.py.

The live server's database is shared by every HTTP test, so each test scopes its data with a unique
identifier system or a uuid-based DNI and never assumes an empty database.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

import httpx

from tests.ece.api.helpers import DNI, FHIR_JSON, create, created_id, history_versions, patient, put, unique_dni

JSON_PATCH = {"Content-Type": "application/json-patch+json"}



def json_patch(http: httpx.Client, path: str, operations: list[dict]) -> httpx.Response:
    return http.patch(path, content=json.dumps(operations), headers=JSON_PATCH)


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


def test_deleting_again_changes_nothing_and_unknown_resource_is_404(http):
    resource_id = created_id(http, patient(dni=unique_dni()))
    assert http.delete(f"/Patient/{resource_id}").status_code == 204

    again = http.delete(f"/Patient/{resource_id}")

    assert again.status_code in (200, 204)
    assert history_versions(http, f"/Patient/{resource_id}/_history") == ['W/"2"', 'W/"1"']
    assert http.delete(f"/Patient/{uuid.uuid4()}").status_code == 404


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
