"""A search sorted on a date with conditions on that date walks only where their matches can lie
(ece.search.walk.walk_range): on a single-valued date it starts where they begin (ascending from the lower end of
``ge``/``gt``/``sa``/``eq``, descending from the upper end of ``le``/``lt``/``eb``/``eq``, the few ranges that span
that instant ahead of the rest), and on any date it stops where they end. Page after page it gives the order of
the plain sort of every match (page_sql's other form, itself checked against a brute-force order elsewhere), with
the planner free and made to walk."""

from __future__ import annotations

from datetime import date, timedelta
from unittest.mock import patch

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from ece import search
from ece.search import query
from ece.search.query import filters_sql, page_sql, parse_request
from ece.search.terminology import TerminologyCache
from tests.ece.search.helpers import make, unique_system
from tests.ece.search.test_sort_walk import encounter as encounter_with_stays

DAYS = [date(2026, 3, 1) + timedelta(days=n) for n in (0, 1, 2, 5, 9)]  # few, so that ranges meet the bounds
WALK = "SET LOCAL enable_sort = off"
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

stays = st.one_of(st.none(), st.tuples(st.sampled_from(DAYS), st.integers(0, 4)))
conditions = st.tuples(st.sampled_from(["ge", "gt", "sa", "eq", "le", "lt", "eb", "ap", "ne"]),
                       st.sampled_from(DAYS))


def encounter(system: str, n: int, stay: tuple[date, int] | None) -> dict:
    """An Encounter whose ``period`` (the single-valued ``date``) starts on a day and lasts some days."""
    data = {"resourceType": "Encounter", "identifier": [{"system": system, "value": str(n)}], "status": "finished",
            "class": {"code": "AMB"}}
    if stay is not None:
        start, days = stay
        data["period"] = {"start": start.isoformat(), "end": (start + timedelta(days=days)).isoformat()}
    return data


async def read_all(tx, pairs: list[tuple[str, str]], page_size: int) -> list[str]:
    """Every page of an Encounter search, in order."""
    seen, cursor = [], None
    while True:
        paging = [("_count", str(page_size)), *([("_cursor", cursor)] if cursor else [])]
        page = await search.search(tx.conn, resource_types=["Encounter"], pairs=[*pairs, *paging])
        seen += [i for _t, i, _c in page.matches]
        cursor = page.next_cursor
        if cursor is None:
            return seen


def sorted_whole():
    """page_sql's sort of every match, for every search (no walk at all)."""
    return patch.object(query, "walk_range", lambda _request, _key: None)


async def walked_and_sorted(tx, make_encounter, values: list, param: str, bounds: list[tuple[str, date]],
                            descending: bool, page_size: int, walked: bool) -> tuple[list[str], list[str]]:
    """Every page of the same search read twice: as the server runs it, and as the sort of every match."""
    savepoint = await tx.conn.begin_nested()
    try:
        if walked:
            await tx.conn.execute(text(WALK))
        system = unique_system()
        for n, value in enumerate(values):
            await make(tx, make_encounter(system, n, value))
        pairs = [("identifier", f"{system}|"), *((param, f"{p}{d.isoformat()}") for p, d in bounds),
                 ("_sort", f"-{param}" if descending else param)]
        seen = await read_all(tx, pairs, page_size)
        with sorted_whole():
            return seen, await read_all(tx, pairs, page_size)
    finally:
        await savepoint.rollback()


@SETTINGS
@given(population=st.lists(stays, min_size=1, max_size=8), bounds=st.lists(conditions, min_size=1, max_size=2),
       descending=st.booleans(), page_size=st.integers(1, 4), walked=st.booleans())
async def test_a_walk_started_at_the_conditions_bound_pages_like_the_sort_of_every_match(
        tx, population, bounds, descending, page_size, walked):
    seen, expected = await walked_and_sorted(tx, encounter, population, "date", bounds, descending, page_size,
                                             walked)
    assert seen == expected


@SETTINGS
@given(population=st.lists(st.lists(st.tuples(st.sampled_from(DAYS), st.integers(0, 4)), max_size=3), min_size=1,
                           max_size=8),
       bounds=st.lists(conditions, min_size=1, max_size=2), descending=st.booleans(), page_size=st.integers(1, 4),
       walked=st.booleans())
async def test_a_walk_of_a_date_with_several_values_stopped_at_the_conditions_end_pages_like_the_sort_of_every_match(
        tx, population, bounds, descending, page_size, walked):
    seen, expected = await walked_and_sorted(tx, encounter_with_stays, population, "location-period", bounds,
                                             descending, page_size, walked)
    assert seen == expected


def page_statement(resource_type: str, pairs: list[tuple[str, str]]) -> str:
    request = parse_request([resource_type], pairs, strict=True)
    return page_sql(request, filters_sql(request, strict=True, terminology=TerminologyCache()))


def test_a_bound_against_the_walk_starts_it_on_a_single_valued_date_and_sorts_the_matches_of_a_repeated_one():
    started = [("Patient", [("birthdate", "ge2000-01-01"), ("_sort", "birthdate")]),
               ("Patient", [("birthdate", "ge1992-03-24"), ("birthdate", "lt1993-03-24"), ("_sort", "birthdate")]),
               ("Encounter", [("date", "le2022-01-01"), ("_sort", "-date")]),
               ("Encounter", [("date", "2026-10"), ("_sort", "date")])]
    walked_from_the_end = [("Encounter", [("date", "ge2026-09-01"), ("_sort", "-date")]),
                           ("Patient", [("birthdate", "lt1960"), ("_sort", "birthdate")]),
                           ("Observation", [("code", "http://loinc.org|8867-4"), ("date", "ge2026-09-19"),
                                            ("_sort", "-date")])]
    # Observation.date (effective[x]) may be a Timing of many dates: a resource sorts at its earliest one, which
    # a condition cannot bound.
    sorted_matches = [("Observation", [("code", "http://loinc.org|8867-4"), ("date", "ge2026-09-19"),
                                       ("_sort", "date")]),
                      ("Patient", [("birthdate", "ne2000-01-01"), ("_sort", "birthdate")]),
                      ("Encounter", [("date", "ge2026-09-01,lt2020-01-01"), ("_sort", "date")])]
    for resource_type, pairs in started:
        statement = page_statement(resource_type, pairs)
        assert statement.startswith("WITH w AS MATERIALIZED (SELECT * FROM ((SELECT"), pairs
        assert "tstzrange(:p" in statement.split(") UNION ALL (", 1)[0], pairs
    for resource_type, pairs in walked_from_the_end:
        statement = page_statement(resource_type, pairs)
        assert statement.startswith("WITH w AS MATERIALIZED (SELECT s."), pairs
    stopped = page_statement("Observation", [("date", "lt2021"), ("_sort", "date")])
    assert "s.low <= :p" in stopped and "UNION ALL" not in stopped  # no statement for Observations without a date
    for resource_type, pairs in sorted_matches:
        assert not page_statement(resource_type, pairs).startswith("WITH"), pairs
