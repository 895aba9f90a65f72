"""A deleted resource is found by no search (R4 http.html#delete): whether the page's conditions read its own
index rows (which a deletion removes) or only the resource row (``_id``, ``_lastUpdated``, ``:missing=true``,
``:not``), and whatever the sort."""

from __future__ import annotations

import pytest

from ece import search, store
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
