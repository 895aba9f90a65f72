"""Property-based tests: the engine's answers against a brute-force evaluator written from R4 search.html.

The evaluator implements, independently of ``ece``:
- §3.1.1.4.5 prefixes over half-open ranges. The target [lo, hi) is the range of the stored date at its
  precision; the search range [s, e) that of the search value. ``eq``: [s, e) contains [lo, hi); ``ne``: it
  does not; ``gt``: the range above the search value, [e, +inf), overlaps the target (hi > e); ``lt``: the
  range below, (-inf, s), overlaps it (lo < s); ``ge``/``le``: those or ``eq``; ``sa``: no overlap and the range
  above contains the target (lo >= e); ``eb``: no overlap and the range below contains it (hi <= s);
  ``ap``: the target overlaps the search range widened by 10% of the gap between now and the date.
- §3.1.1.4.7 date ranges by precision (year, month, day, minute, second; offsets applied, UTC otherwise).
- §3.1.1.4.8 string: case- and accent-insensitive, matching the start of the value; the parts of a family
  name are searched independently ("Pérez Zelaya" is found by "zelaya").
- §3.1.1.4.10 token on a code; §3.1.1.4.17 (combining): a comma is OR, a repeated parameter is AND.
- §3.1.1.5.1 and §3.1.1.5.3: a sorted search read page by page gives every match once, in sort order.

Each example writes its patients inside a SAVEPOINT of the test's rolled-back transaction and rolls it back,
so examples never see each other's data; queries are also scoped by an identifier system of the example.
"""

from __future__ import annotations

import unicodedata
import uuid
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ece import search, store

FAMILIES = ["Pérez", "Perez", "Peña", "Pena", "López", "Núñez", "Álvarez", "Zelaya", "Mejía"]
DOUBLE_FAMILIES = ["Pérez Zelaya", "Zelaya Álvarez", "López Peña"]
GENDERS = ["female", "male", "other", "unknown"]
PREFIXES = ["", "eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap"]
OFFSETS = {"Z": 0, "-06:00": -6 * 60, "+05:30": 5 * 60 + 30}
SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
SORT_SETTINGS = settings(SETTINGS, max_examples=40)


# --- dates: a structured value, its FHIR text and its range ------------------------------------------

# Few years and days, at the edges of months and years, and clock times that an offset moves across
# midnight UTC: so search and target ranges often share a boundary, where the prefixes differ.
YEARS = st.sampled_from([1987, 1990, 1991])
MONTH_DAYS = st.sampled_from([(1, 1), (1, 2), (1, 31), (2, 28), (5, 2), (12, 31)])
dates = st.builds(lambda year, month_day, precision: (year, *month_day, precision),
                  YEARS, MONTH_DAYS, st.sampled_from(["year", "month", "day"]))
instants = st.builds(lambda year, month_day, hour, minute, second, precision, zone:
                     (year, *month_day, hour, minute, second, precision, zone),
                     YEARS, MONTH_DAYS, st.sampled_from([0, 5, 18, 23]), st.sampled_from([0, 30, 59]),
                     st.sampled_from([0, 59]), st.sampled_from(["minute", "second"]), st.sampled_from(sorted(OFFSETS)))


def date_text(value: tuple) -> str:
    year, month, day, precision = value
    return {"year": f"{year:04d}", "month": f"{year:04d}-{month:02d}",
            "day": f"{year:04d}-{month:02d}-{day:02d}"}[precision]


def date_span(value: tuple) -> tuple[datetime, datetime]:
    year, month, day, precision = value
    if precision == "year":
        return datetime(year, 1, 1, tzinfo=UTC), datetime(year + 1, 1, 1, tzinfo=UTC)
    if precision == "month":
        start = datetime(year, month, 1, tzinfo=UTC)
        return start, datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)
    start = datetime(year, month, day, tzinfo=UTC)
    return start, start + timedelta(days=1)


def neighbour(value: tuple, step: int) -> tuple:
    """The date ``step`` units (of its own precision) away: the period just before or just after it."""
    year, month, day, precision = value
    if precision == "year":
        return year + step, month, day, precision
    if precision == "month":
        index = year * 12 + month - 1 + step
        return index // 12, index % 12 + 1, day, precision
    moved = datetime(year, month, day) + timedelta(days=step)
    return moved.year, moved.month, moved.day, precision


def instant_text(value: tuple) -> str:
    year, month, day, hour, minute, second, precision, zone = value
    clock = f"{hour:02d}:{minute:02d}" + (f":{second:02d}" if precision == "second" else "")
    return f"{year:04d}-{month:02d}-{day:02d}T{clock}{zone}"


def instant_span(value: tuple) -> tuple[datetime, datetime]:
    year, month, day, hour, minute, second, precision, zone = value
    local = datetime(year, month, day, hour, minute, second if precision == "second" else 0, tzinfo=UTC)
    start = local - timedelta(minutes=OFFSETS[zone])
    return start, start + (timedelta(seconds=1) if precision == "second" else timedelta(minutes=1))


def prefix_matches(prefix: str, search: tuple[datetime, datetime], target: tuple[datetime, datetime]) -> bool:
    (s, e), (lo, hi) = search, target
    contains = s <= lo and hi <= e
    above, below = hi > e, lo < s
    if prefix == "ap":
        slack = abs(datetime.now(UTC) - s) / 10
        s, e = s - slack, e + slack
        return lo < e and s < hi
    return {"": contains, "eq": contains, "ne": not contains, "gt": above, "lt": below, "ge": above or contains,
            "le": below or contains, "sa": lo >= e, "eb": hi <= s}[prefix]


# --- strings -----------------------------------------------------------------------------------------


def normalized(text: str) -> str:
    """Case- and accent-insensitive form (search.html#string: base characters only)."""
    return "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn").lower()


# --- generated data and queries ----------------------------------------------------------------------

def people(families: list[str]) -> st.SearchStrategy:
    return st.lists(st.fixed_dictionaries({"gender": st.sampled_from(GENDERS) | st.none(),
                                           "family": st.sampled_from(families) | st.none(),
                                           "birth": dates | st.none()}), min_size=2, max_size=10)


@st.composite
def family_values(draw) -> tuple[str, list[str]]:
    parts = []
    for family in draw(st.lists(st.sampled_from(FAMILIES + DOUBLE_FAMILIES), min_size=1, max_size=2)):
        part = family[: draw(st.integers(1, len(family)))]
        parts.append(draw(st.sampled_from([part, part.upper(), part.lower(), normalized(part)])))
    return ",".join(parts), parts


@st.composite
def birthdate_values(draw, births: list[tuple]) -> tuple[str, list[tuple[str, tuple[datetime, datetime], str]]]:
    """Search dates drawn from the stored birth dates half of the time (at any precision), else anywhere."""
    values = []
    for _ in range(draw(st.integers(1, 2))):
        prefix = draw(st.sampled_from(PREFIXES))
        if births and draw(st.booleans()):
            year, month, day, precision = draw(st.sampled_from(births))
            if draw(st.booleans()):
                value = neighbour((year, month, day, draw(st.sampled_from(["year", "month", "day"]))),
                                  draw(st.sampled_from([0, -1, 1])))
                values.append((prefix + date_text(value), (prefix, date_span(value), date_text(value))))
                continue
            clock = draw(instants)
            value = (year, month, day, *clock[3:])
        else:
            value = draw(dates | instants)
        text, span = (date_text, date_span) if len(value) == 4 else (instant_text, instant_span)
        values.append((prefix + text(value), (prefix, span(value), text(value))))
    return ",".join(v for v, _ in values), [m for _, m in values]


def queries(births: list[tuple]) -> st.SearchStrategy:
    clauses = st.one_of(
        st.lists(st.sampled_from(GENDERS), min_size=1, max_size=2, unique=True).map(
            lambda g: ("gender", ",".join(g), g)),
        family_values().map(lambda f: ("family", f[0], f[1])),
        birthdate_values(births).map(lambda b: ("birthdate", b[0], b[1])),
    )
    return st.lists(st.lists(clauses, min_size=1, max_size=2), min_size=1, max_size=4)


def expected(person: dict, clause: tuple) -> bool:
    name, _value, meaning = clause
    if name == "gender":
        return person["gender"] in meaning
    if name == "family":
        if person["family"] is None:
            return False
        words = normalized(person["family"]).split()
        return any(" ".join(words[i:]).startswith(normalized(p)) for p in meaning for i in range(len(words)))
    if person["birth"] is None:
        return False
    return any(prefix_matches(prefix, span, date_span(person["birth"])) for prefix, span, _text in meaning)


def resource(system: str, index: int, person: dict) -> dict:
    data: dict = {"resourceType": "Patient", "identifier": [{"system": system, "value": f"0801199{index:06d}"}]}
    if person["gender"]:
        data["gender"] = person["gender"]
    if person["family"]:
        data["name"] = [{"family": person["family"], "given": ["Ana"]}]
    if person["birth"]:
        data["birthDate"] = date_text(person["birth"])
    return data


def checks_of_each_clause(searches: list[list[tuple]]) -> list[list[tuple]]:
    """Each clause alone; a single birthdate value also with every other prefix."""
    out = []
    for name, value, meaning in (clause for conjunction in searches for clause in conjunction):
        out.append([(name, value, meaning)])
        if name == "birthdate" and len(meaning) == 1:
            _prefix, span, body = meaning[0]
            out += [[(name, prefix + body, [(prefix, span, body)])] for prefix in PREFIXES]
    return out


async def ids(tx, system: str, *pairs: tuple[str, str]) -> list[str]:
    page = await search.search(tx.conn, resource_types=["Patient"], pairs=[("identifier", f"{system}|"), *pairs])
    return [i for _t, i, _c in page.matches]


@SETTINGS
@given(population=people(FAMILIES + DOUBLE_FAMILIES), data=st.data())
async def test_search_agrees_with_the_brute_force_evaluator(tx, population, data):
    searches = data.draw(queries([p["birth"] for p in population if p["birth"]]), label="searches")
    savepoint = await tx.conn.begin_nested()
    try:
        system = f"urn:ece-test:{uuid.uuid4().hex}"
        written = [(await store.create(tx, data=resource(system, n, p))).id for n, p in enumerate(population)]
        for conjunction in [*checks_of_each_clause(searches), *searches]:
            want = {rid for rid, person in zip(written, population, strict=True)
                    if all(expected(person, clause) for clause in conjunction)}
            got = await ids(tx, system, *[(name, value) for name, value, _m in conjunction], ("_count", "100"))
            assert set(got) == want, (conjunction, population)
    finally:
        await savepoint.rollback()


@SORT_SETTINGS
@given(population=people(FAMILIES), descending=st.booleans(), page_size=st.integers(1, 4))
async def test_sorted_pages_are_complete_disjoint_and_in_order(tx, population, descending, page_size):
    savepoint = await tx.conn.begin_nested()
    try:
        system = f"urn:ece-test:{uuid.uuid4().hex}"
        family_of = {}
        for n, person in enumerate(population):
            family_of[(await store.create(tx, data=resource(system, n, person))).id] = person["family"]
        sort = ("_sort", "-family" if descending else "family")

        seen, cursor = [], None
        while True:
            paging = [("_count", str(page_size)), *([("_cursor", cursor)] if cursor else [])]
            page = await search.search(tx.conn, resource_types=["Patient"],
                                       pairs=[("identifier", f"{system}|"), sort, *paging])
            assert len(page.matches) <= page_size
            seen += [i for _t, i, _c in page.matches]
            cursor = page.next_cursor
            if cursor is None:
                break

        assert sorted(seen) == sorted(family_of)
        named = [normalized(family_of[i]) for i in seen if family_of[i] is not None]
        assert named == sorted(named, reverse=descending)
    finally:
        await savepoint.rollback()
