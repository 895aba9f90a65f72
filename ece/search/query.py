"""Parsing a search request and assembling its SQL (R4 search.html): filters, ``_sort``, keyset paging,
``_total``, system search (``_type``) and compartments.

Paging is by keyset: the ``next`` link carries the sort values and id of the last row, so page 1,000
costs what page 1 costs and stays stable while resources are written.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson

from ece.compartments import compartment_links
from ece.errors import BadRequest
from ece.indexing import indexed_param, single_valued
from ece.limits import LIMITS
from ece.resource_types import is_served
from ece.search.clauses import (
    Condition,
    Context,
    Sql,
    Terminology,
    UnknownParameter,
    Visibility,
    clause,
    lookup,
    own_rows,
)
from ece.search.prefixes import date_span, date_value, shared_overlap
from ece.search.values import bad
from ece.search.walk import page_sql as walk_page_sql
from ece.search.walk import walk_range

RESULT_PARAMETERS = {"_count", "_total", "_cursor", "_format", "_pretty", "_sort", "_summary", "_elements",
                     "_include", "_revinclude", "_type"}
SUMMARY_MODES = ("true", "false", "text", "data", "count")
# Sort expression per parameter type: the smallest value ascending, the largest descending (R4 search.html#sort).
# Strings sort by whole values (folded), never by the word-start rows that names also get.
_SORT_COLUMNS = {"date": ("search_date", "low", "high", "timestamptz"),
                 "string": ("search_string", "value", "value", "text"),
                 "token": ("search_token", "code", "code", "text"),
                 "number": ("search_number", "value", "value", "numeric"),
                 "quantity": ("search_quantity", "value", "value", "numeric"),
                 "reference": ("search_reference", "target_id", "target_id", "text"),
                 "uri": ("search_uri", "value", "value", "text")}
# Keyset comparisons need a value for rows without one: they sort last in both directions.
_LAST = {"timestamptz": ("'infinity'::timestamptz", "'-infinity'::timestamptz"),
         "numeric": ("'Infinity'::numeric", "'-Infinity'::numeric"), "text": ("chr(1114111)", "''")}


@dataclass(frozen=True)
class Walk:
    """Where a date sort key's values lie in key order: the ``column`` (``low`` ascending, ``high`` descending) of
    the search_date rows of ``param``, which an index keeps in order (migration 0014); ``single``: at most one
    row per resource."""

    column: str
    param: str
    single: bool


@dataclass
class SortKey:
    name: str
    descending: bool
    expression: str = ""
    sql_type: str = "text"
    walk: Walk | None = None


@dataclass
class Include:
    source_type: str
    param: str  # "*" for every reference parameter
    target_type: str | None
    iterate: bool


@dataclass
class SearchRequest:
    resource_types: list[str]
    filters: list[tuple[str, str]] = field(default_factory=list)
    used: list[tuple[str, str]] = field(default_factory=list)
    sort: list[SortKey] = field(default_factory=list)
    count: int = 20
    cursor: str | None = None
    total: str | None = None
    summary: str | None = None
    elements: list[str] | None = None
    includes: list[Include] = field(default_factory=list)
    revincludes: list[Include] = field(default_factory=list)
    compartment: tuple[str, str] | None = None
    visible: Visibility | None = None


def parse_request(resource_types: list[str], pairs: list[tuple[str, str]], *, strict: bool) -> SearchRequest:
    request = SearchRequest(resource_types, count=LIMITS.default_page_size)
    for raw_name, value in pairs:
        name = raw_name.partition(":")[0]
        if name in RESULT_PARAMETERS:
            _result_parameter(request, raw_name, value)
            if name not in ("_cursor", "_type"):
                request.used.append((raw_name, value))
            continue
        if value == "":  # an empty parameter is ignored (R4 search.html#errors)
            continue
        request.filters.append((raw_name, value))
    return request


def _result_parameter(request: SearchRequest, raw_name: str, value: str) -> None:
    name, _, modifier = raw_name.partition(":")
    if name == "_count":
        if not value.isdigit():
            raise bad(name, "debe ser un entero no negativo / must be a non-negative integer")
        request.count = min(int(value), LIMITS.max_page_size)
    elif name == "_cursor":
        request.cursor = value
    elif name == "_total":
        if value not in ("none", "estimate", "accurate"):
            raise bad(name, "valores admitidos / allowed values: none, estimate, accurate")
        request.total = value
    elif name == "_summary":
        if value not in SUMMARY_MODES:
            raise bad(name, "valores admitidos / allowed values: " + ", ".join(SUMMARY_MODES))
        request.summary = value
    elif name == "_elements":
        request.elements = [e.strip() for e in value.split(",") if e.strip()]
    elif name == "_sort":
        request.sort = [_sort_key(request.resource_types, part) for part in value.split(",") if part]
    elif name in ("_include", "_revinclude"):
        if modifier not in ("", "iterate", "recurse"):
            raise bad(raw_name, f"modificador no admitido / unsupported modifier ':{modifier}'")
        include = _include(value, raw_name, iterate=bool(modifier))
        (request.includes if name == "_include" else request.revincludes).append(include)


def _sort_key(resource_types: list[str], part: str) -> SortKey:
    descending = part.startswith("-")
    name = part.lstrip("-")
    if name in ("_id", "_lastUpdated"):
        return SortKey(name, descending, "r.id" if name == "_id" else "r.last_updated",
                       "text" if name == "_id" else "timestamptz")
    param = lookup(resource_types, name, "_sort")
    if param.type not in _SORT_COLUMNS:
        raise bad("_sort", f"no se puede ordenar por '{name}' ({param.type}) / cannot sort by it")
    table, low, high, sql_type = _SORT_COLUMNS[param.type]
    function, column = ("max", high) if descending else ("min", low)
    whole = " AND s.whole" if param.type == "string" else ""
    expression = (f"(SELECT {function}(s.{column}) FROM {table} s WHERE s.resource_type = r.resource_type "
                  f"AND s.resource_id = r.id AND s.param = '{param.name}'{whole})")  # names come from the registry
    walk = None
    if param.type == "date" and len(resource_types) == 1:
        walk = Walk(column, param.name, single_valued(resource_types[0], param.name))
    return SortKey(name, descending, expression, sql_type, walk)


def _include(value: str, raw_name: str, *, iterate: bool) -> Include:
    parts = value.split(":")
    if value == "*":
        return Include("*", "*", None, iterate)
    if len(parts) not in (2, 3) or not is_served(parts[0]):
        raise bad(raw_name, "forma esperada / expected Tipo:parámetro[:TipoDestino]")
    source, param_name = parts[0], parts[1]
    if param_name != "*":
        param = indexed_param(source, param_name)
        if param is None or param.type != "reference":
            raise bad(raw_name, f"'{param_name}' no es una referencia de {source} / is not a reference of {source}")
    target = parts[2] if len(parts) == 3 else None
    if target is not None and not is_served(target):
        raise bad(raw_name, f"tipo desconocido / unknown type '{target[:40]}'")
    return Include(source, param_name, target, iterate)


_LIVE = "NOT r.deleted"
BOUNDED_COMPARTMENTS = frozenset({"Patient", "Encounter"})


@dataclass
class Statement:
    sql: Sql
    # ``NOT r.deleted`` is left out when a condition on the resource's own index rows already implies a live
    # resource (a deletion removes its index rows, ece.store): without that column an id walk or a count can stay
    # in the primary key's index (an index-only scan where the visibility map allows) instead of visiting each
    # resource's row.
    where: str
    # What supplies the rows ``r`` (resource_type, id) that ``where`` tests: the resource table, or, for a search
    # on one index condition alone, that condition's index rows, where a resource ``repeats`` once per matching
    # row. Index rows exist only for a live resource (ece.store), so the table is not probed once per match
    # (2,000 probes for ``Patient?name=hern`` at 64,000 patients). Their DISTINCT must sit at the level of the
    # page's ORDER BY and LIMIT (``page_sql``): there the planner can also walk the index table's per-resource
    # index in id order and stop at the page's end when the matches are many (``gender=female``).
    rows: str = "resource r"
    repeats: bool = False
    # Some condition matches only a handful of resources (clauses.Condition.bounded).
    bounded: bool = False
    # Every condition names the resources by a key of their own (clauses.Condition.keyed): the plan that starts
    # from that key is the best one whatever the values, so the page's statement may run on a plan made once per
    # connection without them (ece.sqltext.fetch_rows, ``generic_plan``). Not when another condition joins in:
    # made without the values, such a plan cannot tell which side is small. At 64,000 patients the generic plan of
    # Patient?identifier=..&_has:Observation:subject:code=.. expects 10,000 patients per identifier (the estimate
    # for any code) and hashes every patient: 40 ms against 0.13 ms; Observation?subject:Patient.identifier=..
    # &code=.. took 60 ms against 1.3 ms at 1,000.
    generic_plan: bool = False
    # ``where`` for rows that are known to be a live resource's (index rows), when it reads nothing of ``r`` but
    # its type and id (no condition ``reads_row``): a sort walk then tests its key's rows directly
    # (ece.search.walk.page_sql).
    keyed_where: str | None = None

    def select(self, columns: str, *, distinct: bool = False) -> str:
        """The rows that match: one per index row when ``repeats``, unless ``distinct``."""
        return f"SELECT {'DISTINCT ' if distinct else ''}{columns} FROM {self.rows} WHERE {self.where}"

    def matches(self, columns: str = "r.id") -> str:
        """The matching resources, each once."""
        return self.select(columns, distinct=self.repeats)


def filters_sql(request: SearchRequest, *, strict: bool, terminology: Terminology) -> Statement:
    """The WHERE of a search; unknown parameters are refused (strict) or left out of ``used`` (lenient)."""
    sql = Sql()
    ctx = Context(sql, terminology, request.visible)
    types = request.resource_types
    filters: list[Condition] = []
    merged = _merged_date_bounds(ctx, request)
    if merged is not None:
        filters.append(merged[0])
    for raw_name, value in request.filters:
        if merged is not None and (raw_name, value) in merged[1]:
            request.used.append((raw_name, value))
            continue
        try:
            filters.append(clause(ctx, "r", request.resource_types, raw_name, value))
        except UnknownParameter:
            if strict:
                raise
            continue
        request.used.append((raw_name, value))
    visible = [] if request.visible is None else [request.visible(sql.bind, "r", request.resource_types)]
    if len(types) == 1 and len(filters) == 1 and filters[0].index_rows and request.compartment is None \
            and not request.sort:
        # The type's equality on r too: the planner then knows the page's order is the index rows' id order.
        # The row filter reads r's type and id only (clauses.Visibility).
        return Statement(sql, " AND ".join([f"r.resource_type = {sql.bind(types[0])}", *visible]),
                         f"({filters[0].index_rows}) r", True, bounded=filters[0].bounded,
                         generic_plan=filters[0].keyed)
    conditions = [f"r.resource_type = {sql.bind(types[0])}" if len(types) == 1
                  else f"r.resource_type = ANY(CAST({sql.bind(types)} AS text[]))"]
    conditions += [f.sql for f in filters]
    if request.compartment is not None:
        conditions.append(_compartment(sql, request))
    keyed = None if any(f.reads_row for f in filters) else " AND ".join(conditions + visible)
    if not any(f.on_own_rows for f in filters):
        conditions.insert(1, _LIVE)
    # A patient's or an encounter's compartment holds a handful of resources, as a bounded condition does.
    bounded = any(f.bounded for f in filters) or (request.compartment or ("",))[0] in BOUNDED_COMPARTMENTS
    generic_plan = bool(filters) and all(f.keyed for f in filters) and request.compartment is None
    return Statement(sql, " AND ".join(conditions + visible), bounded=bounded, keyed_where=keyed,
                     generic_plan=generic_plan)


def _merged_date_bounds(ctx: Context, request: SearchRequest) -> tuple[Condition, set[tuple[str, str]]] | None:
    """``birthdate=ge1980&birthdate=lt1981`` on a single-valued date: the bounds concern the same value, held in
    one search_date row, so one EXISTS holding both replaces the conditions of those (name, value) pairs
    (returned with it) and lets the GiST index serve the range instead of two scans of every patient's date."""
    if len(request.resource_types) != 1:
        return None
    resource_type = request.resource_types[0]
    by_name: dict[str, list[str]] = {}
    for raw_name, value in request.filters:
        if ":" not in raw_name and "," not in value and not raw_name.startswith("_"):
            by_name.setdefault(raw_name, []).append(value)
    for name, values in by_name.items():
        param = indexed_param(resource_type, name)
        if len(values) > 1 and param is not None and param.type == "date" and single_valued(resource_type, name):
            try:
                bounds = [date_value(ctx, v, name) for v in values]
            except BadRequest:
                return None  # the per-parameter condition reports the malformed value
            span = date_span("m")
            # The bounds' shared range as one more index condition: a GiST scan then reads the rows between the
            # bounds only. A row without a span (low > high) is left to the exact conditions.
            overlap = shared_overlap(ctx, bounds, span)
            ordered = param.ordered_spans
            narrowed = [overlap if ordered else f"({overlap} OR m.low > m.high)"] if overlap else []
            conditions = [*narrowed, *(b.condition("m.low", "m.high", span, ordered) for b in bounds)]
            exists, rows = own_rows("m", "search_date", ctx.sql.bind(resource_type), "r",
                                    f"m.param = {ctx.sql.bind(name)} AND {' AND '.join(conditions)}")
            return Condition(exists, True, rows), {(name, v) for v in values}
    return None


def _compartment(sql: Sql, request: SearchRequest) -> str:
    """R4 compartmentdefinition.html: resources that reference the compartment's owner through one of
    the parameters the CompartmentDefinition lists for their type."""
    owner_type, owner_id = request.compartment  # type: ignore[misc]
    alternatives = []
    for resource_type in request.resource_types:
        params = compartment_links().get(owner_type, {}).get(resource_type, ())
        named = [p for p in params if p != "{def}"]
        if "{def}" in params:
            alternatives.append(f"(r.resource_type = {sql.bind(resource_type)} AND r.id = {sql.bind(owner_id)})")
        if named:
            alternatives.append(
                f"(r.resource_type = {sql.bind(resource_type)} AND EXISTS (SELECT 1 FROM search_reference c "
                f"WHERE c.resource_type = r.resource_type AND c.resource_id = r.id AND c.param = ANY(CAST("
                f"{sql.bind(named)} AS text[])) AND c.target_type = {sql.bind(owner_type)} AND c.target_id = "
                f"{sql.bind(owner_id)}))")
    return "(" + (" OR ".join(alternatives) or "FALSE") + ")"


@dataclass(frozen=True)
class Cursor:
    """Where the next page starts (the last row's sort keys, type and id), and the total the first page gave
    (None: not counted), carried so that later pages neither plan nor run the count again."""

    keys: list[Any]
    resource_type: str
    resource_id: str
    total: int | None


def encode_cursor(cursor: Cursor) -> str:
    def plain(v: Any) -> Any:
        if isinstance(v, datetime):
            return v.isoformat()
        if isinstance(v, Decimal):
            return str(v)
        return v

    values = [*(plain(v) for v in cursor.keys), cursor.resource_type, cursor.resource_id, cursor.total]
    return base64.urlsafe_b64encode(orjson.dumps(values)).decode().rstrip("=")


def decode_cursor(cursor: str, keys: int) -> Cursor:
    try:
        values = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, orjson.JSONDecodeError):
        raise bad("_cursor", "cursor de paginación inválido / invalid paging cursor") from None
    if not isinstance(values, list) or len(values) != keys + 3:
        raise bad("_cursor", "cursor de paginación inválido / invalid paging cursor")
    *sort_keys, resource_type, resource_id, total = values
    if not (isinstance(resource_type, str) and isinstance(resource_id, str)) or not (
            total is None or (isinstance(total, int) and not isinstance(total, bool) and total >= 0)):
        raise bad("_cursor", "cursor de paginación inválido / invalid paging cursor")
    return Cursor(sort_keys, resource_type, resource_id, total)


def page_cursor(request: SearchRequest) -> Cursor | None:
    return decode_cursor(request.cursor, len(request.sort)) if request.cursor else None


def page_sql(request: SearchRequest, statement: Statement, cursor: Cursor | None = None, *,
             count_scan: int | None = None) -> str:
    """SELECT of one page: sort keys computed per row, keyset condition after the last row of the
    previous page (``cursor``, from ``page_cursor``), ties broken by (resource_type, id). ``count_scan`` (a
    ``repeats`` statement only): a last column with the distinct matches of its index rows when there are at
    most ``count_scan`` of them, NULL when there are more; PostgreSQL computes it once (InitPlans), not per row."""
    sql = statement.sql
    keys = request.sort
    if len(keys) == 1 and keys[0].walk is not None and not statement.bounded and count_scan is None:
        walked = walk_range(request, keys[0])
        if walked is not None:
            return walk_page_sql(request, statement, cursor, keys[0], keys[0].walk, *walked)
    key_columns = "".join(f", {k.expression} AS k{i}" for i, k in enumerate(keys))
    inner = statement.select(f"r.resource_type, r.id{key_columns}")
    distinct = "DISTINCT " if statement.repeats else ""
    order_terms, comparisons = [], []
    for i, key in enumerate(keys):
        high, low = _LAST[key.sql_type]
        column = f"coalesce(m.k{i}, {low if key.descending else high})"
        order_terms.append(f"{column} {'DESC' if key.descending else 'ASC'}")
        if cursor is not None:
            bound = (f"coalesce(CAST({sql.bind(cursor.keys[i])} AS {key.sql_type}), "
                     f"{low if key.descending else high})")
            comparisons.append((column, "<" if key.descending else ">", bound))
    order_terms += ["m.resource_type ASC", "m.id ASC"]
    where = ""
    if cursor is not None:
        comparisons.append(("(m.resource_type, m.id)", ">",
                            f"({sql.bind(cursor.resource_type)}, {sql.bind(cursor.resource_id)})"))
        ors = []
        for i, (column, op, bound) in enumerate(comparisons):
            equal = [f"{c} = {b}" for c, _o, b in comparisons[:i]]
            ors.append("(" + " AND ".join([*equal, f"{column} {op} {bound}"]) + ")")
        where = "WHERE " + " OR ".join(ors)
    sql.params["limit"] = request.count + 1
    keys_out = "".join(f", m.k{i}" for i in range(len(keys)))
    if count_scan is not None:
        # The distinct count runs only when the rows are few (an InitPlan is computed when first needed). One
        # subquery over count_scan + 1 rows would be planned once instead of twice (-0.07 ms), but it counts
        # distinct ids past the cap too: +0.6 ms for Patient?name=hern (3,095 rows) at 64,000 patients; and
        # keeping those rows to count them later (a materialised CTE) costs +0.3 ms.
        sql.params["count_scan"] = count_scan
        rows = statement.select("r.id")
        keys_out += (f", CASE WHEN NOT EXISTS (SELECT 1 FROM ({rows}) n OFFSET :count_scan) "
                     f"THEN (SELECT count(DISTINCT n.id) FROM ({rows}) n) END")
    order = ", ".join(order_terms)
    # The page's rows are chosen on ids and sort keys alone; the content is read for those rows only.
    return (f"SELECT m.resource_type, m.id, c.content{keys_out} FROM (SELECT {distinct}m.* FROM ({inner}) m {where} "
            f"ORDER BY {order} LIMIT :limit) m JOIN resource c ON c.resource_type = m.resource_type "
            f"AND c.id = m.id ORDER BY {order}")
