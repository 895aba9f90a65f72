"""Search-index extraction: the rows a resource contributes to the ``search_*`` tables.

Parameters come from the generated registry of the official R4 SearchParameters; each expression
that is a plain navigation was compiled by the generator into path steps, so extraction here is a
walk, not an interpreter (R4 search.html#ptypes gives the matching rules for each value type).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from ece.registry import search_parameters

INDEXED_TYPES = ("token", "string", "date", "reference")
MAX_INDEXED_TEXT = 1000  # btree rows must stay well under PostgreSQL's ~2.7 kB limit

CONTACT_POINT_SYSTEMS = frozenset({"phone", "fax", "email", "pager", "url", "sms", "other"})
HUMAN_NAME_PARTS = ("family", "given", "prefix", "suffix", "text")
ADDRESS_PARTS = ("line", "city", "district", "state", "postalCode", "country", "text")


@dataclass(frozen=True)
class Path:
    steps: tuple[Any, ...]
    target: str | None


@dataclass(frozen=True)
class IndexedParam:
    name: str
    type: str
    paths: tuple[Path, ...]
    targets: tuple[str, ...]


@cache
def indexed_params(resource_type: str) -> tuple[IndexedParam, ...]:
    """Parameters of ``resource_type`` this server indexes (and can therefore search)."""
    out = []
    for name, spec in sorted(search_parameters().get(resource_type, {}).items()):
        if spec["type"] not in INDEXED_TYPES or not spec.get("paths"):
            continue
        paths = tuple(Path(tuple(_freeze(s) for s in p["steps"]), p.get("target")) for p in spec["paths"])
        out.append(IndexedParam(name, spec["type"], paths, tuple(spec.get("targets") or ())))
    return tuple(out)


@cache
def indexed_param(resource_type: str, name: str) -> IndexedParam | None:
    for param in indexed_params(resource_type):
        if param.name == name:
            return param
    return None


def _freeze(step: Any) -> Any:
    if isinstance(step, dict):
        return (step["name"], tuple(sorted(step["where"].items())))
    return step


def _navigate(data: dict, path: Path) -> list[Any]:
    values: list[Any] = [data]
    for step in path.steps:
        if isinstance(step, tuple):
            name, where = step
        else:
            name, where = step, ()
        found: list[Any] = []
        for value in values:
            if not isinstance(value, dict):
                continue
            child = value.get(name)
            if child is None:
                continue
            for item in child if isinstance(child, list) else (child,):
                if where and not (isinstance(item, dict) and all(item.get(k) == v for k, v in where)):
                    continue
                found.append(item)
        values = found
    if path.target is not None:
        values = [v for v in values if _reference_type(v) == path.target]
    return values


def _reference_type(value: Any) -> str | None:
    if isinstance(value, dict) and isinstance(value.get("reference"), str):
        parsed = parse_reference(value["reference"])
        return parsed[0] if parsed else value.get("type")
    return None


@dataclass
class IndexRows:
    token: list[tuple[str, str | None, str | None]]
    string: list[tuple[str, str, str]]
    date: list[tuple[str, datetime, datetime]]
    reference: list[tuple[str, str | None, str | None, str | None]]


def extract(resource_type: str, data: dict) -> IndexRows:
    rows = IndexRows([], [], [], [])
    for param in indexed_params(resource_type):
        values = [v for path in param.paths for v in _navigate(data, path)]
        if not values:
            continue
        if param.type == "token":
            rows.token.extend({(param.name, s, c) for v in values for s, c in _tokens(v)})
        elif param.type == "string":
            rows.string.extend({(param.name, fold(s)[:MAX_INDEXED_TEXT], s[:MAX_INDEXED_TEXT])
                                for v in values for s in _strings(v)})
        elif param.type == "date":
            rows.date.extend({(param.name, lo, hi) for v in values for lo, hi in _ranges(v)})
        elif param.type == "reference":
            rows.reference.extend({(param.name, *r) for v in values if (r := _reference(v)) is not None})
    return rows


def fold(text: str) -> str:
    """Case- and accent-insensitive form for string search ("Pérez" matches "perez")."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _tokens(value: Any) -> list[tuple[str | None, str | None]]:
    if isinstance(value, bool):
        return [(None, "true" if value else "false")]
    if isinstance(value, str):
        return [(None, value)]
    if not isinstance(value, dict):
        return []
    if "coding" in value or ("text" in value and "code" not in value and "value" not in value):
        return [t for coding in value.get("coding", []) for t in _tokens(coding)]
    if "code" in value:  # Coding
        return [(value.get("system"), value.get("code"))]
    if "value" in value:
        if value.get("system") in CONTACT_POINT_SYSTEMS:  # ContactPoint matches on its value
            return [(None, str(value["value"]))]
        return [(value.get("system"), str(value["value"]))]  # Identifier
    return []


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if not isinstance(value, dict):
        return []
    parts = HUMAN_NAME_PARTS if ("family" in value or "given" in value) else ADDRESS_PARTS
    out: list[str] = []
    for part in parts:
        item = value.get(part)
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, list):
            out.extend(x for x in item if isinstance(x, str))
    return out


_REFERENCE = re.compile(r"^(?:(?P<base>.+)/)?(?P<type>[A-Z][A-Za-z]+)/(?P<id>[A-Za-z0-9\-.]{1,64})"
                        r"(?:/_history/[A-Za-z0-9\-.]{1,64})?$")


def parse_reference(reference: str) -> tuple[str, str] | None:
    """``Patient/1``, ``http://base/Patient/1`` or ``Patient/1/_history/2`` -> (type, id)."""
    match = _REFERENCE.match(reference)
    if match is None:
        return None
    return match.group("type"), match.group("id")


def _reference(value: Any) -> tuple[str | None, str | None, str | None] | None:
    if isinstance(value, str):  # canonical or uri used as a reference target
        return (None, None, value[:MAX_INDEXED_TEXT])
    if not isinstance(value, dict) or not isinstance(value.get("reference"), str):
        return None
    reference = value["reference"]
    if reference.startswith("#"):
        return None  # contained resources are not indexed on their own (R4 search.html#contained)
    parsed = parse_reference(reference)
    if parsed is None:
        return (None, None, reference[:MAX_INDEXED_TEXT])
    absolute = reference if "://" in reference else None
    return (parsed[0], parsed[1], absolute)


# R4 datatypes.html#dateTime: YYYY, YYYY-MM, YYYY-MM-DD, or a full time with seconds and zone.
_DATE = re.compile(
    r"^(?P<y>\d{4})(?:-(?P<m>\d{2})(?:-(?P<d>\d{2})(?:T(?P<H>\d{2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:\.(?P<f>\d+))?)?"
    r"(?P<tz>Z|[+-]\d{2}:\d{2})?)?)?)?$"
)
END_OF_TIME = datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
START_OF_TIME = datetime(1, 1, 1, tzinfo=UTC)


def date_range(text: str) -> tuple[datetime, datetime] | None:
    """The half-open instant range a date/dateTime/instant value stands for, by its precision.

    Values without a zone are taken as UTC (the server's zone), as R4 search.html#date allows.
    """
    match = _DATE.match(text)
    if match is None:
        return None
    g = match.groupdict()
    try:
        year = int(g["y"])
        if g["m"] is None:
            low = datetime(year, 1, 1, tzinfo=UTC)
            return low, _next_year(low)
        month = int(g["m"])
        if g["d"] is None:
            low = datetime(year, month, 1, tzinfo=UTC)
            return low, _next_month(low)
        day = int(g["d"])
        if g["H"] is None:
            low = datetime(year, month, day, tzinfo=UTC)
            return low, _add(low, timedelta(days=1))
        offset = _offset(g["tz"])
        second = int(g["S"] or 0)
        fraction = g["f"] or ""
        micro = int((fraction + "000000")[:6]) if fraction else 0
        local = datetime(year, month, day, int(g["H"]), int(g["M"]), second, micro, tzinfo=UTC)
        low = local - offset
        if g["S"] is None:
            step = timedelta(minutes=1)
        elif not fraction:
            step = timedelta(seconds=1)
        else:
            step = timedelta(microseconds=10 ** max(0, 6 - len(fraction)))
        return low, _add(low, step)
    except (ValueError, OverflowError):
        return None


def _offset(tz: str | None) -> timedelta:
    if tz is None or tz == "Z":
        return timedelta(0)
    sign = 1 if tz[0] == "+" else -1
    return sign * timedelta(hours=int(tz[1:3]), minutes=int(tz[4:6]))


def _add(moment: datetime, step: timedelta) -> datetime:
    try:
        return moment + step
    except OverflowError:
        return END_OF_TIME


def _next_year(low: datetime) -> datetime:
    return low.replace(year=low.year + 1) if low.year < 9999 else END_OF_TIME


def _next_month(low: datetime) -> datetime:
    if low.month == 12:
        return _next_year(low.replace(month=1))
    return low.replace(month=low.month + 1)


def _ranges(value: Any) -> list[tuple[datetime, datetime]]:
    if isinstance(value, str):
        r = date_range(value)
        return [r] if r else []
    if not isinstance(value, dict):
        return []
    if "start" in value or "end" in value:  # Period: open ends extend to the ends of time
        start = date_range(value["start"]) if isinstance(value.get("start"), str) else None
        end = date_range(value["end"]) if isinstance(value.get("end"), str) else None
        return [(start[0] if start else START_OF_TIME, end[1] if end else END_OF_TIME)]
    events = [r for e in value.get("event", []) if isinstance(e, str) and (r := date_range(e))]
    if events:  # Timing: the span of its events
        return [(min(r[0] for r in events), max(r[1] for r in events))]
    return []
