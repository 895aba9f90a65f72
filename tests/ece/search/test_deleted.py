"""A deleted resource is found by no search (R4 http.html#delete): whether the page's conditions read its own
index rows (which a deletion removes) or only the resource row (``_id``, ``_lastUpdated``, ``:missing=true``,
``:not``), and whatever the sort."""

from __future__ import annotations

import pytest

from ece import search, store
from ece.search.clauses import Context, Sql, clause
from tests.ece.search.helpers import make, unique_system


@pytest.mark.parametrize("pairs", [
    [],
    [("family", "Zelaya")],
    [("gender", "female")],
    [("gender:not", "male")],
    [("birthdate:missing", "true")],
    [("_lastUpdated", "gt2000-01-01")],
    [("family", "Zelaya"), ("_sort", "-_lastUpdated")],
    [("_sort", "family")],
])
async def test_a_deleted_patient_is_found_by_no_search(tx, pairs):
    system = unique_system()
    kept = await make(tx, {"resourceType": "Patient", "identifier": [{"system": system, "value": "1"}],
                           "name": [{"family": "Zelaya"}], "gender": "female"})
    gone = await make(tx, {"resourceType": "Patient", "identifier": [{"system": system, "value": "2"}],
                           "name": [{"family": "Zelaya"}], "gender": "female"})
    await store.delete(tx, resource_type="Patient", resource_id=gone)

    page = await search.search(tx.conn, resource_types=["Patient"],
                               pairs=[("identifier", f"{system}|"), *pairs])
    assert [i for _t, i, _c in page.matches] == [kept]


async def test_a_deleted_patient_is_not_found_by_id_alone(tx):
    kept = await make(tx, {"resourceType": "Patient", "name": [{"family": "Zelaya"}]})
    gone = await make(tx, {"resourceType": "Patient", "name": [{"family": "Zelaya"}]})
    await store.delete(tx, resource_type="Patient", resource_id=gone)

    page = await search.search(tx.conn, resource_types=["Patient"], pairs=[("_id", f"{kept},{gone}")])
    assert [i for _t, i, _c in page.matches] == [kept]


@pytest.mark.parametrize("result", [[("_total", "accurate")], [("_count", "0")], [("_summary", "count")]])
@pytest.mark.parametrize("pairs", [[("family", "Zelaya")], [("gender:not", "male")], [("birthdate:missing", "true")]])
async def test_a_deleted_patient_is_counted_by_no_total(tx, pairs, result):
    system = unique_system()
    for value in ("1", "2"):
        await make(tx, {"resourceType": "Patient", "identifier": [{"system": system, "value": value}],
                        "name": [{"family": "Zelaya"}], "gender": "female"})
    gone = await make(tx, {"resourceType": "Patient", "identifier": [{"system": system, "value": "3"}],
                           "name": [{"family": "Zelaya"}], "gender": "female"})
    await store.delete(tx, resource_type="Patient", resource_id=gone)

    page = await search.search(tx.conn, resource_types=["Patient"],
                               pairs=[("identifier", f"{system}|"), *pairs, *result])
    assert page.total == 2


@pytest.mark.parametrize(("resource_type", "raw_name", "value"), [
    ("Patient", "family", "Zelaya"), ("Patient", "gender:not", "male"), ("Patient", "gender:missing", "false"),
    ("Patient", "birthdate:missing", "true"), ("Patient", "_id", "a,b"), ("Patient", "_lastUpdated", "gt2000"),
    ("Patient", "_content", "zelaya"), ("Patient", "identifier:of-type", "http://terminology.hl7.org/"
                                                                     "CodeSystem/v2-0203|MR|1"),
    ("Observation", "subject:Patient.family", "Zelaya"), ("Patient", "_has:Observation:subject:code", "8867-4"),
    ("Observation", "code:not-in", "http://hl7.org/fhir/ValueSet/observation-category"),
])
def test_a_condition_claims_a_live_resource_exactly_when_it_requires_index_rows_of_its_own(resource_type, raw_name,
                                                                                           value):
    ctx = Context(Sql(), _Codes(), None)

    condition = clause(ctx, "r", [resource_type], raw_name, value)

    own_rows = condition.sql.startswith("EXISTS") and "resource_id = r.id" in condition.sql.split(" AND ")[1]
    assert condition.on_own_rows == own_rows


class _Codes:
    """Terminology for :in/:not-in without a database (the codes themselves do not matter here)."""

    def codes(self, value: str, raw_name: str) -> set[str]:
        return {"http://terminology.hl7.org/CodeSystem/observation-category|vital-signs"}
