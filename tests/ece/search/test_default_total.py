"""The total of a search without ``_total`` (R4 search.html §3.1.1.5.2; Bundle.total is optional, bundle.html):
a page that holds every match gives it; larger sets are counted up to ``DEFAULT_COUNT_CAP``: on one index
condition by the page's own statement, when it has at most ``COUNT_SCAN_CAP`` index rows; on several, when the
planner expects that count to be cheap; and are left without a total otherwise. Later pages carry the first
page's total in their cursor. ``_total=accurate`` always counts."""

from __future__ import annotations

import base64

import orjson
import pytest

import ece.search
from ece import search
from ece.errors import BadRequest
from tests.ece.search.helpers import make, unique_system


async def _people(tx, system: str, n: int) -> None:
    for key in range(n):
        await make(tx, {"resourceType": "Patient", "identifier": [{"system": system, "value": str(key)}],
                        "name": [{"family": "Zelaya"}]})


async def _page(tx, system: str, *pairs: tuple[str, str]):
    return await search.search(tx.conn, resource_types=["Patient"], pairs=[("identifier", f"{system}|"), *pairs])


async def test_a_page_holding_every_match_gives_the_total_even_when_counting_would_be_costly(tx, monkeypatch):
    monkeypatch.setattr(ece.search, "COUNT_COST_LIMIT", 0.0)
    system = unique_system()
    await _people(tx, system, 3)

    page = await _page(tx, system)
    assert len(page.matches) == 3 and page.total == 3 and page.next_cursor is None


async def test_a_set_beyond_the_first_page_is_counted_when_the_count_is_cheap(tx):
    system = unique_system()
    await _people(tx, system, 5)

    pages = [await _page(tx, system, ("_count", "2"))]
    while pages[-1].next_cursor is not None:
        pages.append(await _page(tx, system, ("_count", "2"), ("_cursor", pages[-1].next_cursor)))
    assert [len(p.matches) for p in pages] == [2, 2, 1] and [p.total for p in pages] == [5, 5, 5]


async def test_a_set_on_several_conditions_beyond_the_first_page_has_no_total_when_the_count_would_be_costly(
        tx, monkeypatch):
    monkeypatch.setattr(ece.search, "COUNT_COST_LIMIT", 0.0)
    system = unique_system()
    await _people(tx, system, 5)

    first = await _page(tx, system, ("family", "Zelaya"), ("_count", "2"))
    assert len(first.matches) == 2 and first.next_cursor is not None and first.total is None
    second = await _page(tx, system, ("family", "Zelaya"), ("_count", "2"), ("_cursor", first.next_cursor))
    assert second.total is None


async def test_a_set_on_several_conditions_beyond_the_first_page_is_counted_when_the_count_is_cheap(tx):
    system = unique_system()
    await _people(tx, system, 5)

    page = await _page(tx, system, ("family", "Zelaya"), ("_count", "2"))
    assert len(page.matches) == 2 and page.total == 5


async def test_one_condition_is_counted_by_the_page_statement_alone(tx, monkeypatch):
    system = unique_system()
    await _people(tx, system, 5)

    async def no_count(*_args, **_kwargs):
        raise AssertionError("a second statement planned or ran the count")

    monkeypatch.setattr(ece.search, "_total", no_count)
    page = await _page(tx, system, ("_count", "2"))
    assert len(page.matches) == 2 and page.total == 5


async def test_one_condition_counts_a_resource_matching_on_several_index_rows_once(tx):
    system = unique_system()
    for key in range(5):
        await make(tx, {"resourceType": "Patient", "identifier": [{"system": system, "value": f"{key}-a"},
                                                                  {"system": system, "value": f"{key}-b"}]})

    page = await _page(tx, system, ("_count", "2"))
    assert len(page.matches) == 2 and page.total == 5


async def test_one_condition_with_more_index_rows_than_the_scan_cap_has_no_total(tx, monkeypatch):
    monkeypatch.setattr(ece.search, "COUNT_SCAN_CAP", 4)
    system = unique_system()
    await _people(tx, system, 5)

    first = await _page(tx, system, ("_count", "2"))
    assert first.total is None and first.next_cursor is not None
    second = await _page(tx, system, ("_count", "2"), ("_cursor", first.next_cursor))
    assert second.total is None
    monkeypatch.setattr(ece.search, "COUNT_SCAN_CAP", 5)
    assert (await _page(tx, system, ("_count", "2"))).total == 5


async def test_one_condition_with_more_matches_than_the_cap_has_no_total(tx, monkeypatch):
    monkeypatch.setattr(ece.search, "DEFAULT_COUNT_CAP", 4)
    system = unique_system()
    await _people(tx, system, 5)

    assert (await _page(tx, system, ("_count", "2"))).total is None
    monkeypatch.setattr(ece.search, "DEFAULT_COUNT_CAP", 5)
    assert (await _page(tx, system, ("_count", "2"))).total == 5


@pytest.mark.parametrize("pairs", [[("_total", "accurate")], [("_summary", "count")], [("_count", "0")]])
async def test_an_asked_for_total_is_counted_whatever_it_costs(tx, monkeypatch, pairs):
    monkeypatch.setattr(ece.search, "COUNT_COST_LIMIT", 0.0)
    system = unique_system()
    await _people(tx, system, 5)

    page = await _page(tx, system, ("_count", "2"), *pairs)
    assert page.total == 5


async def test_later_pages_carry_the_first_pages_total_and_count_nothing(tx, monkeypatch):
    system = unique_system()
    await _people(tx, system, 5)
    first = await _page(tx, system, ("_count", "2"))
    assert first.total == 5

    async def no_count(*_args, **_kwargs):
        raise AssertionError("a later page planned or ran the count again")

    monkeypatch.setattr(ece.search, "_total", no_count)
    await _people(tx, system, 1)  # a sixth match after the first page: the carried total is the first page's
    second = await _page(tx, system, ("_count", "2"), ("_cursor", first.next_cursor))
    assert second.total == 5
    third = await _page(tx, system, ("_count", "2"), ("_cursor", second.next_cursor))
    assert third.total == 5


async def test_a_later_page_asked_for_an_accurate_total_counts_again(tx):
    system = unique_system()
    await _people(tx, system, 5)
    first = await _page(tx, system, ("_count", "2"))
    await make(tx, {"resourceType": "Patient", "identifier": [{"system": system, "value": "nuevo"}]})

    second = await _page(tx, system, ("_count", "2"), ("_total", "accurate"), ("_cursor", first.next_cursor))
    assert second.total == 6


@pytest.mark.parametrize("total", [-1, True, "5", 2.5])
async def test_a_cursor_with_a_forged_total_is_refused(tx, total):
    system = unique_system()
    await _people(tx, system, 3)
    first = await _page(tx, system, ("_count", "2"))
    keys = orjson.loads(base64.urlsafe_b64decode(first.next_cursor + "=" * (-len(first.next_cursor) % 4)))
    forged = base64.urlsafe_b64encode(orjson.dumps([*keys[:-1], total])).decode().rstrip("=")

    with pytest.raises(BadRequest) as refused:
        await _page(tx, system, ("_count", "2"), ("_cursor", forged))
    assert tuple(refused.value.issues[0].expression) == ("_cursor",)


async def _statements_of(monkeypatch, search_call) -> tuple[object, list[str]]:
    """The page a search answers and the statements it ran (ece.search's own: page, counts, plans)."""
    ran: list[str] = []
    fetch = ece.search.fetch_rows

    async def recording(conn, sql, params, **options):
        ran.append(sql)
        return await fetch(conn, sql, params, **options)

    monkeypatch.setattr(ece.search, "fetch_rows", recording)
    return await search_call, ran


async def _namesakes(tx, system: str, n: int) -> None:
    """``n`` patients holding the same identifier (a duplicate registration): a bounded search with n matches."""
    for _ in range(n):
        await make(tx, {"resourceType": "Patient", "identifier": [{"system": system, "value": "0801199912345"}]})


async def test_a_bounded_search_holding_its_matches_in_one_page_runs_the_page_alone_and_gives_the_total(
        tx, monkeypatch):
    system = unique_system()
    await _namesakes(tx, system, 3)

    page, ran = await _statements_of(monkeypatch, search.search(
        tx.conn, resource_types=["Patient"], pairs=[("identifier", f"{system}|0801199912345")]))
    assert page.total == 3 and len(ran) == 1 and "count(" not in ran[0]


async def test_a_bounded_search_beyond_its_page_is_counted_without_asking_the_planner(tx, monkeypatch):
    monkeypatch.setattr(ece.search, "COUNT_COST_LIMIT", 0.0)  # an unbounded search would go without its total
    system = unique_system()
    await _namesakes(tx, system, 5)

    page, ran = await _statements_of(monkeypatch, search.search(
        tx.conn, resource_types=["Patient"], pairs=[("identifier", f"{system}|0801199912345"), ("_count", "2")]))
    assert len(page.matches) == 2 and page.total == 5
    assert len(ran) == 2 and not any(s.startswith("EXPLAIN") for s in ran)
