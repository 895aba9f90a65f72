"""Prefixed values (R4 search.html#prefix) as SQL conditions: dates with their precision, numbers with their
implicit range, and quantities (UCUM units compared in base units, ece.ucum)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from ece import ucum
from ece.dates import date_range
from ece.search.values import bad, split_prefix

if TYPE_CHECKING:
    from ece.search.clauses import Context


# R4 search.html#prefix as range operators over a row's closed span [low, high] (``date_span``), exact for every
# row with low <= high: eq is "within [s, e]", gt "reaches past e", ge "reaches past e or starts at s or later",
# and so on. search_date's GiST index answers them (migration 0007); "ne" has no such form.
_SPAN_TESTS = {"eq": ("<@ tstzrange({s}, {e}, '[]')",), "ap": ("&& tstzrange({s}, {e}, '()')",),
               "gt": ("&& tstzrange({e}, NULL, '()')",), "lt": ("&& tstzrange(NULL, {s}, '()')",),
               "ge": ("&& tstzrange({e}, NULL, '()')", "<@ tstzrange({s}, NULL, '[)')"),
               "le": ("&& tstzrange(NULL, {s}, '()')", "<@ tstzrange(NULL, {e}, '(]')"),
               "sa": ("<@ tstzrange({e}, NULL, '[)')",), "eb": ("<@ tstzrange(NULL, {s}, '(]')",)}
# A range that such a span overlaps whenever the prefix's test holds ("ne" has none), as its two ends, each
# (end of the search range [s, e) or None for unbounded, inclusive): an index's narrowing, not an exact test.
_SPAN_OVERLAPS = {"eq": (("s", True), ("e", True)), "ap": (("s", False), ("e", False)),
                  "gt": (("e", False), (None, False)), "ge": (("s", True), (None, False)),
                  "sa": (("e", True), (None, False)), "lt": ((None, False), ("s", False)),
                  "le": ((None, False), ("e", True)), "eb": ((None, False), ("s", True))}


@dataclass(frozen=True)
class DateValue:
    """A date search value (R4 search.html#date): its prefix, the bound SQL of its range [s, e), and that range."""

    prefix: str
    s: str
    e: str
    start: datetime
    end: datetime

    def condition(self, low: str, high: str, span: str | None = None, ordered: bool = False) -> str:
        """Whether the target [low, high) matches (R4 search.html#prefix). With the SQL of the row's indexed
        ``span``, written with range operators for the GiST index of search_date; the column comparisons
        remain for a row whose span is NULL (low > high), unless the parameter's rows are all ``ordered``
        (ece.indexing.IndexedParam.ordered_spans): the range tests alone then let the index answer by itself."""
        s, e = self.s, self.e
        eq = f"({low} >= {s} AND {high} <= {e})"
        exact = {"eq": eq, "ne": f"NOT {eq}", "gt": f"{high} > {e}", "lt": f"{low} < {s}",
                 # ge: above the search range, or within it; with low < high: "ends after it or starts in it".
                 "ge": f"({high} > {e} OR {low} >= {s})", "le": f"({low} < {s} OR {high} <= {e})",
                 "sa": f"{low} >= {e}", "eb": f"{high} <= {s}", "ap": f"({low} < {e} AND {high} > {s})"}[self.prefix]
        if span is None or self.prefix not in _SPAN_TESTS:
            return exact
        tests = [f"{span} {test.format(s=s, e=e)}" for test in _SPAN_TESTS[self.prefix]]
        return "(" + " OR ".join(tests if ordered else [*tests, f"({low} > {high} AND {exact})"]) + ")"

    def overlap_ends(self) -> OverlapEnds | None:
        """The range a matching row's span overlaps (``_SPAN_OVERLAPS``), as values; None for ne."""
        return _overlap_ends(self.prefix, self.start, self.end)


OverlapEnds = tuple[tuple[datetime | None, bool], tuple[datetime | None, bool]]


def _overlap_ends(prefix: str, start: datetime, end: datetime) -> OverlapEnds | None:
    if prefix not in _SPAN_OVERLAPS:
        return None
    values = {"s": start, "e": end, None: None}
    (low, low_in), (high, high_in) = _SPAN_OVERLAPS[prefix]
    return (values[low], low_in), (values[high], high_in)


def shared_overlap(ctx: Context, bounds: list[DateValue], span: str) -> str | None:
    """An index condition that several bounds on the same value imply (``birthdate=ge2004-06-16&birthdate=lt2005-
    06-16``). The span overlaps each bound's range, so it overlaps their intersection when that is not empty
    (intervals that meet pairwise share a point: Helly's theorem on the line): one GiST scan then reads the rows
    in the intersection, not every birth before the upper bound. Bounds that share no range each narrow on their
    own; None when none can (ne)."""
    ends = [e for e in (b.overlap_ends() for b in bounds) if e is not None]
    if not ends:
        return None
    lows = [low for (low, _high) in ends if low[0] is not None]
    highs = [high for (_low, high) in ends if high[0] is not None]
    # The tighter end: the later lower end (exclusive on a tie), the earlier upper end (exclusive on a tie).
    low = max(lows, key=lambda end: (end[0], not end[1])) if lows else (None, False)
    high = min(highs, key=lambda end: (end[0], end[1])) if highs else (None, False)
    if len(ends) == len(bounds) and not (low[0] is not None and high[0] is not None and (
            low[0] > high[0] or (low[0] == high[0] and not (low[1] and high[1])))):
        return _overlap(ctx, span, low, high)
    return " AND ".join(_overlap(ctx, span, *end) for end in ends)


def _overlap(ctx: Context, span: str, low: tuple[datetime | None, bool], high: tuple[datetime | None, bool]) -> str:
    brackets = ("[" if low[1] else "(") + ("]" if high[1] else ")")
    low_sql = "NULL" if low[0] is None else ctx.sql.bind(low[0])
    high_sql = "NULL" if high[0] is None else ctx.sql.bind(high[0])
    return f"{span} && tstzrange({low_sql}, {high_sql}, '{brackets}')"


def date_value(ctx: Context, value: str, raw_name: str) -> DateValue:
    prefix, start, end = _prefixed_range(value, raw_name)
    return DateValue(prefix, ctx.sql.bind(start), ctx.sql.bind(end), start, end)


def date_overlap_ends(value: str, raw_name: str) -> OverlapEnds | None:
    """The range every row matching the date ``value`` overlaps (``DateValue.overlap_ends``), nothing bound."""
    return _overlap_ends(*_prefixed_range(value, raw_name))


def _prefixed_range(value: str, raw_name: str) -> tuple[str, datetime, datetime]:
    prefix, body = split_prefix(value, raw_name)
    bounds = date_range(body)
    if bounds is None:
        raise bad(raw_name, f"fecha inválida / invalid date '{body[:40]}'")
    start, end = bounds
    if prefix == "ap":  # approximately: widen by 10% of the distance to now (at least a day)
        slack = max(abs(datetime.now(UTC) - start) / 10, timedelta(days=1))
        start, end = start - slack, end + slack
    return prefix, start, end


def date_condition(ctx: Context, low: str, high: str, value: str, raw_name: str, span: str | None = None,
                   ordered: bool = False) -> str:
    return date_value(ctx, value, raw_name).condition(low, high, span, ordered)


def date_span(x: str) -> str:
    """The expression of search_date's GiST index (migration 0007) for the row ``x``: NULL when low > high (a
    Period written with its end before its start), which no range could hold."""
    return f"(CASE WHEN {x}.low <= {x}.high THEN tstzrange({x}.low, {x}.high, '[]') END)"


@dataclass(frozen=True)
class NumberValue:
    """A number search value (R4 search.html#number): its prefix, the number, and the range it stands for: the
    implicit precision (``100`` is [99.5, 100.5)), or within 10% of the number for ``ap``."""

    prefix: str
    number: Decimal
    low: Decimal
    high: Decimal

    def converted(self, convert: Callable[[Decimal], Decimal]) -> NumberValue:
        """The same value in other units; ``convert`` increases, as every unit conversion does."""
        return NumberValue(self.prefix, convert(self.number), convert(self.low), convert(self.high))

    def condition(self, bind: Callable[[Any], str], column: str) -> str:
        if self.prefix == "ap":
            return f"({column} >= {bind(self.low)} AND {column} <= {bind(self.high)})"
        exact = bind(self.number)
        if self.prefix in ("eq", "ne"):
            eq = f"({column} >= {bind(self.low)} AND {column} < {bind(self.high)})"
            return eq if self.prefix == "eq" else f"NOT {eq}"
        return {"gt": f"{column} > {exact}", "lt": f"{column} < {exact}", "ge": f"{column} >= {exact}",
                "le": f"{column} <= {exact}", "sa": f"{column} > {exact}", "eb": f"{column} < {exact}"}[self.prefix]


def number_value(value: str, raw_name: str) -> NumberValue:
    prefix, body = split_prefix(value, raw_name)
    try:
        number = Decimal(body)
    except InvalidOperation:
        raise bad(raw_name, f"número inválido / invalid number '{body[:40]}'") from None
    if not number.is_finite():
        raise bad(raw_name, f"número inválido / invalid number '{body[:40]}'")
    if prefix == "ap":
        slack = abs(number) / 10
        return NumberValue(prefix, number, number - slack, number + slack)
    exponent = number.as_tuple().exponent
    half = Decimal(5).scaleb(int(exponent) - 1) if isinstance(exponent, int) else Decimal(0)
    return NumberValue(prefix, number, number - half, number + half)


def quantity_condition(ctx: Context, x: str, value: str, raw_name: str, columns: str = "") -> str:
    """``[prefix]number|system|code`` (R4 search.html#quantity) on row ``x``'s quantity columns (``columns`` =
    "q2_" for the second part of a composite, which keeps no unit). With the UCUM system and a code this server
    reads (ece.ucum), values compare in base units: ``gt5|http://unitsofmeasure.org|mg/dL`` finds 60 mg/L, and the
    range of the number's precision is converted with it. A row without a canonical unit (written before
    migration 0010 and not yet reindexed) still matches by the code as written. Otherwise system and code must
    match as written; a code without a system may also match the unit as written."""
    number, _, rest = value.partition("|")
    system, _, code = rest.partition("|")
    searched, bind, column = number_value(number, raw_name), ctx.sql.bind, f"{x}.{columns}"
    conditions = [searched.condition(bind, f"{column}value")]
    if system:
        conditions.append(f"{column}system = {bind(system)}")
    if code:
        bound = bind(code)
        if system or columns:
            conditions.append(f"{column}code = {bound}")
        else:
            conditions.append(f"({x}.code = {bound} OR {x}.unit = {bound})")
    as_written = "(" + " AND ".join(conditions) + ")"
    convertible = system == ucum.UCUM_SYSTEM and ucum.within_magnitude(searched.number)
    conversion = ucum.conversion(code) if convertible else None
    if conversion is None:
        return as_written
    canonical = searched.converted(conversion.canonical).condition(bind, f"{column}canonical_value")
    return (f"(({column}canonical_code = {bind(conversion.unit)} AND {canonical}) "
            f"OR ({column}canonical_code IS NULL AND {as_written}))")
