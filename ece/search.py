"""Search over the index tables (R4 search.html), first part: string, token, date and reference
parameters of the official registry, ``_id``, ``_lastUpdated``, ``_count`` and keyset paging.

Each parameter becomes one ``EXISTS`` over its index table (repetition = AND, comma = OR).
Results are ordered by id and paged with a cursor (the last id of the page), so deep pages cost the
same as the first one and stay stable while resources are written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from ece.errors import BadRequest, Issue
from ece.indexing import date_range, fold, indexed_param, indexed_params, parse_reference
from ece.limits import LIMITS

PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap")
# Parameters that shape the result rather than filter it (R4 search.html#all); the ones this part
# of the engine understands are read below, the others are refused or ignored like unknown ones.
RESULT_PARAMETERS = {"_count", "_total", "_cursor", "_format", "_pretty"}
MODIFIERS = {"string": {"exact", "contains", "missing"}, "token": {"missing", "not"},
             "date": {"missing"}, "reference": {"missing"}}


def _bad(parameter: str, message: str) -> BadRequest:
    return BadRequest([Issue("invalid", f"Parámetro de búsqueda '{parameter}': {message}", (parameter,))])


@dataclass
class ParsedSearch:
    clauses: list[str] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)
    used: list[tuple[str, str]] = field(default_factory=list)  # for the ``self`` link
    count: int = 20
    cursor: str | None = None
    total_mode: str = "accurate"

    def bind(self, value: Any) -> str:
        name = f"p{len(self.params)}"
        self.params[name] = value
        return f":{name}"


def canonical_criteria(query: str) -> str:
    """A stable form of a conditional query, so equal criteria lock the same key."""
    return urlencode(sorted(parse_qsl(query.lstrip("?"), keep_blank_values=True)))


def parse(resource_type: str, pairs: list[tuple[str, str]], *, strict: bool = False) -> ParsedSearch:
    parsed = ParsedSearch(count=LIMITS.default_page_size)
    for raw_name, value in pairs:
        name, _, modifier = raw_name.partition(":")
        if name in RESULT_PARAMETERS:
            _result_parameter(parsed, name, value)
            if name != "_cursor":
                parsed.used.append((raw_name, value))
            continue
        if name == "_id":
            ids = [v for v in value.split(",") if v]
            parsed.clauses.append(f"r.id = ANY(CAST({parsed.bind(ids)} AS text[]))")
        elif name == "_lastUpdated":
            parsed.clauses.append(_or([_date_clause(parsed, raw_name, v, "r.last_updated",
                                                    "r.last_updated + interval '1 microsecond'")
                                       for v in value.split(",")]))
        else:
            param = indexed_param(resource_type, name)
            if param is None:
                if strict:
                    raise _bad(raw_name, f"desconocido o no admitido para {resource_type} / unknown or unsupported "
                                         f"parameter for {resource_type}")
                continue
            parsed.clauses.append(_param_clause(parsed, resource_type, param.name, param.type, param.targets,
                                                modifier, value, raw_name))
        parsed.used.append((raw_name, value))
    return parsed


def _result_parameter(parsed: ParsedSearch, name: str, value: str) -> None:
    if name == "_count":
        if not value.isdigit():
            raise _bad(name, "debe ser un entero no negativo / must be a non-negative integer")
        parsed.count = min(int(value), LIMITS.max_page_size)
    elif name == "_cursor":
        parsed.cursor = value
    elif name == "_total":
        if value not in ("none", "estimate", "accurate"):
            raise _bad(name, "valores admitidos: none, estimate, accurate")
        parsed.total_mode = value


def _or(conditions: list[str]) -> str:
    return conditions[0] if len(conditions) == 1 else "(" + " OR ".join(conditions) + ")"


_TABLES = {"token": "search_token", "string": "search_string", "date": "search_date",
           "reference": "search_reference"}


def _param_clause(parsed: ParsedSearch, resource_type: str, name: str, kind: str, targets: tuple[str, ...],
                  modifier: str, value: str, raw_name: str) -> str:
    table = _TABLES[kind]
    exists = (f"EXISTS (SELECT 1 FROM {table} x WHERE x.resource_type = {parsed.bind(resource_type)} "
              f"AND x.resource_id = r.id AND x.param = {parsed.bind(name)}")
    if modifier and modifier not in MODIFIERS[kind] and not (kind == "reference" and modifier[:1].isupper()):
        raise _bad(raw_name, f"modificador no admitido / unsupported modifier ':{modifier}'")
    if modifier == "missing":
        if value not in ("true", "false"):
            raise _bad(raw_name, ":missing admite true o false / takes true or false")
        return ("NOT " if value == "true" else "") + exists + ")"
    values = [v for v in _split_or(value) if v != ""]
    if not values:
        raise _bad(raw_name, "valor vacío / empty value")
    if kind == "token" and modifier == "not":
        return "NOT " + exists + " AND " + _or([_token(parsed, v) for v in values]) + ")"
    if kind == "token":
        condition = _or([_token(parsed, v) for v in values])
    elif kind == "string":
        condition = _or([_string(parsed, v, modifier) for v in values])
    elif kind == "date":
        condition = _or([_date_clause(parsed, raw_name, v, "x.low", "x.high") for v in values])
    else:
        condition = _or([_reference(parsed, v, modifier or None, targets, raw_name) for v in values])
    return exists + " AND " + condition + ")"


def _split_or(value: str) -> list[str]:
    """Split on commas not escaped with a backslash (R4 search.html#escaping)."""
    parts, current, escaped = [], [], False
    for ch in value:
        if escaped:
            current.append(ch)
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == ",":
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return parts


def _token(parsed: ParsedSearch, value: str) -> str:
    if "|" not in value:
        return f"x.code = {parsed.bind(value)}"
    system, _, code = value.partition("|")
    if system == "":
        return f"(x.system IS NULL AND x.code = {parsed.bind(code)})"
    if code == "":
        return f"x.system = {parsed.bind(system)}"
    return f"(x.system = {parsed.bind(system)} AND x.code = {parsed.bind(code)})"


def _like_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _string(parsed: ParsedSearch, value: str, modifier: str) -> str:
    if modifier == "exact":
        return f"x.exact = {parsed.bind(value)}"
    folded = _like_escape(fold(value))
    if modifier == "contains":
        return f"x.value LIKE {parsed.bind('%' + folded + '%')}"
    return f"x.value LIKE {parsed.bind(folded + '%')}"


def _date_clause(parsed: ParsedSearch, raw_name: str, value: str, low: str, high: str) -> str:
    """R4 search.html#prefix over half-open ranges: target [low, high) against search [s, e)."""
    prefix = value[:2] if value[:2] in PREFIXES else "eq"
    body = value[2:] if value[:2] in PREFIXES else value
    if value[:2].isalpha() and value[:2] not in PREFIXES:
        raise _bad(raw_name, f"prefijo desconocido / unknown prefix '{value[:2]}'")
    bounds = date_range(body)
    if bounds is None:
        raise _bad(raw_name, f"fecha inválida / invalid date '{body[:40]}'")
    start, end = bounds
    if prefix == "ap":  # approximately: widen by 10% of the distance to now (at least a day)
        slack = max(abs(datetime.now(UTC) - start) / 10, timedelta(days=1))
        start, end = start - slack, end + slack
    s, e = parsed.bind(start), parsed.bind(end)
    eq = f"({low} >= {s} AND {high} <= {e})"
    return {
        "eq": eq,
        "ne": f"NOT {eq}",
        "gt": f"{high} > {e}",
        "lt": f"{low} < {s}",
        "ge": f"({high} > {e} OR {eq})",
        "le": f"({low} < {s} OR {eq})",
        "sa": f"{low} >= {e}",
        "eb": f"{high} <= {s}",
        "ap": f"({low} < {e} AND {high} > {s})",
    }[prefix]


def _reference(parsed: ParsedSearch, value: str, type_modifier: str | None, targets: tuple[str, ...],
               raw_name: str) -> str:
    target = parse_reference(value)
    if target is not None:
        target_type, target_id = target
        if type_modifier and type_modifier != target_type:
            raise _bad(raw_name, f"el tipo {type_modifier} no coincide con {target_type} / type mismatch")
        return f"(x.target_type = {parsed.bind(target_type)} AND x.target_id = {parsed.bind(target_id)})"
    if "://" in value or value.startswith("urn:"):
        return f"x.url = {parsed.bind(value)}"
    target_type = type_modifier or (targets[0] if len(targets) == 1 else None)
    if type_modifier and targets and type_modifier not in targets:
        raise _bad(raw_name, f"{type_modifier} no es un destino de este parámetro / is not a target of it")
    if target_type is None:
        return f"x.target_id = {parsed.bind(value)}"
    return f"(x.target_type = {parsed.bind(target_type)} AND x.target_id = {parsed.bind(value)})"


@dataclass(frozen=True)
class SearchPage:
    matches: list[tuple[str, bytes]]
    total: int | None
    next_cursor: str | None
    used: list[tuple[str, str]]
    count: int


def _where(resource_type: str, parsed: ParsedSearch) -> str:
    parsed.params["rt"] = resource_type
    return " AND ".join(["r.resource_type = :rt", "NOT r.deleted", *parsed.clauses])


async def search(conn: AsyncConnection, *, resource_type: str, pairs: list[tuple[str, str]], strict: bool = False
                 ) -> SearchPage:
    parsed = parse(resource_type, pairs, strict=strict)
    where = _where(resource_type, parsed)
    total = None
    if parsed.total_mode != "none" or parsed.count == 0:
        total = (await conn.execute(text(f"SELECT count(*) FROM resource r WHERE {where}"), parsed.params)).scalar_one()
    if parsed.count == 0:
        return SearchPage([], total, None, parsed.used, 0)
    page_where = where
    if parsed.cursor is not None:
        page_where += " AND r.id > :cursor"
        parsed.params["cursor"] = parsed.cursor
    parsed.params["limit"] = parsed.count + 1
    rows = (await conn.execute(
        text(f"SELECT r.id, r.content FROM resource r WHERE {page_where} ORDER BY r.id LIMIT :limit"),
        parsed.params,
    )).all()
    more = len(rows) > parsed.count
    rows = rows[: parsed.count]
    return SearchPage([(r[0], r[1].encode()) for r in rows], total, rows[-1][0] if more else None,
                      parsed.used, parsed.count)


async def matching_ids(conn: AsyncConnection, *, resource_type: str, query: str, limit: int) -> list[str]:
    """Ids matching a conditional query (``identifier=sys|1``); unknown parameters are refused, since
    silently ignoring one would widen the match (R4 http.html#ccreate)."""
    pairs = parse_qsl(query.lstrip("?"), keep_blank_values=True)
    if not pairs:
        raise _bad("criteria", "criterio vacío / empty criteria")
    parsed = parse(resource_type, pairs, strict=True)
    parsed.params["limit"] = limit
    rows = await conn.execute(
        text(f"SELECT r.id FROM resource r WHERE {_where(resource_type, parsed)} ORDER BY r.id LIMIT :limit"),
        parsed.params,
    )
    return [r[0] for r in rows]


def searchable(resource_type: str) -> list[tuple[str, str]]:
    """(name, type) of every parameter a client can use on ``resource_type``."""
    return [("_id", "token"), ("_lastUpdated", "date")] + [(p.name, p.type) for p in indexed_params(resource_type)]


def to_query(pairs: list[tuple[str, str]]) -> str:
    return urlencode(pairs)


def parse_instant(value: str, parameter: str) -> datetime:
    bounds = date_range(value)
    if bounds is None:
        raise _bad(parameter, f"instante inválido / invalid instant '{value[:40]}'")
    return bounds[0]
