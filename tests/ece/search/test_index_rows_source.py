"""A search on one index condition alone reads its matches from that condition's index rows, not from the
resource table (ece.search.query.Statement.rows): it must find exactly what the resource-table form finds,
each resource once, never a deleted one, in the same order and with the same total. Searches with a sort
key keep the resource table."""

from __future__ import annotations

import uuid

from ece import search, store
from ece.search.query import filters_sql, parse_request
from ece.search.terminology import TerminologyCache
from tests.ece.search.helpers import make


def unique_family() -> str:
    return "Zq" + uuid.uuid4().hex[:12]


def ids(page: search.SearchPage) -> list[str]:
    return [i for _t, i, _c in page.matches]


async def patients(tx, family: str, count: int) -> list[str]:
    """Ids in order of creation; the n-th was born in 1950 + n."""
    return [await make(tx, {"resourceType": "Patient", "name": [{"family": family, "given": [family + "a"]}],
                            "birthDate": f"{1950 + n}-02-01"}) for n in range(count)]


async def test_a_resource_with_several_matching_index_rows_is_one_match(tx):
    family = unique_family()
    (only,) = await patients(tx, family, 1)  # its family and its given name both start with the family
    page = await search.search(tx.conn, resource_types=["Patient"], pairs=[("name", family)])
    assert ids(page) == [only] and page.total == 1


async def test_a_deleted_resource_is_found_neither_in_the_page_nor_in_the_total(tx):
    family = unique_family()
    kept, gone = await patients(tx, family, 2)
    await store.delete(tx, resource_type="Patient", resource_id=gone)
    for pairs in ([("family", family)], [("family", family), ("_total", "accurate")]):
        page = await search.search(tx.conn, resource_types=["Patient"], pairs=pairs)
        assert ids(page) == [kept] and page.total == 1


async def test_pages_of_one_condition_follow_ids_and_carry_the_total(tx):
    family = unique_family()
    made = sorted(await patients(tx, family, 5))
    first = await search.search(tx.conn, resource_types=["Patient"], pairs=[("family", family), ("_count", "2")])
    assert ids(first) == made[:2] and first.total == 5
    second = await search.search(tx.conn, resource_types=["Patient"],
                                 pairs=[("family", family), ("_count", "2"), ("_cursor", first.next_cursor)])
    assert ids(second) == made[2:4] and second.total == 5


async def test_one_condition_sorted_by_a_parameter_keeps_that_order(tx):
    family = unique_family()
    made = await patients(tx, family, 4)
    page = await search.search(tx.conn, resource_types=["Patient"],
                               pairs=[("family", family), ("_sort", "-birthdate")])
    assert ids(page) == made[::-1]


async def test_a_sorted_search_on_one_condition_lists_each_resource_once(tx):
    family = unique_family()
    made = await patients(tx, family, 3)  # family and given name both match: two index rows each
    page = await search.search(tx.conn, resource_types=["Patient"],
                               pairs=[("name", family), ("_sort", "birthdate"), ("_total", "accurate")])
    assert ids(page) == made and page.total == 3


def rows_of(resource_types: list[str], *pairs: tuple[str, str]) -> str:
    request = parse_request(resource_types, list(pairs), strict=True)
    return filters_sql(request, strict=True, terminology=TerminologyCache()).rows


def test_only_a_search_on_one_index_condition_reads_index_rows():
    assert "search_string" in rows_of(["Patient"], ("name", "ma"))
    assert "search_date" in rows_of(["Patient"], ("birthdate", "ge2000"), ("birthdate", "lt2001"))
    assert rows_of(["Patient"], ("name", "ma"), ("gender", "female")) == "resource r"
    assert rows_of(["Patient"], ("gender:not", "male")) == "resource r"  # rows of other resources
    assert rows_of(["Patient"], ("_lastUpdated", "gt2020")) == "resource r"  # a column of the resource
    assert rows_of(["Patient"], ("name", "ma"), ("_sort", "_lastUpdated")) == "resource r"
    assert rows_of(["Patient"], ("name", "ma"), ("_sort", "birthdate")) == "resource r"
    assert rows_of(["Patient", "Practitioner"], ("name", "ma")) == "resource r"
