"""SMART on FHIR's fhirclient against the live server: its models must be able to create, read back,
update, search and delete through our REST API (CONVENTIONS, Tests: one test per client we serve)."""

from __future__ import annotations

import uuid

import pytest
from fhirclient.client import FHIRClient
from fhirclient.models.observation import Observation
from fhirclient.models.patient import Patient
from requests import HTTPError

from tests.conftest import auth_headers

DNI = "urn:oid:2.16.340.1.1.1"



def unique_system() -> str:
    return f"urn:ece-test:{uuid.uuid4().hex}"


@pytest.fixture
def smart(live_server: str) -> FHIRClient:
    client = FHIRClient(settings={"app_id": "ece-tests", "api_base": live_server})
    client.server.session.headers.update(auth_headers())
    return client


def maria(system: str) -> Patient:
    return Patient({"resourceType": "Patient", "identifier": [{"system": system, "value": "0801199012345"}],
                    "name": [{"family": "López", "given": ["María", "José"]}], "gender": "female",
                    "birthDate": "1990-05-02",
                    "address": [{"city": "San Pedro Sula", "state": "Cortés", "country": "HN"}]})


def test_patient_created_with_fhirclient_reads_back_as_a_model(smart):
    system = unique_system()

    created = maria(system).create(smart.server)

    assert created["resourceType"] == "Patient" and created["meta"]["versionId"] == "1"
    read = Patient.read(created["id"], smart.server)
    assert read.id == created["id"]
    assert read.name[0].family == "López" and read.name[0].given == ["María", "José"]
    assert read.address[0].state == "Cortés"
    assert read.birthDate.isostring == "1990-05-02"
    assert read.meta.versionId == "1"


def test_fhirclient_search_update_and_delete(smart):
    system = unique_system()
    created = maria(system).create(smart.server)
    weight = Observation({"resourceType": "Observation", "status": "final", "code": {"text": "Peso"},
                          "subject": {"reference": f"Patient/{created['id']}"},
                          "valueQuantity": {"value": 61.5, "unit": "kg"}})
    weight.create(smart.server)

    [found] = Patient.where(struct={"identifier": f"{system}|0801199012345"}).perform_resources(smart.server)
    assert found.id == created["id"] and found.gender == "female"
    [observed] = Observation.where(struct={"subject": f"Patient/{created['id']}"}).perform_resources(smart.server)
    assert observed.valueQuantity.value == 61.5

    found.gender = "other"
    updated = found.update(smart.server)
    assert updated["meta"]["versionId"] == "2" and updated["gender"] == "other"

    found.delete(smart.server)
    assert Patient.where(struct={"identifier": f"{system}|"}).perform_resources(smart.server) == []
    with pytest.raises(HTTPError) as gone:
        Patient.read(created["id"], smart.server)
    assert gone.value.response.status_code == 410
