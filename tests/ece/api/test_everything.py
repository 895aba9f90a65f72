"""``Patient/[id]/$everything`` against the live server (R4 patient-operation-everything.html): the patient,
their compartment and what it references, paged; ``_since`` and ``_type``; errors; a patient reads only their own."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import auth_headers
from tests.ece.api.helpers import FHIR_JSON, created_id, patient, unique_dni

AMBULATORY = {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"}
HEART_RATE = {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]}


def observation(patient_id: str, value: int) -> dict:
    return {"resourceType": "Observation", "status": "final", "code": HEART_RATE,
            "subject": {"reference": f"Patient/{patient_id}"},
            "valueQuantity": {"value": value, "unit": "/min", "system": "http://unitsofmeasure.org", "code": "/min"}}


@pytest.fixture
def record(http: httpx.Client) -> dict:
    """One patient with an Encounter at a facility and two Observations, and a stranger with one of their own."""
    facility = created_id(http, {"resourceType": "Organization", "name": "UAPS El Carrizal"})
    patient_id = created_id(http, patient(dni=unique_dni()))
    encounter = created_id(http, {"resourceType": "Encounter", "status": "finished", "class": AMBULATORY,
                                  "subject": {"reference": f"Patient/{patient_id}"},
                                  "serviceProvider": {"reference": f"Organization/{facility}"}})
    observations = [created_id(http, observation(patient_id, value)) for value in (72, 80)]
    stranger = created_id(http, patient(dni=unique_dni(), family="Zelaya"))
    created_id(http, observation(stranger, 90))
    return {"patient": patient_id, "facility": facility, "encounter": encounter, "observations": observations}


def everything(http: httpx.Client, patient_id: str, **params) -> httpx.Response:
    return http.get(f"/Patient/{patient_id}/$everything", params=params)


def entries(bundle: dict, mode: str) -> list[tuple[str, str]]:
    return [(e["resource"]["resourceType"], e["resource"]["id"]) for e in bundle["entry"]
            if e["search"]["mode"] == mode]


def test_everything_is_the_patient_first_then_their_compartment_and_what_it_references(http, record):
    bundle = everything(http, record["patient"]).json()

    matches = entries(bundle, "match")
    assert bundle["type"] == "searchset" and matches[0] == ("Patient", record["patient"])
    assert sorted(matches[1:]) == sorted([("Encounter", record["encounter"]),
                                          *(("Observation", o) for o in record["observations"])])
    assert entries(bundle, "include") == [("Organization", record["facility"])]
    assert bundle["total"] == 4


def test_pages_hold_each_resource_once_and_the_patient_only_on_the_first(http, record):
    seen, response = [], everything(http, record["patient"], _count="2")
    pages = 0
    while True:
        bundle = response.json()
        seen += entries(bundle, "match")
        pages += 1
        following = [link["url"] for link in bundle["link"] if link["relation"] == "next"]
        if not following:
            break
        response = http.get(following[0])

    assert pages == 2 and len(seen) == len(set(seen)) == 4
    assert seen.count(("Patient", record["patient"])) == 1


def test_type_and_since_narrow_the_record(http, record):
    changed = http.get(f"/Observation/{record['observations'][1]}").json()
    updated = http.put(f"/Observation/{changed['id']}", json={**changed, "status": "amended"}, headers=FHIR_JSON)
    since = updated.json()["meta"]["lastUpdated"]

    only_observations = entries(everything(http, record["patient"], _type="Observation").json(), "match")
    recent = everything(http, record["patient"], _since=since).json()

    assert sorted(only_observations) == sorted(("Observation", o) for o in record["observations"])
    assert entries(recent, "match") == [("Observation", changed["id"])]
    assert "_since=" in recent["link"][0]["url"]


def test_a_referral_task_for_the_patient_is_part_of_their_record(http, record):
    """R4 leaves Task out of the Patient compartment; here a patient's referrals are their record."""
    task = created_id(http, {"resourceType": "Task", "status": "requested", "intent": "order",
                             "for": {"reference": f"Patient/{record['patient']}"}})

    in_everything = entries(everything(http, record["patient"], _type="Task").json(), "match")
    in_compartment = http.get(f"/Patient/{record['patient']}/Task").json()

    assert in_everything == [("Task", task)]
    assert [e["resource"]["id"] for e in in_compartment["entry"]] == [task]


@pytest.mark.parametrize(("params", "headers", "status"), [
    ({"_type": "Practitioner"}, {}, 400),
    ({"_since": "ayer"}, {}, 400),
    ({"_count": "muchos"}, {}, 400),
    ({"_cursor": "no-es-un-cursor"}, {}, 400),
    ({"start": "2026-01-01"}, {"Prefer": "handling=strict"}, 400),
    ({"start": "2026-01-01"}, {}, 200),
])
def test_unsupported_or_malformed_parameters_are_named_or_ignored_as_a_search_does(http, record, params, headers,
                                                                                     status):
    response = http.get(f"/Patient/{record['patient']}/$everything", params=params, headers=headers)

    assert response.status_code == status
    if status == 400:
        assert response.json()["resourceType"] == "OperationOutcome"


def test_a_client_gets_the_types_its_scopes_read_unless_it_names_another(live_server, record):
    scoped = auth_headers("system", scopes="system/Patient.read system/Observation.read")
    with httpx.Client(base_url=live_server, timeout=30, headers=scoped) as client:
        readable = everything(client, record["patient"])
        named = everything(client, record["patient"], _type="Encounter")

    assert sorted(t for t, _i in entries(readable.json(), "match")) == ["Observation", "Observation", "Patient"]
    assert named.status_code == 403


def test_unknown_patient_is_404(http):
    assert everything(http, "no-existe-123").status_code == 404


def test_a_patient_reads_their_own_record_and_not_anothers(live_server, record, http):
    other = created_id(http, patient(dni=unique_dni(), family="Mejía"))
    own = auth_headers("patient", patient=f"Patient/{record['patient']}", scopes="patient/*.read")
    with httpx.Client(base_url=live_server, timeout=30, headers=own) as client:
        mine, theirs = everything(client, record["patient"]), everything(client, other)

    assert mine.status_code == 200 and len(entries(mine.json(), "match")) == 4
    assert theirs.status_code == 403
