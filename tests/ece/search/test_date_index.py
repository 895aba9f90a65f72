"""Date conditions also carry an overlap with the row's span for search_date's GiST index (migration 0007): it
must never drop a row that the prefix rules of R4 search.html#prefix (3.1.1.4.5) match over the stored
[low, high), not even for a Period written with its end before its start (low after high)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ece.dates import date_range
from ece.search.query import filters_sql, parse_request
from ece.search.terminology import TerminologyCache
from tests.ece.search.helpers import found, make, unique_system

PREFIXES = ["eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap"]
# Month-precision search values before, around and after the stored periods.
MONTHS = ["2012-12", "2013-01", "2013-03", "2013-06", "2013-07"]
PERIODS = {  # key: (Period, its stored [low, high): start at its precision, the end of the end's precision)
    "ordinary": ({"start": "2013-01-05", "end": "2013-03-10"},
                 (datetime(2013, 1, 5, tzinfo=UTC), datetime(2013, 3, 11, tzinfo=UTC))),
    "inverted": ({"start": "2013-06-10", "end": "2013-01-05"},
                 (datetime(2013, 6, 10, tzinfo=UTC), datetime(2013, 1, 6, tzinfo=UTC))),
    "one-day": ({"start": "2013-03-01", "end": "2013-03-01"},
                (datetime(2013, 3, 1, tzinfo=UTC), datetime(2013, 3, 2, tzinfo=UTC))),
}


def month(value: str) -> tuple[datetime, datetime]:
    year, number = (int(p) for p in value.split("-"))
    start = datetime(year, number, 1, tzinfo=UTC)
    return start, datetime(year + number // 12, number % 12 + 1, 1, tzinfo=UTC)


def matches(prefix: str, search: tuple[datetime, datetime], target: tuple[datetime, datetime]) -> bool:
    (s, e), (low, high) = search, target
    if prefix == "ap":
        slack = max(abs(datetime.now(UTC) - s) / 10, timedelta(days=1))
        s, e = s - slack, e + slack
    eq = low >= s and high <= e
    return {"eq": eq, "ne": not eq, "gt": high > e, "lt": low < s, "ge": high > e or low >= s,
            "le": low < s or high <= e, "sa": low >= e, "eb": high <= s, "ap": low < e and high > s}[prefix]


@pytest.mark.parametrize("prefix", PREFIXES)
async def test_every_prefix_finds_the_periods_its_rule_matches_even_inverted_ones(tx, prefix):
    system = unique_system()
    ids = {}
    for key, (period, _span) in PERIODS.items():
        ids[key] = await make(tx, {"resourceType": "Encounter", "identifier": [{"system": system, "value": key}],
                                   "status": "finished", "class": {"code": "AMB"}, "period": period})
    for value in MONTHS:
        want = {ids[key] for key, (_p, span) in PERIODS.items() if matches(prefix, month(value), span)}
        assert await found(tx, "Encounter", system, ("date", prefix + value)) == want, value


@pytest.mark.parametrize("first", PREFIXES)
@pytest.mark.parametrize("second", ["lt", "le", "eb", "ne"])
async def test_two_bounds_on_one_period_find_what_both_rules_match_even_inverted_ones(tx, first, second):
    """Two values of a single-valued date are also checked together on one index row (ece.search.query)."""
    system = unique_system()
    ids = {}
    for key, (period, _span) in PERIODS.items():
        ids[key] = await make(tx, {"resourceType": "Encounter", "identifier": [{"system": system, "value": key}],
                                   "status": "finished", "class": {"code": "AMB"}, "period": period})
    for lower, upper in (("2012-12", "2013-03"), ("2013-01", "2013-07"), ("2013-03", "2013-06")):
        want = {ids[key] for key, (_p, span) in PERIODS.items()
                if matches(first, month(lower), span) and matches(second, month(upper), span)}
        got = await found(tx, "Encounter", system, ("date", first + lower), ("date", second + upper))
        assert got == want, (lower, upper)


BIRTH_DATES = {"day": "2013-01-05", "month": "2013-03", "year": "2013", "later": "2013-07-01"}


def birth_span(value: str) -> tuple[datetime, datetime]:
    span = date_range(value)
    assert span is not None
    return span


@pytest.mark.parametrize("prefix", PREFIXES)
async def test_a_date_without_periods_is_found_by_its_range_tests_alone(tx, prefix):
    """Patient.birthDate is never a Period (ece.indexing.IndexedParam.ordered_spans): its condition leaves out
    the column tests kept for inverted Periods, and must still match exactly what the prefix rule matches."""
    system = unique_system()
    ids = {key: await make(tx, {"resourceType": "Patient", "identifier": [{"system": system, "value": key}],
                                "birthDate": value})
           for key, value in BIRTH_DATES.items()}
    for value in MONTHS:
        want = {ids[key] for key, born in BIRTH_DATES.items() if matches(prefix, month(value), birth_span(born))}
        assert await found(tx, "Patient", system, ("birthdate", prefix + value)) == want, value


@pytest.mark.parametrize("first", PREFIXES)
@pytest.mark.parametrize("second", ["lt", "le", "eb", "ne"])
async def test_two_bounds_on_a_date_without_periods_find_what_both_rules_match(tx, first, second):
    system = unique_system()
    ids = {key: await make(tx, {"resourceType": "Patient", "identifier": [{"system": system, "value": key}],
                                "birthDate": value})
           for key, value in BIRTH_DATES.items()}
    for lower, upper in (("2012-12", "2013-03"), ("2013-01", "2013-07"), ("2013-03", "2013-06")):
        want = {ids[key] for key, born in BIRTH_DATES.items()
                if matches(first, month(lower), birth_span(born)) and matches(second, month(upper), birth_span(born))}
        got = await found(tx, "Patient", system, ("birthdate", first + lower), ("birthdate", second + upper))
        assert got == want, (lower, upper)


def condition_sql(resource_types: list[str], *pairs: tuple[str, str]) -> str:
    request = parse_request(resource_types, list(pairs), strict=True)
    return filters_sql(request, strict=True, terminology=TerminologyCache()).select("r.id")


def test_only_a_parameter_that_may_hold_periods_keeps_the_tests_for_inverted_ones():
    assert "low > " not in condition_sql(["Patient"], ("birthdate", "ge2000"), ("birthdate", "lt2001"))
    assert "low > " not in condition_sql(["Patient"], ("birthdate", "2000"))
    assert "low > " in condition_sql(["Encounter"], ("date", "ge2000"), ("date", "lt2001"))
    assert "low > " in condition_sql(["Encounter"], ("date", "2000"))


def test_a_system_search_keeps_the_tests_for_inverted_periods_when_one_type_may_hold_them():
    """Composition.date is a dateTime, Encounter.date a Period: searched together, the Encounters' inverted
    Periods must still be found."""
    assert "low > " not in condition_sql(["Composition"], ("date", "ge2000"))
    assert "low > " in condition_sql(["Composition", "Encounter"], ("date", "ge2000"))
