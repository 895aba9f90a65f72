"""Conditional interactions over HTTP against the live server: conditional create with
``If-None-Exist`` (R4 http.html#ccreate), conditional update (#cond-update) and conditional delete
(#3.1.0.7.1), including concurrent conditional creates that must not duplicate a patient.

Criteria use a uuid-based DNI so that no other test's patients can match.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.conftest import auth_headers
from tests.ece.api.helpers import DNI, FHIR_JSON, create, created_id, history_versions, patient, put, unique_dni


def search_ids(http: httpx.Client, resource_type: str, **params: str) -> list[str]:
    response = http.get(f"/{resource_type}", params={**params, "_count": "100"})
    assert response.status_code == 200, response.text
    return [entry["resource"]["id"] for entry in response.json().get("entry", [])]


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


def test_concurrent_conditional_creates_store_exactly_one_patient(http, live_server):
    dni = unique_dni()

    def attempt(_: int) -> int:
        with httpx.Client(base_url=live_server, timeout=30, headers=auth_headers()) as client:
            return create(client, patient(dni=dni), **{"If-None-Exist": f"identifier={DNI}|{dni}"}).status_code

    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = sorted(pool.map(attempt, range(6)))

    assert statuses == [200, 200, 200, 200, 200, 201]
    assert len(search_ids(http, "Patient", identifier=f"{DNI}|{dni}")) == 1


def test_concurrent_updates_with_the_same_if_match_let_exactly_one_win(http, live_server):
    resource = patient(dni=unique_dni())
    resource_id = created_id(http, resource)

    def attempt(n: int) -> int:
        with httpx.Client(base_url=live_server, timeout=30, headers=auth_headers()) as client:
            changed = {**resource, "name": [{"family": f"Zelaya-{n}", "given": ["María"]}]}
            return put(client, resource_id, changed, **{"If-Match": 'W/"1"'}).status_code

    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = sorted(pool.map(attempt, range(6)))

    assert statuses == [200, 412, 412, 412, 412, 412]
    assert history_versions(http, f"/Patient/{resource_id}/_history") == ['W/"2"', 'W/"1"']
