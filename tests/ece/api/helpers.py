"""Factories and small calls shared by the HTTP tests (the live server's database is shared by every
test, so values are made unique per test)."""

from __future__ import annotations

import uuid

import httpx

FHIR_JSON = {"Content-Type": "application/fhir+json"}
DNI = "urn:oid:2.16.340.1.1.1"


def unique_dni() -> str:
    """A 13-digit DNI-shaped value (department 08, municipality 01) unique to this test."""
    return f"0801{uuid.uuid4().int % 10**9:09d}"


def unique_system() -> str:
    return f"urn:ece-test:{uuid.uuid4().hex}"


def patient(*, dni: str = "0801199012345", system: str = DNI, family: str = "Pérez", given: str = "María",
            gender: str = "female", birth_date: str = "1990-05-02", **extra) -> dict:
    return {"resourceType": "Patient", "identifier": [{"system": system, "value": dni}],
            "name": [{"family": family, "given": [given]}], "gender": gender, "birthDate": birth_date, **extra}


def create(http: httpx.Client, resource: dict, **headers: str) -> httpx.Response:
    return http.post(f"/{resource['resourceType']}", json=resource, headers={**FHIR_JSON, **headers})


def created_id(http: httpx.Client, resource: dict) -> str:
    response = create(http, resource)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def put(http: httpx.Client, resource_id: str, resource: dict, **headers: str) -> httpx.Response:
    return http.put(f"/{resource['resourceType']}/{resource_id}", json={**resource, "id": resource_id},
                    headers={**FHIR_JSON, **headers})


def history_versions(http: httpx.Client, path: str) -> list[str]:
    response = http.get(path)
    assert response.status_code == 200, response.text
    return [entry["response"]["etag"] for entry in response.json()["entry"]]
