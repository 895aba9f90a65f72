"""fhirpy, synchronous and asynchronous, against the live server: create, read, update, search with
paging, delete. A client we claim to serve gets a real round trip (CONVENTIONS, Tests)."""

from __future__ import annotations

import uuid

import pytest
from fhirpy import AsyncFHIRClient, SyncFHIRClient
from fhirpy.base.exceptions import ResourceNotFound

from tests.conftest import auth_headers

DNI = "urn:oid:2.16.340.1.1.1"



def unique_system() -> str:
    return f"urn:ece-test:{uuid.uuid4().hex}"


def patient_fields(*, system: str, value: str = "0801199012345", family: str = "Pérez",
                   given: str = "María") -> dict:
    return {"identifier": [{"system": system, "value": value}], "name": [{"family": family, "given": [given]}],
            "gender": "female", "birthDate": "1990-05-02"}


def test_sync_client_creates_reads_updates_searches_and_deletes(live_server):
    client = SyncFHIRClient(live_server, authorization=auth_headers()["Authorization"])
    system = unique_system()
    patient = client.resource("Patient", **patient_fields(system=system))

    patient.save()
    assert patient.id and patient["meta"]["versionId"] == "1"

    read = client.reference("Patient", patient.id).to_resource()
    assert read["name"] == [{"family": "Pérez", "given": ["María"]}]
    assert client.get("Patient", patient.id)["identifier"] == [{"system": system, "value": "0801199012345"}]

    read["name"] = [{"family": "López", "given": ["María"]}]
    read.save()
    assert read["meta"]["versionId"] == "2"

    found = client.resources("Patient").search(identifier=f"{system}|0801199012345").fetch_all()
    assert [p.id for p in found] == [patient.id]
    assert found[0]["name"][0]["family"] == "López"

    read.delete()
    assert client.resources("Patient").search(identifier=f"{system}|").fetch_all() == []
    with pytest.raises(ResourceNotFound):
        client.reference("Patient", patient.id).to_resource()


def test_sync_client_fetch_all_follows_next_links_across_pages(live_server):
    client = SyncFHIRClient(live_server, authorization=auth_headers()["Authorization"])
    system = unique_system()
    created = set()
    for n in range(5):
        patient = client.resource("Patient", **patient_fields(system=system, value=f"0801199000{n:03d}"))
        patient.save()
        created.add(patient.id)

    found = client.resources("Patient").search(identifier=f"{system}|").limit(2).fetch_all()

    assert sorted(p.id for p in found) == sorted(created)
    assert client.resources("Patient").search(identifier=f"{system}|").count() == 5
    only = client.resources("Patient").search(identifier=f"{system}|0801199000003").get()
    assert only["identifier"][0]["value"] == "0801199000003"


async def test_async_client_creates_reads_updates_searches_and_deletes(live_server):
    client = AsyncFHIRClient(live_server, authorization=auth_headers()["Authorization"])
    system = unique_system()
    patient = client.resource("Patient", **patient_fields(system=system, family="Zelaya", given="José"))

    await patient.save()
    assert patient.id and patient["meta"]["versionId"] == "1"

    read = await client.reference("Patient", patient.id).to_resource()
    assert read["name"] == [{"family": "Zelaya", "given": ["José"]}]

    read["gender"] = "male"
    await read.save()
    assert read["meta"]["versionId"] == "2"

    found = await client.resources("Patient").search(identifier=f"{system}|").limit(1).fetch_all()
    assert [p.id for p in found] == [patient.id]
    assert found[0]["gender"] == "male"

    await read.delete()
    assert await client.resources("Patient").search(identifier=f"{system}|").fetch_all() == []
    with pytest.raises(ResourceNotFound):
        await client.reference("Patient", patient.id).to_resource()
