"""FHIR search (R4 search.html): the public API of the read path.

``search`` answers one page of matches (plus ``_include``/``_revinclude`` resources), ``matching_ids``
serves conditional interactions, ``searchable`` feeds the CapabilityStatement.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import parse_qsl, urlencode

from sqlalchemy.ext.asyncio import AsyncConnection

from ece.dates import date_range
from ece.fulltext import PARAMETERS as FULL_TEXT_PARAMETERS
from ece.fulltext import definition_url, supports
from ece.indexing import indexed_params, parameter_url
from ece.search.clauses import Sql, Visibility
from ece.search.include import included
from ece.search.query import (
    Cursor,
    SearchRequest,
    Statement,
    encode_cursor,
    filters_sql,
    page_cursor,
    page_sql,
    parse_request,
)
from ece.search.summary import shaped
from ece.search.terminology import TerminologyCache
from ece.search.values import bad
from ece.sqltext import fetch_rows

__all__ = ["SearchPage", "Sql", "Visibility", "search", "matching_ids", "searchable", "canonical_criteria", "to_query",
           "parse_instant", "SearchRequest"]


@dataclass(frozen=True)
class SearchPage:
    matches: list[tuple[str, str, bytes]]  # (resource type, id, content)
    included: list[tuple[str, str, bytes]]
    total: int | None
    next_cursor: str | None
    used: list[tuple[str, str]]
    count: int


async def search(conn: AsyncConnection, *, resource_types: list[str], pairs: list[tuple[str, str]],
                 strict: bool = False, compartment: tuple[str, str] | None = None,
                 visible: Visibility | None = None) -> SearchPage:
    """``visible`` (ece.access) limits every row the search touches: matches, totals, includes, chains, _has."""
    request = parse_request(resource_types, pairs, strict=strict)
    request.compartment = compartment
    request.visible = visible
    terminology = TerminologyCache()
    await terminology.preload(conn, request.filters)
    statement = filters_sql(request, strict=strict, terminology=terminology)
    if request.summary == "count" or request.count == 0:
        total = await _total(conn, request, statement, page_matches=None, when_cheap=False)
        return SearchPage([], [], total, None, request.used, request.count)
    cursor = page_cursor(request)
    count_scan = page_count_scan(request, statement, cursor)
    rows = await fetch_rows(conn, page_sql(request, statement, cursor, count_scan=count_scan), statement.sql.params,
                            generic_plan=statement.generic_plan)
    more = len(rows) > request.count
    rows = rows[: request.count]
    if count_scan is not None:
        total = rows[0][-1] if more else len(rows)  # the page statement's count column, the same on every row
        total = total if total is not None and total <= DEFAULT_COUNT_CAP else None
    elif cursor is not None and request.total is None:
        total = cursor.total  # the first page's default total, carried: not planned and counted again per page
    else:
        whole = cursor is None and not more  # this page holds every match
        total = await _total(conn, request, statement, page_matches=len(rows) if whole else None,
                             when_cheap=not statement.bounded)
    matches = [(r[0], r[1], r[2].encode()) for r in rows]
    next_cursor = None
    if more:
        last = rows[-1]
        next_cursor = encode_cursor(Cursor(list(last[3:3 + len(request.sort)]), last[0], last[1], total))
    extra = await included(conn, request, matches)
    if request.summary or request.elements:
        matches = [(t, i, shaped(t, c, request.summary, request.elements)) for t, i, c in matches]
        # _elements shapes the matches only; included resources come whole (R4 search.html#elements).
        extra = [(t, i, shaped(t, c, request.summary, None)) for t, i, c in extra]
    return SearchPage(matches, extra, total, next_cursor, request.used, request.count)


# Without an explicit _total, matches are counted up to this many; a larger set gets no Bundle.total (it is
# optional, R4 bundle.html) rather than a count that would cost more than the page itself.
DEFAULT_COUNT_CAP = 1000
# ... and only when the planner expects that count to cost at most this much (its units: about 5 µs each on the
# bench machine, so some 10 ms). Observation?code=..&date=ge.. on 8k patients estimates 40,000 to 60,000 and
# takes 200 ms to reach the cap, for a page that walks 2,000 rows in 7 ms. Later pages carry the first page's
# total in their cursor and count nothing.
COUNT_COST_LIMIT = 2000.0
# A count made in the page's statement (``page_count_scan``) is made when the condition has at most this many
# index rows (it reads one more to know), of the distinct resources among them. A resource can match on several
# rows (a Patient has about six ``name`` rows, one or two of which a prefix matches), so such a search may go
# without the total of a few hundred matches that several rows each bring past the cap. Reading more was dearer
# than the planner's check it replaced: at 64,000 patients, 3,095 rows of ``name=hern`` took 3.2 ms to count,
# for no total in the end.
COUNT_SCAN_CAP = DEFAULT_COUNT_CAP


async def _total(conn: AsyncConnection, request: SearchRequest, statement, *, page_matches: int | None,
                 when_cheap: bool) -> int | None:
    """``_total`` (R4 search.html#total): ``accurate`` counts every match, ``estimate`` asks the planner,
    ``none`` skips it. By default a page that holds every match gives the total; otherwise matches are counted
    up to a cap, and, ``when_cheap``, only if the planner expects that count to be cheap."""
    mode = request.total
    if request.summary == "count" and mode in (None, "none"):
        mode = "accurate"
    if mode == "none":
        return None
    if mode == "estimate":
        plan = await _scalar(conn, "EXPLAIN (FORMAT JSON) " + statement.matches(),
                             statement.sql.params)
        return int(plan[0]["Plan"]["Plan Rows"])
    if mode == "accurate":
        return await _scalar(conn, count_sql(statement), statement.sql.params)
    if page_matches is not None:
        return page_matches if page_matches <= DEFAULT_COUNT_CAP else None
    capped_sql = count_sql(statement, capped=True)
    params = {**statement.sql.params, "count_cap": DEFAULT_COUNT_CAP + 1}
    if when_cheap:
        plan = await _scalar(conn, f"EXPLAIN (FORMAT JSON) {capped_sql}", params)
        if plan[0]["Plan"]["Total Cost"] > COUNT_COST_LIMIT:
            return None
    capped = await _scalar(conn, capped_sql, params)
    return capped if capped <= DEFAULT_COUNT_CAP else None


def page_count_scan(request: SearchRequest, statement: Statement, cursor: Cursor | None) -> int | None:
    """``page_sql``'s ``count_scan`` when the first page's default total is counted by the page's own statement:
    for a search on one index condition, whose count reads at most ``COUNT_SCAN_CAP`` + 1 of that condition's
    index rows, a cost bounded by construction. Other searches (None) keep the planner's check and a statement of
    their own (``_total``): their count walks resources through every condition and can be far dearer. So does a
    bounded search (an identifier, a patient's resources: ``Statement.bounded``), without the check: its page
    nearly always holds every match and then gives the total with no count, and the count column would double
    the planning of a page whose execution costs less than that planning."""
    return COUNT_SCAN_CAP if cursor is None and request.total is None and statement.repeats \
        and not statement.bounded else None


def count_sql(statement: Statement, *, capped: bool = False) -> str:
    """The count of a search's matches; ``capped``: of the first ``:count_cap`` only."""
    return f"SELECT count(*) FROM ({statement.matches()}{' LIMIT :count_cap' if capped else ''}) m"


async def _scalar(conn: AsyncConnection, sql: str, params: dict):
    return (await fetch_rows(conn, sql, params))[0][0]


async def matching_ids(conn: AsyncConnection, *, resource_type: str, query: str, limit: int) -> list[str]:
    """Ids matching a conditional query (``identifier=sys|1``). Unknown parameters are refused: ignoring one
    would widen the match (R4 http.html#ccreate)."""
    pairs = parse_qsl(query.lstrip("?"), keep_blank_values=True)
    if not pairs:
        raise bad("criteria", "criterio vacío / empty criteria")
    request = parse_request([resource_type], pairs, strict=True)
    terminology = TerminologyCache()
    await terminology.preload(conn, request.filters)
    statement = filters_sql(request, strict=True, terminology=terminology)
    statement.sql.params["limit"] = limit
    rows = await fetch_rows(conn, statement.matches() + " ORDER BY r.id LIMIT :limit",
                            statement.sql.params)
    return [r[0] for r in rows]


def searchable(resource_type: str) -> list[tuple[str, str, str]]:
    """(name, type, definition URL) of every parameter a client can use on ``resource_type``."""
    return [(name, kind, parameter_url(resource_type, name)) for name, kind in (("_id", "token"),
                                                                             ("_lastUpdated", "date"))] + \
        [(name, "string", definition_url(name)) for name in FULL_TEXT_PARAMETERS if supports(resource_type, name)] + \
        [(p.name, p.type, parameter_url(resource_type, p.name)) for p in indexed_params(resource_type)]


def canonical_criteria(query: str) -> str:
    """A stable form of a conditional query, so equal criteria lock the same key."""
    return urlencode(sorted(parse_qsl(query.lstrip("?"), keep_blank_values=True)))


def to_query(pairs: list[tuple[str, str]]) -> str:
    return urlencode(pairs)


def parse_instant(value: str, parameter: str) -> datetime:
    bounds = date_range(value)
    if bounds is None:
        raise bad(parameter, f"instante inválido / invalid instant '{value[:40]}'")
    return bounds[0]
