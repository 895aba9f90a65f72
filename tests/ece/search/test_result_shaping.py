"""Shaping of search results, written from R4 search.html §3.1.1.5.1 (``_sort``: several keys, ``-`` for
decreasing, the earliest of repeated values, strings case-insensitive), §3.1.1.5.2 (``_total``), §3.1.1.5.3
(``_count``, ``_count=0``, page links that repeat ``_count``), §3.1.1.5.8 (``_summary`` and the SUBSETTED tag),
§3.1.1.5.9 (``_elements``), §3.1.1.4.24 (system search with ``_type``) and §3.1.1.2 with R4
compartmentdefinition.html (compartment search ``Patient/[id]/[type]``).

Store-level tests use a rolled-back transaction scoped by an identifier system of their own; the HTTP tests
(paging links, ``_summary=count``, system and compartment routes) use unique identifiers on the live server.
"""

from __future__ import annotations

import uuid
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from ece import fhirjson, search, store

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
FHIR_JSON = {"Content-Type": "application/fhir+json"}
SUBSETTED = "SUBSETTED"
NARRATIVE = {"status": "generated", "div": '<div xmlns="http://www.w3.org/1999/xhtml">María Pérez</div>'}


def unique_system() -> str:
    return f"urn:ece-test:{uuid.uuid4().hex}"


def person(system: str, key: str, family: str | None, birth_date: str | None = None, **fields) -> dict:
    return {"resourceType": "Patient", "identifier": [{"system": system, "value": key}],
            **({"name": [{"family": family, "given": ["Ana"]}]} if family else {}),
            **({"birthDate": birth_date} if birth_date else {}), **fields}


async def make(tx, data: dict) -> str:
    return (await store.create(tx, data=data)).id


async def run(tx, resource_type: str, system: str, *pairs: tuple[str, str]) -> search.SearchPage:
    return await search.search(tx.conn, resource_types=[resource_type],
                               pairs=[("identifier", f"{system}|"), *pairs])


async def ordered(tx, resource_type: str, system: str, *pairs: tuple[str, str]) -> list[str]:
    return [i for _t, i, _c in (await run(tx, resource_type, system, *pairs)).matches]


def subsetted(resource: dict) -> bool:
    return any(tag.get("code") == SUBSETTED for tag in resource.get("meta", {}).get("tag", []))


# --- _sort (§3.1.1.5.1) -------------------------------------------------------------------------------

PEOPLE = [("alvarez", "Álvarez", "1985-01-10"), ("bonilla-90", "bonilla", "1990-05-02"),
          ("bonilla-79", "Bonilla", "1979-12-24"), ("nunez", "Núñez", "1962-03-03"), ("zelaya", "Zelaya", "2001-07-15")]


async def test_sort_on_two_keys_ascending_and_descending(tx):
    system = unique_system()
    ids = {key: await make(tx, person(system, key, family, born)) for key, family, born in PEOPLE}

    by_family_then_youngest = await ordered(tx, "Patient", system, ("_sort", "family,-birthdate"))
    by_family_desc_then_oldest = await ordered(tx, "Patient", system, ("_sort", "-family,birthdate"))
    by_birthdate = await ordered(tx, "Patient", system, ("_sort", "birthdate"))

    assert by_family_then_youngest == [ids[k] for k in ("alvarez", "bonilla-90", "bonilla-79", "nunez", "zelaya")]
    assert by_family_desc_then_oldest == [ids[k] for k in ("zelaya", "nunez", "bonilla-79", "bonilla-90", "alvarez")]
    assert by_birthdate == [ids[k] for k in ("nunez", "bonilla-79", "alvarez", "bonilla-90", "zelaya")]


async def test_sort_on_a_repeated_value_uses_the_earliest_in_the_sort_order(tx):
    system = unique_system()
    two_names = await make(tx, person(system, "1", None, name=[{"given": ["Zoila", "Ana"]}]))
    one_name = await make(tx, person(system, "2", None, name=[{"given": ["María"]}]))

    assert await ordered(tx, "Patient", system, ("_sort", "given")) == [two_names, one_name]  # "Ana" < "María"
    assert await ordered(tx, "Patient", system, ("_sort", "-given")) == [two_names, one_name]  # "Zoila" > "María"


async def test_sort_on_a_double_family_name_uses_the_whole_name(tx):
    """§3.1.1.5.1 sorts by the values of the parameter; a later surname is not a value of its own."""
    system = unique_system()
    ascending = ["Bonilla", "Pérez Zelaya", "Rivera", "Zelaya Álvarez"]
    ids = {family: await make(tx, person(system, family, family)) for family in ascending}

    assert await ordered(tx, "Patient", system, ("_sort", "family")) == [ids[f] for f in ascending]
    assert await ordered(tx, "Patient", system, ("_sort", "-family")) == [ids[f] for f in reversed(ascending)]


async def test_sort_by_last_updated_and_id(tx):
    system = unique_system()
    written = [await make(tx, person(system, str(n), "Pérez")) for n in range(3)]

    assert await ordered(tx, "Patient", system, ("_sort", "-_lastUpdated")) == written[::-1]
    assert await ordered(tx, "Patient", system, ("_sort", "_id")) == sorted(written)


@pytest.mark.parametrize("sort", ["family,-birthdate", "-birthdate", "-family,_id", "birthdate,-_lastUpdated"])
async def test_count_pages_follow_the_sort_and_are_disjoint_and_complete(tx, sort):
    system = unique_system()
    people = [*PEOPLE, ("sin-fecha", "Mejía", None), ("sin-nombre", None, "1990-05-02"), ("otra", "Bonilla", None)]
    for key, family, born in people:
        await make(tx, person(system, key, family, born))
    whole = await ordered(tx, "Patient", system, ("_sort", sort), ("_count", "100"))

    pages, cursor = [], None
    while True:
        page = await run(tx, "Patient", system, ("_sort", sort), ("_count", "3"),
                         *([("_cursor", cursor)] if cursor else []))
        pages.append([i for _t, i, _c in page.matches])
        assert page.total == len(people)
        cursor = page.next_cursor
        if cursor is None:
            break

    assert [len(p) for p in pages] == [3, 3, 2]
    assert [i for p in pages for i in p] == whole and len(set(whole)) == len(people)


# --- _total and _count (§3.1.1.5.2, §3.1.1.5.3) ------------------------------------------------------


async def test_total_none_estimate_and_accurate(tx):
    system = unique_system()
    for n in range(4):
        await make(tx, person(system, str(n), "Zelaya"))

    assert (await run(tx, "Patient", system, ("_total", "none"))).total is None
    assert (await run(tx, "Patient", system, ("_total", "accurate"), ("_count", "1"))).total == 4
    estimate = (await run(tx, "Patient", system, ("_total", "estimate"))).total
    assert isinstance(estimate, int) and estimate >= 0


async def test_count_zero_and_summary_count_answer_only_the_total(tx):
    system = unique_system()
    for n in range(3):
        await make(tx, person(system, str(n), "Zelaya"))

    for pairs in ([("_count", "0")], [("_summary", "count")]):
        page = await run(tx, "Patient", system, *pairs)
        assert page.matches == [] and page.total == 3 and page.next_cursor is None


# --- _summary and _elements (§3.1.1.5.8, §3.1.1.5.9) -------------------------------------------------


def full_patient(system: str) -> dict:
    return person(system, "1", "Pérez", "1990-05-02", text=NARRATIVE, gender="female",
                  maritalStatus={"text": "Casada"}, communication=[{"language": {"text": "Español"}}])


def full_observation(system: str) -> dict:
    return {"resourceType": "Observation", "identifier": [{"system": system, "value": "1"}], "text": NARRATIVE,
            "status": "final", "code": {"coding": [{"system": LOINC, "code": "29463-7"}]},
            "valueQuantity": {"value": 61, "unit": "kg", "system": UCUM, "code": "kg"},
            "note": [{"text": "Control prenatal"}]}


async def shaped(tx, data: dict, *pairs: tuple[str, str]) -> dict:
    await make(tx, data)
    page = await run(tx, data["resourceType"], data["identifier"][0]["system"], *pairs)
    assert len(page.matches) == 1
    return fhirjson.loads(page.matches[0][2])


async def test_summary_true_keeps_only_summary_elements(tx):
    resource = await shaped(tx, full_patient(unique_system()), ("_summary", "true"))

    assert set(resource) == {"resourceType", "id", "meta", "identifier", "name", "gender", "birthDate"}
    assert subsetted(resource)


async def test_summary_text_keeps_text_id_meta_and_mandatory_elements(tx):
    resource = await shaped(tx, full_observation(unique_system()), ("_summary", "text"))

    assert set(resource) == {"resourceType", "id", "meta", "text", "status", "code"}
    assert subsetted(resource)


async def test_summary_data_removes_only_the_text(tx):
    system = unique_system()
    resource = await shaped(tx, full_observation(system), ("_summary", "data"))

    assert set(resource) == set(full_observation(system)) - {"text"} | {"id", "meta"}
    assert subsetted(resource)


async def test_summary_false_returns_the_whole_resource_unmarked(tx):
    system = unique_system()
    resource = await shaped(tx, full_patient(system), ("_summary", "false"))

    assert set(resource) == set(full_patient(system)) | {"id", "meta"} and not subsetted(resource)


async def test_elements_keeps_the_listed_and_mandatory_elements(tx):
    patient = await shaped(tx, full_patient(unique_system()), ("_elements", "identifier,gender"))
    weight = await shaped(tx, full_observation(unique_system()), ("_elements", "subject,note"))

    assert set(patient) == {"resourceType", "id", "meta", "identifier", "gender"} and subsetted(patient)
    assert set(weight) == {"resourceType", "id", "meta", "status", "code", "note"} and subsetted(weight)


async def test_elements_naming_a_choice_element_keeps_its_typed_key(tx):
    weight = await shaped(tx, full_observation(unique_system()), ("_elements", "value"))

    assert set(weight) == {"resourceType", "id", "meta", "status", "code", "valueQuantity"}


# --- over HTTP: page links, _summary=count, system and compartment search -----------------------------


def create(http: httpx.Client, resource: dict) -> str:
    response = http.post(f"/{resource['resourceType']}", json=resource, headers=FHIR_JSON)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def get(http: httpx.Client, url: str, params: dict | list | None = None) -> dict:
    response = http.get(url, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def link(bundle: dict, relation: str) -> str | None:
    return next((x["url"] for x in bundle["link"] if x["relation"] == relation), None)


def test_next_links_page_through_a_sorted_search_repeating_count_and_sort(http):
    system = unique_system()
    ids = {key: create(http, person(system, key, family, born)) for key, family, born in PEOPLE}

    bundle = get(http, "/Patient", {"identifier": f"{system}|", "_sort": "-birthdate", "_count": "2"})
    pages = []
    while True:
        pages.append([e["resource"]["id"] for e in bundle.get("entry", [])])
        following = link(bundle, "next")
        if following is None:
            break
        query = parse_qs(urlsplit(following).query)
        assert query["_count"] == ["2"] and query["_sort"] == ["-birthdate"]
        bundle = get(http, following)

    assert pages == [[ids["zelaya"], ids["bonilla-90"]], [ids["alvarez"], ids["bonilla-79"]], [ids["nunez"]]]


def test_summary_count_over_http_has_a_total_and_no_entries_or_next_link(http):
    system = unique_system()
    for n in range(3):
        create(http, person(system, str(n), "Zelaya"))

    bundle = get(http, "/Patient", {"identifier": f"{system}|", "_summary": "count", "_count": "1"})
    without_total = get(http, "/Patient", {"identifier": f"{system}|", "_total": "none"})

    assert bundle["total"] == 3 and bundle.get("entry", []) == [] and link(bundle, "next") is None
    assert "total" not in without_total and len(without_total["entry"]) == 3


def test_system_search_with_type_spans_the_named_types(http):
    system = unique_system()
    maria = create(http, person(system, "1", "Pérez"))
    weight = create(http, {**full_observation(system), "subject": {"reference": f"Patient/{maria}"}})
    create(http, {"resourceType": "Encounter", "identifier": [{"system": system, "value": "1"}],
                  "status": "finished", "class": {"code": "AMB"}})

    base = str(http.base_url).rstrip("/")
    both = get(http, base, {"_type": "Patient,Observation", "identifier": f"{system}|"})
    patients = get(http, base, {"_type": "Patient", "identifier": f"{system}|"})

    assert {(e["resource"]["resourceType"], e["resource"]["id"]) for e in both["entry"]} == {
        ("Patient", maria), ("Observation", weight)}
    assert both["total"] == 2 and parse_qs(urlsplit(link(both, "self")).query)["_type"] == ["Patient,Observation"]
    assert [e["resource"]["id"] for e in patients["entry"]] == [maria]


def test_system_search_on_the_base_with_a_trailing_slash(http):
    system = unique_system()
    maria = create(http, person(system, "1", "Pérez"))

    response = http.get(str(http.base_url).rstrip("/") + "/", params={"_type": "Patient", "identifier": f"{system}|"})

    assert response.status_code == 200, response.text
    assert [e["resource"]["id"] for e in response.json()["entry"]] == [maria]


def test_compartment_search_returns_what_references_the_patient(http):
    system = unique_system()
    maria = create(http, person(system, "1", "Pérez"))
    jose = create(http, person(system, "2", "López"))

    def weighed(key: str, **fields) -> str:
        return create(http, {**full_observation(system), "identifier": [{"system": system, "value": key}], **fields})

    own = weighed("1", subject={"reference": f"Patient/{maria}"})
    performed = weighed("2", subject={"reference": f"Patient/{jose}"}, performer=[{"reference": f"Patient/{maria}"}])
    weighed("3", subject={"reference": f"Patient/{jose}"})

    everything = get(http, f"/Patient/{maria}/Observation")
    filtered = get(http, f"/Patient/{maria}/Observation", {"performer": f"Patient/{maria}"})

    assert {e["resource"]["id"] for e in everything["entry"]} == {own, performed} and everything["total"] == 2
    assert [e["resource"]["id"] for e in filtered["entry"]] == [performed]
