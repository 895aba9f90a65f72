"""A search sorted on one date reads the key's values in key order (ece.search.walk.page_sql):
each resource once, at its smallest value ascending and its largest descending (R4 search.html#sort), ties by
id, the resources without a value after all the others, in id order; and page after page the same, whether the
planner walks the key's index or sorts the matches. Checked against a brute-force order, with the planner free
and with sorting made to cost so much that it walks."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from ece import search
from ece.search.query import filters_sql, page_sql, parse_request
from ece.search.terminology import TerminologyCache
from tests.ece.search.helpers import make, unique_system

DAYS = [date(2026, 1, 1) + timedelta(days=n) for n in (0, 1, 30, 31, 200)]  # few, so that keys tie
WALK = "SET LOCAL enable_sort = off"  # a sort of every match then costs more than any walk: the index is walked
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

periods = st.lists(st.tuples(st.sampled_from(DAYS), st.integers(0, 2)), max_size=3)


def encounter(system: str, n: int, stays: list[tuple[date, int]]) -> dict:
    """An Encounter with one location per stay (start day, length in days): ``location-period`` has several
    values when it has several stays."""
    data = {"resourceType": "Encounter", "identifier": [{"system": system, "value": str(n)}], "status": "finished",
            "class": {"code": "AMB"}}
    if stays:  # FHIR has no empty arrays
        data["location"] = [{"location": {"display": f"Sala {k}"},
                             "period": {"start": start.isoformat(), "end": (start + timedelta(days=days)).isoformat()}}
                            for k, (start, days) in enumerate(stays)]
    return data


def expected_order(stays_of: dict[str, list[tuple[date, int]]], descending: bool) -> list[str]:
    def key(rid: str) -> date:
        stays = stays_of[rid]
        return max(s + timedelta(days=d) for s, d in stays) if descending else min(s for s, _d in stays)

    valued = [rid for rid, stays in stays_of.items() if stays]
    ordered = sorted(valued, key=lambda rid: (-key(rid).toordinal() if descending else key(rid).toordinal(), rid))
    return ordered + sorted(rid for rid, stays in stays_of.items() if not stays)


async def read_all(tx, system: str, sort: str, page_size: int) -> list[str]:
    seen, cursor = [], None
    while True:
        paging = [("_count", str(page_size)), *([("_cursor", cursor)] if cursor else [])]
        page = await search.search(tx.conn, resource_types=["Encounter"],
                                   pairs=[("identifier", f"{system}|"), ("_sort", sort), *paging])
        assert len(page.matches) <= page_size
        seen += [i for _t, i, _c in page.matches]
        cursor = page.next_cursor
        if cursor is None:
            return seen


@SETTINGS
@given(population=st.lists(periods, min_size=1, max_size=8), descending=st.booleans(),
       page_size=st.integers(1, 4), walked=st.booleans())
async def test_pages_sorted_on_a_date_with_several_values_follow_the_brute_force_order(
        tx, population, descending, page_size, walked):
    savepoint = await tx.conn.begin_nested()
    try:
        if walked:
            await tx.conn.execute(text(WALK))
        system = unique_system()
        stays_of = {await make(tx, encounter(system, n, stays)): stays for n, stays in enumerate(population)}

        seen = await read_all(tx, system, "-location-period" if descending else "location-period", page_size)

        assert seen == expected_order(stays_of, descending)
    finally:
        await savepoint.rollback()


def page_statement(resource_type: str, pairs: list[tuple[str, str]],
                   compartment: tuple[str, str] | None = None) -> tuple[str, dict]:
    request = parse_request([resource_type], pairs, strict=True)
    request.compartment = compartment
    statement = filters_sql(request, strict=True, terminology=TerminologyCache())
    return page_sql(request, statement), statement.sql.params


async def plan(tx, resource_type: str, pairs: list[tuple[str, str]]) -> str:
    sql, params = page_statement(resource_type, pairs)
    rows = (await tx.conn.execute(text("EXPLAIN (ANALYZE, COSTS OFF) " + sql), params)).all()
    return "\n".join(r[0] for r in rows)


def missing_branch(explained: str) -> str:
    """The top line of the statement of the resources without a value: the Limit under the one-time filter."""
    gated = explained.split("One-Time Filter", 1)[1]
    return next(line for line in gated.splitlines() if "->  Limit" in line)


async def test_a_full_page_of_walked_dates_never_runs_the_statement_of_the_resources_without_one(tx):
    system = unique_system()
    for n in range(3):
        await make(tx, encounter(system, n, [(DAYS[n], 0)]))
    await make(tx, encounter(system, 3, []))
    await tx.conn.execute(text(WALK))

    full = await plan(tx, "Encounter", [("identifier", f"{system}|"), ("_sort", "-location-period"),
                                        ("_count", "2")])
    short = await plan(tx, "Encounter", [("identifier", f"{system}|"), ("_sort", "-location-period"),
                                         ("_count", "5")])

    assert "ix_search_date_resource_type_param_high_resource_id" in full
    assert "never executed" in missing_branch(full) and "never executed" not in missing_branch(short)


async def test_an_ascending_walk_reads_the_index_of_the_start_of_each_date(tx):
    system = unique_system()
    await make(tx, encounter(system, 0, [(DAYS[0], 1)]))
    await tx.conn.execute(text(WALK))

    walked = await plan(tx, "Encounter", [("identifier", f"{system}|"), ("_sort", "location-period")])

    assert "ix_search_date_resource_type_param_low_resource_id" in walked


def test_a_single_date_key_on_one_type_is_walked_unless_a_condition_bounds_the_matches():
    walked = [("Encounter", [("_sort", "-date")]), ("Patient", [("gender", "female"), ("_sort", "birthdate")]),
              ("Task", [("status", "requested"), ("_sort", "authored-on")]),
              ("Observation", [("subject", "Group/g1"), ("_sort", "-date")]),
              ("Observation", [("performer:Organization.identifier", "urn:oid:2.16.340.1.1.9|H1"),
                               ("_sort", "-date")])]
    sorted_whole = [("Patient", [("_sort", "family")]), ("Patient", [("_sort", "birthdate,family")]),
                    ("Patient", [("_sort", "_lastUpdated")]), ("Observation", [("_sort", "code")]),
                    ("Encounter", [("patient", "p1"), ("_sort", "-date")]),
                    ("Observation", [("subject", "Patient/p1"), ("_sort", "-date")]),
                    ("Patient", [("identifier", "urn:oid:2.16.340.1.1.1|0801"), ("_sort", "birthdate")]),
                    ("Patient", [("_id", "p1,p2"), ("_sort", "birthdate")]),
                    ("Observation", [("subject:Patient.identifier", "urn:oid:2.16.340.1.1.1|0801"),
                                     ("_sort", "-date")])]
    for resource_type, pairs in walked:
        assert page_statement(resource_type, pairs)[0].startswith("WITH w AS MATERIALIZED"), pairs
    for resource_type, pairs in sorted_whole:
        assert not page_statement(resource_type, pairs)[0].startswith("WITH"), pairs


def test_a_search_in_a_patients_compartment_sorts_its_matches_and_one_in_a_practitioners_may_walk():
    pairs = [("_sort", "-date")]
    assert not page_statement("Observation", pairs, ("Patient", "p1"))[0].startswith("WITH")
    assert page_statement("Observation", pairs, ("Practitioner", "d1"))[0].startswith("WITH w AS MATERIALIZED")
