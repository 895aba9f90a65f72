"""Two bounds on a single-valued date (``birthdate=ge..&birthdate=lt..``) are checked together on its one index
row, in place of a condition per value: the answers must stay those of R4 search.html#prefix (3.1.1.4.5)."""

from __future__ import annotations

import uuid

from ece import search, store


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
