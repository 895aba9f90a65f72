"""Two bounds on a single-valued date (``birthdate=ge..&birthdate=lt..``) are checked together on its one index
row, in place of a condition per value: the answers must stay those of R4 search.html#prefix (3.1.1.4.5)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from ece import search, store
from ece.search.clauses import Context, Sql
from ece.search.prefixes import date_value, shared_overlap
from ece.search.terminology import TerminologyCache


async def _patient(tx, system: str, birth_date: str) -> str:
    data = {"resourceType": "Patient", "identifier": [{"system": system, "value": birth_date}],
            "birthDate": birth_date}
    return (await store.create(tx, data=data)).id


async def _found(tx, system: str, *bounds: str) -> set[str]:
    pairs = [("identifier", f"{system}|"), *(("birthdate", b) for b in bounds)]
    page = await search.search(tx.conn, resource_types=["Patient"], pairs=pairs)
    return {i for _t, i, _c in page.matches}


async def test_a_year_range_keeps_the_boundaries_of_ge_and_lt(tx):
    system = f"urn:ece-test:{uuid.uuid4().hex}"
    before = await _patient(tx, system, "1979-12-31")
    first_day = await _patient(tx, system, "1980-01-01")
    last_day = await _patient(tx, system, "1980-12-31")
    after = await _patient(tx, system, "1981-01-01")
    month_only = await _patient(tx, system, "1980-06")
    assert await _found(tx, system, "ge1980-01-01", "lt1981-01-01") == {first_day, last_day, month_only}
    assert await _found(tx, system, "gt1979-12-31", "le1980-12-31") == {first_day, last_day, month_only}
    assert before not in await _found(tx, system, "ge1980", "lt1981")
    assert after not in await _found(tx, system, "ge1980", "lt1981")


async def test_contradictory_bounds_match_nothing(tx):
    system = f"urn:ece-test:{uuid.uuid4().hex}"
    await _patient(tx, system, "1990-05-02")
    assert await _found(tx, system, "ge1991-01-01", "lt1990-01-01") == set()


async def test_a_list_of_dates_beside_two_bounds_still_narrows_them(tx):
    system = f"urn:ece-test:{uuid.uuid4().hex}"
    january = await _patient(tx, system, "1980-01-15")
    june = await _patient(tx, system, "1980-06-15")
    await _patient(tx, system, "1980-09-15")
    assert await _found(tx, system, "ge1980-01-01", "lt1981-01-01", "1980-01,1980-06") == {january, june}
    assert await _found(tx, system, "ge1980-01-01", "lt1980-03-01", "1980-01,1980-06") == {january}


async def test_bounds_that_share_no_range_still_find_a_value_that_spans_both(tx):
    system = f"urn:ece-test:{uuid.uuid4().hex}"
    year_only = await _patient(tx, system, "1980")
    await _patient(tx, system, "1980-06-15")
    # "1980" reaches below March and above October (R4 search.html#prefix: lt and gt compare the ranges).
    assert await _found(tx, system, "lt1980-03-01", "gt1980-10-31") == {year_only}


def _bounds(*values: str) -> tuple[Sql, str | None]:
    ctx = Context(Sql(), TerminologyCache(), None)
    return ctx.sql, shared_overlap(ctx, [date_value(ctx, v, "birthdate") for v in values], "span")


def _ends(sql: Sql, overlap: str) -> list[datetime]:
    return [sql.params[name.strip(":, ")] for name in overlap.split("tstzrange(")[1].split(",")[:2]]


def test_two_bounds_narrow_the_index_scan_to_the_range_between_them():
    sql, overlap = _bounds("ge2004-06-16", "lt2005-06-16")
    assert overlap.startswith("span && tstzrange(") and overlap.endswith("'[)')") and " AND " not in overlap
    assert _ends(sql, overlap) == [datetime(2004, 6, 16, tzinfo=UTC), datetime(2005, 6, 16, tzinfo=UTC)]


def test_the_tighter_end_wins_and_exclusive_beats_inclusive_on_a_tie():
    sql, overlap = _bounds("ge2004-06-16", "gt2004-06-15", "le2005-06-15", "lt2005-06-16")
    assert _ends(sql, overlap) == [datetime(2004, 6, 16, tzinfo=UTC), datetime(2005, 6, 16, tzinfo=UTC)]
    assert overlap.endswith("'()')")  # gt2004-06-15 starts after the 16th's first instant; lt2005-06-16 ends before


def test_bounds_without_a_shared_range_narrow_one_by_one_and_ne_not_at_all():
    _sql, apart = _bounds("lt1980-03-01", "gt1980-10-31")
    assert apart.count("&& tstzrange(") == 2 and " AND " in apart
    assert _bounds("ne1980-03-01", "ne1981-03-01")[1] is None
