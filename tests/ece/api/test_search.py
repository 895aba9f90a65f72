"""Search over HTTP against the live server (R4 search.html): string, date, token and reference
parameters, ``_id``, ``_lastUpdated``, paging, ``total``, POST ``_search``, OR and AND.

Every query is scoped to the test's own data with a unique identifier system (``identifier=system|``),
ANDed with the parameter under test, so resources written by other tests never interfere.
"""

from __future__ import annotations

import uuid

import httpx
import pytest

FHIR_JSON = {"Content-Type": "application/fhir+json"}
DNI = "urn:oid:2.16.340.1.1.1"
AMBULATORY = {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"}


def unique_system() -> str:
    return f"urn:ece-test:{uuid.uuid4().hex}"


def patient(*, system: str, value: str, family: str, given: str, gender: str, birth_date: str) -> dict:
    return {"resourceType": "Patient", "identifier": [{"system": system, "value": value}],
            "name": [{"family": family, "given": [given]}], "gender": gender, "birthDate": birth_date}


def create(http: httpx.Client, resource: dict) -> dict:
    response = http.post(f"/{resource['resourceType']}", json=resource, headers=FHIR_JSON)
    assert response.status_code == 201, response.text
    return response.json()


def three_patients(http: httpx.Client, system: str) -> dict[str, str]:
    """María Pérez (1990-05-02), José López (1991-12-31), Ana Zelaya (1992-01-15); family name -> id."""
    people = [("pe", "Pérez", "María", "female", "1990-05-02"), ("lo", "López", "José", "male", "1991-12-31"),
              ("ze", "Zelaya", "Ana", "female", "1992-01-15")]
    return {family: create(http, patient(system=system, value=value, family=family, given=given, gender=gender,
                                         birth_date=born))["id"]
            for value, family, given, gender, born in people}


def search(http: httpx.Client, resource_type: str, params: list[tuple[str, str]] | dict) -> dict:
    response = http.get(f"/{resource_type}", params=params)
    assert response.status_code == 200, response.text
    bundle = response.json()
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "searchset"
    return bundle


def families(http: httpx.Client, system: str, *params: tuple[str, str]) -> set[str]:
    bundle = search(http, "Patient", [("identifier", f"{system}|"), *params])
    return {e["resource"]["name"][0]["family"] for e in bundle.get("entry", [])}


def ids(bundle: dict) -> list[str]:
    return [e["resource"]["id"] for e in bundle.get("entry", [])]


# --- strings (R4 search.html#string) -------------------------------------------------------------------


def test_family_search_ignores_accents_and_case(http):
    system = unique_system()
    three_patients(http, system)

    assert families(http, system, ("family", "perez")) == {"Pérez"}
    assert families(http, system, ("family", "LOPEZ")) == {"López"}
    assert families(http, system, ("family", "Pérez")) == {"Pérez"}


def test_string_search_matches_the_start_of_given_and_family(http):
    system = unique_system()
    three_patients(http, system)

    assert families(http, system, ("given", "mar")) == {"Pérez"}
    assert families(http, system, ("name", "jos")) == {"López"}
    assert families(http, system, ("name", "zel")) == {"Zelaya"}
    assert families(http, system, ("name", "elaya")) == set()


def test_exact_modifier_is_case_and_accent_sensitive(http):
    system = unique_system()
    three_patients(http, system)

    assert families(http, system, ("family:exact", "Pérez")) == {"Pérez"}
    assert families(http, system, ("family:exact", "Perez")) == set()
    assert families(http, system, ("family:exact", "pérez")) == set()
    assert families(http, system, ("family:exact", "Pére")) == set()


def test_contains_modifier_matches_anywhere_in_the_string(http):
    system = unique_system()
    three_patients(http, system)

    assert families(http, system, ("family:contains", "ELAY")) == {"Zelaya"}
    assert families(http, system, ("name:contains", "re")) == {"Pérez"}
    assert families(http, system, ("family:contains", "pez")) == {"López"}


# --- dates (R4 search.html#date, #prefix) ----------------------------------------------------------------


@pytest.mark.parametrize(("value", "expected"), [
    ("1991", {"López"}),
    ("eq1990-05", {"Pérez"}),
    ("1992-01-15", {"Zelaya"}),
    ("eq1992-01-16", set()),
    ("ge1991", {"López", "Zelaya"}),
    ("ge1991-12-31", {"López", "Zelaya"}),
    ("lt1991-12-31", {"Pérez"}),
    ("lt1990", set()),
    ("sa1991-12", {"Zelaya"}),
    ("sa1990", {"López", "Zelaya"}),
    ("eb1992", {"Pérez", "López"}),
    ("eb1992-01-15", {"Pérez", "López"}),
])


def test_birthdate_prefixes_at_year_month_and_day_precision(http, value, expected):
    system = unique_system()
    three_patients(http, system)

    assert families(http, system, ("birthdate", value)) == expected


def test_birthdate_repetition_is_and_and_commas_are_or(http):
    system = unique_system()
    three_patients(http, system)

    assert families(http, system, ("birthdate", "ge1990-06"), ("birthdate", "le1991")) == {"López"}
    assert families(http, system, ("birthdate", "1990-05-02,1992-01-15")) == {"Pérez", "Zelaya"}


# --- tokens (R4 search.html#token) ---------------------------------------------------------------------


def test_gender_token(http):
    system = unique_system()
    three_patients(http, system)

    assert families(http, system, ("gender", "female")) == {"Pérez", "Zelaya"}
    assert families(http, system, ("gender", "male")) == {"López"}
    assert families(http, system, ("gender", "other")) == set()


def test_identifier_system_value_forms(http):
    dni_system, other_system, value = DNI, unique_system(), f"0801{uuid.uuid4().int % 10**9:09d}"
    with_dni = create(http, {"resourceType": "Patient", "identifier": [{"system": dni_system, "value": value}]})
    without_system = create(http, {"resourceType": "Patient", "identifier": [{"value": value}]})
    with_other = create(http, {"resourceType": "Patient", "identifier": [{"system": other_system, "value": value}]})

    assert set(ids(search(http, "Patient", {"identifier": value}))) == {
        with_dni["id"], without_system["id"], with_other["id"]}
    assert ids(search(http, "Patient", {"identifier": f"{dni_system}|{value}"})) == [with_dni["id"]]
    assert ids(search(http, "Patient", {"identifier": f"|{value}"})) == [without_system["id"]]
    assert ids(search(http, "Patient", {"identifier": f"{other_system}|"})) == [with_other["id"]]


def test_id_search_with_a_list_of_ids(http):
    system = unique_system()
    people = three_patients(http, system)

    bundle = search(http, "Patient", {"_id": f"{people['Pérez']},{people['Zelaya']}"})

    assert sorted(ids(bundle)) == sorted([people["Pérez"], people["Zelaya"]])
    assert bundle["total"] == 2


def test_last_updated_selects_by_the_time_of_writing(http):
    system = unique_system()
    first = create(http, patient(system=system, value="1", family="Pérez", given="María", gender="female",
                                 birth_date="1990-05-02"))
    moment = first["meta"]["lastUpdated"]

    assert families(http, system, ("_lastUpdated", f"ge{moment}")) == {"Pérez"}
    assert families(http, system, ("_lastUpdated", f"lt{moment}")) == set()
    assert families(http, system, ("_lastUpdated", "ge2000-01-01"), ("_lastUpdated", "lt2200-01-01")) == {"Pérez"}


# --- references (R4 search.html#reference) -------------------------------------------------------------


def test_observation_and_encounter_by_subject_and_patient(http):
    system = unique_system()
    people = three_patients(http, system)
    maria, jose = people["Pérez"], people["López"]
    visit = create(http, {"resourceType": "Encounter", "status": "finished", "class": AMBULATORY,
                          "subject": {"reference": f"Patient/{maria}"}})
    weight = create(http, {"resourceType": "Observation", "status": "final", "code": {"text": "Peso"},
                           "subject": {"reference": f"Patient/{maria}"},
                           "encounter": {"reference": f"Encounter/{visit['id']}"}})

    assert ids(search(http, "Observation", {"subject": f"Patient/{maria}"})) == [weight["id"]]
    assert ids(search(http, "Observation", {"patient": maria})) == [weight["id"]]
    assert ids(search(http, "Observation", {"encounter": f"Encounter/{visit['id']}"})) == [weight["id"]]
    assert ids(search(http, "Encounter", {"subject": f"Patient/{maria}"})) == [visit["id"]]
    assert ids(search(http, "Encounter", {"patient": maria})) == [visit["id"]]
    assert ids(search(http, "Observation", {"patient": jose})) == []


# --- paging, total, POST _search (R4 search.html#count, http.html#search) -------------------------------


def test_count_pages_are_disjoint_and_complete_with_total_on_each(http):
    system = unique_system()
    created = {create(http, patient(system=system, value=str(n), family="Zelaya", given="Ana", gender="female",
                                    birth_date="2001-01-01"))["id"] for n in range(7)}

    pages: list[list[str]] = []
    bundle = search(http, "Patient", {"identifier": f"{system}|", "_count": "3"})
    while True:
        assert bundle["total"] == 7
        pages.append(ids(bundle))
        following = [link["url"] for link in bundle["link"] if link["relation"] == "next"]
        if not following:
            break
        response = http.get(following[0])
        assert response.status_code == 200, response.text
        bundle = response.json()

    assert [len(page) for page in pages] == [3, 3, 1]
    every = [i for page in pages for i in page]
    assert len(every) == len(set(every)) and set(every) == created


def test_count_zero_answers_only_the_total(http):
    system = unique_system()
    three_patients(http, system)

    bundle = search(http, "Patient", {"identifier": f"{system}|", "_count": "0"})

    assert bundle["total"] == 3 and bundle.get("entry", []) == []


def test_post_search_with_a_form_body_matches_get(http):
    system = unique_system()
    three_patients(http, system)

    response = http.post("/Patient/_search", data={"identifier": f"{system}|", "gender": "female"})

    assert response.status_code == 200, response.text
    bundle = response.json()
    assert bundle["type"] == "searchset" and bundle["total"] == 2
    got = {e["resource"]["name"][0]["family"] for e in bundle["entry"]}
    assert got == families(http, system, ("gender", "female")) == {"Pérez", "Zelaya"}


def test_commas_are_or_and_repeated_parameters_are_and(http):
    system = unique_system()
    three_patients(http, system)

    assert families(http, system, ("family", "perez,zelaya")) == {"Pérez", "Zelaya"}
    assert families(http, system, ("gender", "male,female")) == {"Pérez", "López", "Zelaya"}
    assert families(http, system, ("family", "perez,zelaya"), ("gender", "female"), ("given", "ana")) == {"Zelaya"}
    assert families(http, system, ("name", "maría"), ("name", "pérez")) == {"Pérez"}
    assert families(http, system, ("name", "maría"), ("name", "lópez")) == set()
