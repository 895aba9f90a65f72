"""Which search statements run on a plan made without their values (ece.search.query.Statement.generic_plan): those
on keys of the resources' own alone (ids, an identifier, a patient's reference); not with any other condition,
where such a plan cannot tell which side is small (at 64,000 patients, identifier + _has took 40 ms on it against
0.13 ms); and every include, which follows the references of a page of resources."""

from __future__ import annotations

import pytest

from ece.search.include import included
from ece.search.query import filters_sql, parse_request
from ece.search.terminology import TerminologyCache
from ece.sqltext import fetch_rows
from ece.tx import read_unit

DNI = "https://fhir.salud.gob.hn/sid/dni|0801199912345"


def _generic_plan(resource_type: str, pairs: list[tuple[str, str]], compartment=None) -> bool:
    request = parse_request([resource_type], pairs, strict=True)
    request.compartment = compartment
    return filters_sql(request, strict=True, terminology=TerminologyCache()).generic_plan


@pytest.mark.parametrize(("resource_type", "pairs"), [
    ("Patient", [("identifier", DNI)]),
    ("Patient", [("identifier", "0801199912345")]),
    ("Patient", [("_id", "p1,p2")]),
    ("Observation", [("subject", "Patient/p1")]),
    ("Encounter", [("patient", "p1"), ("_sort", "-date")]),
    ("Patient", [("identifier", DNI), ("_id", "p1")]),
])
def test_a_search_starting_from_its_resources_own_key_runs_on_a_generic_plan(resource_type, pairs):
    assert _generic_plan(resource_type, pairs)


@pytest.mark.parametrize(("resource_type", "pairs"), [
    ("Patient", [("name", "cali")]),
    ("Patient", [("identifier", "https://fhir.salud.gob.hn/sid/dni|")]),  # every DNI: not one key
    ("Patient", [("identifier:not", DNI)]),
    ("Observation", [("code", "http://loinc.org|8867-4"), ("date", "ge2026-09-19")]),
    ("Observation", [("subject:Patient.identifier", DNI), ("code", "http://loinc.org|8867-4")]),
    ("Observation", [("subject", "Patient/p1"), ("subject:Patient.name", "cali")]),
    ("Observation", [("subject", "Patient/p1"), ("code", "http://loinc.org|8867-4")]),
    ("Patient", [("identifier", DNI), ("_has:Observation:subject:code", "http://loinc.org|8867-4")]),
    ("Observation", [("subject", "Group/g1")]),
])
def test_a_search_whose_best_plan_depends_on_its_values_keeps_the_custom_plan(resource_type, pairs):
    assert not _generic_plan(resource_type, pairs)


def test_a_compartment_search_keeps_the_custom_plan():
    assert not _generic_plan("Observation", [("code", "http://loinc.org|8867-4")], compartment=("Patient", "p1"))


@pytest.mark.parametrize("pairs", [[("_include", "Observation:subject")], [("_include", "Observation:*")],
                                   [("_revinclude", "Provenance:target")], [("_revinclude", "*")]])
async def test_includes_run_on_generic_plans(engine, pairs):
    request = parse_request(["Observation"], pairs, strict=True)
    async with read_unit(engine) as tx:
        await included(tx.conn, request, [("Observation", "o-generic-plan-probe", b"{}")])
        plans = await fetch_rows(tx.conn, "SELECT generic_plans, custom_plans FROM pg_prepared_statements "
                                          "WHERE statement LIKE 'SELECT r.resource_type, r.id, r.content FROM "
                                          "resource r WHERE (r.resource_type, r.id) IN %'", {})
    assert plans and all(custom == 0 for _generic, custom in plans) and sum(g for g, _c in plans) >= 1
