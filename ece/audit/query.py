"""Reading the audit trail as FHIR: ``AuditEvent/[id]`` and ``AuditEvent?...`` answered from ``audit_event``.

The rows stay where they are (append-only and hash-chained, ece.audit.chain); a read only selects. Search
parameters (R4 auditevent.html#search): ``patient``, ``date`` (on ``recorded``), ``outcome``, ``action``,
``agent`` (agent.who), ``altid`` (agent.altId), ``entity`` (entity.what) and ``_id``; a comma is an OR, a
repeated parameter an AND. Results come newest first; pages are keyed on the sequence number (``_cursor``:
the next page holds the events older than it), so a page boundary does not move while the trail grows.
Who may see which rows is the caller's to say (``View``); this module knows no roles.
Cost: ``patient`` uses the GIN index on ``patients``; the other filters are checked row by row while the
primary key is walked newest first, so a rare match over a long trail reads much of it (an auditor's query,
not a clinical path).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from ece.dates import date_range
from ece.errors import BadRequest, Issue, NotFound

SEARCH_PARAMS = (
    ("patient", "reference", "http://hl7.org/fhir/SearchParameter/AuditEvent-patient"),
    ("date", "date", "http://hl7.org/fhir/SearchParameter/AuditEvent-date"),
    ("outcome", "token", "http://hl7.org/fhir/SearchParameter/AuditEvent-outcome"),
    ("action", "token", "http://hl7.org/fhir/SearchParameter/AuditEvent-action"),
    ("agent", "reference", "http://hl7.org/fhir/SearchParameter/AuditEvent-agent"),
    ("altid", "token", "http://hl7.org/fhir/SearchParameter/AuditEvent-altid"),
    ("entity", "reference", "http://hl7.org/fhir/SearchParameter/AuditEvent-entity"),
    ("_id", "token", "http://hl7.org/fhir/SearchParameter/Resource-id"),
)
_PARAMS = {name for name, _kind, _url in SEARCH_PARAMS}
# Parameters about the response, not the rows (R4 search.html#all, http.html#parameters).
_RESULT_PARAMS = frozenset({"_count", "_cursor", "_format", "_pretty", "_total", "_sort"})
_PREFIXES = frozenset({"eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap"})
_CONTENT = "CAST(content AS jsonb)"


@dataclass(frozen=True)
class View:
    """The rows a reader may see: every one, the events about one patient, or the events about nobody."""

    patient: str | None = None  # a Patient id
    unlinked_only: bool = False


@dataclass(frozen=True)
class AuditPage:
    events: list[dict]
    used: list[tuple[str, str]]  # the parameters applied, for the self link
    count: int
    next_cursor: str | None


def _bad(name: str, message: str) -> BadRequest:
    return BadRequest([Issue("invalid", message, (name,))])


def _event(seq: int, content: str) -> dict:
    """The stored JSON with its id (the sequence number) and meta: an event has one version, ever."""
    event = orjson.loads(content)
    return {"resourceType": "AuditEvent", "id": str(seq),
            "meta": {"versionId": "1", "lastUpdated": event["recorded"]}, **event}


class _Sql:
    def __init__(self) -> None:
        self.params: dict[str, object] = {}
        self.conditions: list[str] = []

    def bind(self, value: object) -> str:
        name = f"p{len(self.params)}"
        self.params[name] = value
        return f":{name}"


def _view(sql: _Sql, view: View) -> None:
    if view.patient is not None:
        sql.conditions.append(f"patients @> ARRAY[CAST({sql.bind(view.patient)} AS text)]")
    if view.unlinked_only:
        sql.conditions.append("cardinality(patients) = 0")


async def read_event(conn: AsyncConnection, *, event_id: str, view: View) -> dict:
    """One AuditEvent; 404 for an id that is no event, or one outside ``view`` (its existence says nothing
    beyond the sequence numbers, but its content would)."""
    if not event_id.isdigit() or len(event_id) > 18:
        raise NotFound([Issue("not-found", f"AuditEvent/{event_id[:64]} no existe / does not exist")])
    sql = _Sql()
    sql.conditions.append(f"seq = {sql.bind(int(event_id))}")
    _view(sql, view)
    row = (await conn.execute(text(f"SELECT seq, content FROM audit_event WHERE {' AND '.join(sql.conditions)}"),
                              sql.params)).first()
    if row is None:
        raise NotFound([Issue("not-found", f"AuditEvent/{event_id} no existe / does not exist")])
    return _event(row.seq, row.content)


async def search_events(conn: AsyncConnection, *, pairs: Sequence[tuple[str, str]], view: View, default_count: int,
                        max_count: int, strict: bool = False) -> AuditPage:
    sql = _Sql()
    _view(sql, view)
    used: list[tuple[str, str]] = []
    count, cursor = default_count, None
    for raw_name, value in pairs:
        name = raw_name.partition(":")[0]
        if raw_name == "_count":
            count = _positive(raw_name, value, max_count)
        elif raw_name == "_cursor":
            cursor = _positive(raw_name, value, None)
        elif name in _RESULT_PARAMS:
            continue
        elif raw_name in _PARAMS:
            if value:  # an empty parameter is ignored (R4 search.html#errors)
                sql.conditions.append("(" + " OR ".join(_condition(sql, raw_name, v) for v in value.split(","))
                                      + ")")
                used.append((raw_name, value))
        elif strict:
            raise _bad(raw_name, f"parámetro no admitido en AuditEvent / unsupported AuditEvent search parameter "
                                 f"'{raw_name[:60]}'")
    if cursor is not None:
        sql.conditions.append(f"seq < {sql.bind(cursor)}")
    where = f"WHERE {' AND '.join(sql.conditions)}" if sql.conditions else ""
    rows = (await conn.execute(text(f"SELECT seq, content FROM audit_event {where} ORDER BY seq DESC "
                                    f"LIMIT {sql.bind(count + 1)}"), sql.params)).all()
    more = len(rows) > count
    rows = rows[:count]
    return AuditPage([_event(r.seq, r.content) for r in rows], used, count,
                     str(rows[-1].seq) if more and rows else None)


def _positive(name: str, value: str, maximum: int | None) -> int:
    if not value.isdigit() or len(value) > 18:
        raise _bad(name, f"{name}: se espera un entero no negativo / expected a non-negative integer")
    number = int(value)
    return min(number, maximum) if maximum is not None else number


def _reference(value: str, default_type: str | None) -> str:
    """``Patient/1``, ``1`` (with a default type) or an absolute URL ending in ``Type/id``, as ``Type/id``."""
    parts = value.rstrip("/").split("/")
    if len(parts) >= 2:
        return f"{parts[-2]}/{parts[-1]}"
    return f"{default_type}/{value}" if default_type else value


def _contains(sql: _Sql, document: dict) -> str:
    return f"{_CONTENT} @> CAST({sql.bind(orjson.dumps(document).decode())} AS jsonb)"


def _condition(sql: _Sql, name: str, value: str) -> str:
    if name == "patient":
        kind, _, patient_id = _reference(value, "Patient").partition("/")
        if kind != "Patient":
            raise _bad(name, "patient: se espera Patient/<id> / expected Patient/<id>")
        return f"patients @> ARRAY[CAST({sql.bind(patient_id)} AS text)]"
    if name == "date":
        return _date(sql, value)
    if name in ("outcome", "action"):
        return f"{_CONTENT} ->> '{name}' = {sql.bind(value.rpartition('|')[2])}"
    if name == "agent":
        return _contains(sql, {"agent": [{"who": {"reference": _reference(value, None)}}]})
    if name == "altid":
        return _contains(sql, {"agent": [{"altId": value.rpartition("|")[2]}]})
    if name == "entity":
        return _contains(sql, {"entity": [{"what": {"reference": _reference(value, None)}}]})
    if not value.isdigit() or len(value) > 18:  # _id: the ids are sequence numbers
        return "false"
    return f"seq = {sql.bind(int(value))}"


def _date(sql: _Sql, value: str) -> str:
    """``recorded`` is an instant; against the search range [s, e) of the value's precision (R4
    search.html#prefix) ``ge`` is at or after s, ``le`` before e, and so on."""
    prefix, body = (value[:2], value[2:]) if value[:2] in _PREFIXES else ("eq", value)
    bounds = date_range(body)
    if bounds is None:
        raise _bad("date", f"fecha inválida / invalid date '{body[:40]}'")
    start, end = bounds
    if prefix == "ap":  # approximately: widened by 10% of the distance to now, at least a day
        slack = max(abs(datetime.now(UTC) - start) / 10, timedelta(days=1))
        start, end = start - slack, end + slack
    s, e = sql.bind(start), sql.bind(end)
    return {"eq": f"(recorded >= {s} AND recorded < {e})", "ap": f"(recorded >= {s} AND recorded < {e})",
            "ne": f"NOT (recorded >= {s} AND recorded < {e})", "gt": f"recorded >= {e}", "sa": f"recorded >= {e}",
            "lt": f"recorded < {s}", "eb": f"recorded < {s}", "ge": f"recorded >= {s}",
            "le": f"recorded < {e}"}[prefix]
