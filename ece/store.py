"""The single FHIR write path (R4 http.html: create, update, patch, delete and their conditional forms).

Every write is validated, versioned, and written as current + history + search-index rows in one
SQL statement inside the caller's transaction; hooks registered with ``on_write`` run after commit.
Nothing else in the project writes the record tables.

Writes are planned first (``WritePlan``) and flushed together, so a transaction Bundle of a
thousand entries costs one round trip for its rows, not thousands.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import TextClause, text

from ece import fhirjson, reads, search
from ece.errors import BadRequest, InvalidResource, Issue, NotFound, PreconditionFailed, UnprocessableEntity
from ece.indexing import IndexRows, extract
from ece.limits import LIMITS
from ece.tx import Transaction
from ece.validation import check_id, check_resource

Key = tuple[str, str]


@dataclass(frozen=True)
class WriteResult:
    """The outcome of one write, as the HTTP layer and Bundle responses need it."""

    resource_type: str
    id: str
    version_id: int
    last_updated: datetime
    status: int  # 201 created, 200 updated or matched, 204 nothing to do
    content: bytes | None = None
    deleted: bool = False


@dataclass
class _Version:
    resource_type: str
    id: str
    version_id: int
    last_updated: datetime
    method: str
    deleted: bool
    content: str | None
    index: IndexRows | None
    replaces_existing: bool


WriteHook = Callable[[Transaction, list[WriteResult]], Awaitable[None]]
_write_hooks: list[WriteHook] = []


def on_write(hook: WriteHook) -> None:
    """Register an async hook awaited inside the transaction after each flush, with the versions just written
    (``content`` included; ``status`` 201 for a version that brought its resource into existence).

    A hook may read, and plan further writes through this module, in the same transaction: the referral engine
    creates the Task of a new referral, subscription matching writes outbox rows. Those writes flush and call
    the hooks again. A hook that raises a ``FhirError`` refuses the whole write; hooks that must act only once
    the data is durable use ``tx.after_commit`` themselves.
    """
    if hook not in _write_hooks:
        _write_hooks.append(hook)


def now() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return str(uuid.uuid4())


def lock_keys(keys: Iterable[Key]) -> list[str]:
    return sorted({f"{t}/{i}" for t, i in keys})


_LOCK = text("SELECT pg_advisory_xact_lock(h) FROM (SELECT hashtextextended(k, 0) AS h "
             "FROM unnest(CAST(:keys AS text[])) AS k ORDER BY k) AS ordered")
_CURRENT = text("SELECT r.resource_type, r.id, r.version_id, r.deleted, r.content FROM resource r "
                "JOIN unnest(CAST(:types AS text[]), CAST(:ids AS text[])) AS k(t, i) "
                "ON r.resource_type = k.t AND r.id = k.i")


async def lock(tx: Transaction, names: list[str]) -> None:
    """Serialise writers of the same resource (or the same conditional criteria) until commit.

    Taken in sorted order so two transactions can never deadlock on each other's locks.
    """
    if names:
        await tx.conn.execute(_LOCK, {"keys": sorted(names)})


async def current_versions(tx: Transaction, keys: list[Key]) -> dict[Key, tuple[int, bool]]:
    if not keys:
        return {}
    rows = await tx.conn.execute(_CURRENT, {"types": [k[0] for k in keys], "ids": [k[1] for k in keys]})
    return {(r[0], r[1]): (r[2], r[3]) for r in rows}


async def current_contents(tx: Transaction, keys: list[Key]) -> dict[Key, tuple[int, bool, str | None]]:
    """Current version, deleted flag and stored text of each key (for skip-if-unchanged loads)."""
    if not keys:
        return {}
    rows = await tx.conn.execute(_CURRENT, {"types": [k[0] for k in keys], "ids": [k[1] for k in keys]})
    return {(r[0], r[1]): (r[2], r[3], r[4]) for r in rows}


def same_content(stored: str | None, data: dict) -> bool:
    """True when ``data`` equals the stored version apart from the server's versionId and lastUpdated."""
    if stored is None:
        return False
    return _comparable(fhirjson.loads(stored)) == _comparable(data)


async def update_if_changed(tx: Transaction, resources: list[dict]) -> int:
    """PUT each resource (each with its id) whose current version is missing, deleted or different; answers how
    many were written. For the server's own definitions, installed again at every start."""
    keys = [(data["resourceType"], data["id"]) for data in resources]
    await lock(tx, lock_keys(keys))
    stored = await current_contents(tx, keys)
    written = 0
    for key, data in zip(keys, resources, strict=True):
        current = stored.get(key)
        if current is not None and not current[1] and same_content(current[2], data):
            continue
        await update(tx, resource_type=key[0], resource_id=key[1], data=data)
        written += 1
    return written


def _comparable(data: dict) -> bytes:
    meta = {k: v for k, v in (data.get("meta") or {}).items() if k not in ("versionId", "lastUpdated")}
    body = {k: v for k, v in data.items() if k != "meta"}
    if meta:
        body["meta"] = meta
    return fhirjson.dumps(body, sort_keys=True)


def stamp(data: dict, resource_id: str, version_id: int, last_updated: datetime) -> str:
    """The stored text: the client's JSON with the server's id, versionId and lastUpdated (R4 resource.html#Meta)."""
    meta = dict(data["meta"]) if isinstance(data.get("meta"), dict) else {}
    meta["versionId"] = str(version_id)
    meta["lastUpdated"] = fhirjson.instant(last_updated)
    body = {"resourceType": data["resourceType"], "id": resource_id, "meta": meta}
    for key, value in data.items():
        if key not in body:
            body[key] = value
    return fhirjson.dumps(body).decode()


@dataclass
class WritePlan:
    """Versions to write in one flush. Callers lock and read current versions before planning."""

    versions: list[_Version] = field(default_factory=list)
    keys: set[Key] = field(default_factory=set)

    def add(self, version: _Version) -> WriteResult:
        key = (version.resource_type, version.id)
        if key in self.keys:
            raise BadRequest([Issue("invalid", f"{key[0]}/{key[1]} aparece más de una vez / appears more than "
                                               "once in the same transaction")])
        self.keys.add(key)
        self.versions.append(version)
        status = 204 if version.deleted else (200 if version.replaces_existing else 201)
        return WriteResult(version.resource_type, version.id, version.version_id, version.last_updated,
                           status, None if version.content is None else version.content.encode(),
                           version.deleted)

    def put(self, *, data: dict, resource_type: str, resource_id: str, current: tuple[int, bool] | None,
            method: str, moment: datetime, index: IndexRows | None = None) -> WriteResult:
        """Plan a new version of ``data``. ``index`` is ``extract(resource_type, data)`` when the caller
        computed it already (bulk loads extract in worker processes, beside validation)."""
        version_id = current[0] + 1 if current else 1
        content = stamp(data, resource_id, version_id, moment)
        # Indexed parameters never read id or meta, so the client's parsed data serves for extraction.
        rows = extract(resource_type, data) if index is None else index
        result = self.add(_Version(resource_type, resource_id, version_id, moment, method, False, content,
                                   rows, current is not None))
        if current is not None and current[1]:  # re-creating a deleted resource is a create
            return WriteResult(result.resource_type, result.id, result.version_id, result.last_updated, 201,
                               result.content)
        return result

    def delete(self, *, resource_type: str, resource_id: str, current: tuple[int, bool], moment: datetime
               ) -> WriteResult:
        return self.add(_Version(resource_type, resource_id, current[0] + 1, moment, "DELETE", True, None,
                                 None, True))

    async def flush(self, tx: Transaction) -> None:
        if not self.versions:
            return
        params, kinds = _flush_params(self.versions)
        replaces = any(v.replaces_existing for v in self.versions)
        await tx.conn.execute(_flush_statement(replaces, kinds), params)
        written, self.versions = self.versions, []
        if not _write_hooks:
            return
        results = [WriteResult(v.resource_type, v.id, v.version_id, v.last_updated,
                               201 if not v.replaces_existing else 200,
                               None if v.content is None else v.content.encode(), v.deleted) for v in written]
        for hook in _write_hooks:
            await hook(tx, results)


_INDEX_COLUMNS = {
    "token": ("search_token", ("system", "code", "text")),
    "string": ("search_string", ("value", "exact", "whole")),
    "date": ("search_date", ("low", "high")),
    "reference": ("search_reference", ("target_type", "target_id", "url", "id_system", "id_value")),
    "number": ("search_number", ("value",)),
    "quantity": ("search_quantity", ("value", "system", "code", "unit", "canonical_value", "canonical_code")),
    "uri": ("search_uri", ("value",)),
    "composite": ("search_composite", ("c1_system", "c1_code", "t2_system", "t2_code", "q2_value", "q2_system",
                                       "q2_code", "q2_canonical_value", "q2_canonical_code", "d2_low", "d2_high",
                                       "s2_value")),
}
_PG_TYPES = {"whole": "boolean", "low": "timestamptz", "high": "timestamptz", "d2_low": "timestamptz",
             "d2_high": "timestamptz", "q2_value": "numeric", "canonical_value": "numeric",
             "q2_canonical_value": "numeric"}
_NUMERIC_VALUE_TABLES = {"number", "quantity"}
_KEY_COLUMNS = ("resource_type", "resource_id", "param")
_VERSION_COLUMNS = (("resource_type", "text"), ("id", "text"), ("version_id", "int"),
                    ("last_updated", "timestamptz"), ("method", "text"), ("deleted", "boolean"),
                    ("content", "text"))


def _rows_of(section: str, columns: tuple[tuple[str, str], ...]) -> str:
    """Rows from one bound JSON array of arrays per section: binding a column array per field costs more
    client CPU than the server spends parsing JSON, and one shared document for all sections would be parsed
    again by every CTE that takes its section out of it. Parsed as ``jsonb``: ``json ->> i`` rescans the
    element's text for every column, ``jsonb ->> i`` indexes the parsed array (the seed's write statement
    took 28% less server time, bench.seed)."""
    fields = ", ".join(f"CAST(e->>{i} AS {pg_type})" for i, (_name, pg_type) in enumerate(columns))
    return f"SELECT {fields} FROM jsonb_array_elements(CAST(:{section} AS jsonb)) AS e"


# The full text of each resource (ece.fulltext), one row: the narrative as words for _text, and for _content the
# narrative followed by the rest, so the narrative is parsed once. ``simple``: no stemming or stop words.
_TEXT_INSERT = (
    "ins_text AS (INSERT INTO search_text (resource_type, resource_id, narrative, content) "
    "SELECT t, i, n, n || to_tsvector('simple', c) FROM (SELECT t, i, to_tsvector('simple', n) AS n, c FROM ("
    + _rows_of("text", (("t", "text"), ("i", "text"), ("n", "text"), ("c", "text"))) + ") AS e(t, i, n, c)) AS s)"
)
_INDEX_TABLES = {**{kind: table for kind, (table, _cols) in _INDEX_COLUMNS.items()}, "text": "search_text"}


def _index_ctes(replaces: bool, kinds: tuple[str, ...]) -> list[str]:
    """Index rows of the kinds present, and removal of the old rows of resources being replaced.
    Data-modifying CTEs share one snapshot, so the DELETEs never see the rows inserted beside them
    (PostgreSQL docs, "Data-Modifying Statements in WITH")."""
    ctes = []
    if replaces:
        for kind, table in _INDEX_TABLES.items():
            ctes.append(f"del_{kind} AS (DELETE FROM {table} x USING ({_rows_of('old', (('t', 'text'), ('i', 'text')))}"
                        f") AS o(t, i) WHERE x.resource_type = o.t AND x.resource_id = o.i)")
    for kind in kinds:
        if kind == "text":
            ctes.append(_TEXT_INSERT)
            continue
        table, cols = _INDEX_COLUMNS[kind]
        columns = tuple((c, "numeric" if (c == "value" and kind in _NUMERIC_VALUE_TABLES) else _PG_TYPES.get(c, "text"))
                        for c in (*_KEY_COLUMNS, *cols))
        ctes.append(f"ins_{kind} AS (INSERT INTO {table} ({', '.join(c for c, _ in columns)}) "
                    f"{_rows_of(kind, columns)})")
    return ctes


@lru_cache(maxsize=64)
def _flush_statement(replaces: bool, kinds: tuple[str, ...]) -> TextClause:
    """One statement per batch shape: the versions into history and current, with their index rows."""
    ctes = _index_ctes(replaces, kinds)
    names = ", ".join(c for c, _ in _VERSION_COLUMNS)
    ctes.append(f"v ({names}) AS MATERIALIZED ({_rows_of('versions', _VERSION_COLUMNS)})")
    ctes.append(f"hist AS (INSERT INTO resource_history ({names}) SELECT * FROM v)")
    return text(
        "WITH " + ",\n".join(ctes) + "\n"
        "INSERT INTO resource (resource_type, id, version_id, last_updated, deleted, content) "
        "SELECT resource_type, id, version_id, last_updated, deleted, content FROM v "
        "ON CONFLICT (resource_type, id) DO UPDATE SET version_id = EXCLUDED.version_id, "
        "last_updated = EXCLUDED.last_updated, deleted = EXCLUDED.deleted, content = EXCLUDED.content"
    )


def _flush_params(versions: list[_Version]) -> tuple[dict[str, Any], tuple[str, ...]]:
    document: dict[str, list] = {
        "versions": [[v.resource_type, v.id, v.version_id, v.last_updated, v.method, v.deleted, v.content]
                     for v in versions],
    }
    if any(v.replaces_existing for v in versions):
        document["old"] = [[v.resource_type, v.id] for v in versions if v.replaces_existing]
    kinds = _add_index_rows(document, [(v.resource_type, v.id, v.index) for v in versions])
    return _bound(document), kinds


def _bound(document: dict[str, list]) -> dict[str, str]:
    return {section: fhirjson.dumps(rows).decode() for section, rows in document.items()}


def _add_index_rows(document: dict[str, list], indexed: list[tuple[str, str, IndexRows | None]]) -> tuple[str, ...]:
    kinds = []
    for kind in _INDEX_TABLES:
        rows = [[t, i, *row] for t, i, index in indexed if index is not None for row in getattr(index, kind)]
        if rows:
            kinds.append(kind)
            document[kind] = rows
    return tuple(kinds)


_REINDEX_BATCH = text(
    "SELECT id, content FROM resource WHERE resource_type = :t AND id > :after AND NOT deleted "
    "ORDER BY id LIMIT :limit FOR UPDATE"
)


async def reindex_batch(tx: Transaction, *, resource_type: str, after_id: str, limit: int
                        ) -> tuple[int, str | None]:
    """Rebuild the index rows of the next ``limit`` current resources of a type after ``after_id``;
    answers how many were done and the last id (None when there were none). The rows are locked while they are
    re-indexed, so a concurrent update waits instead of racing with the rebuild."""
    rows = (await tx.conn.execute(_REINDEX_BATCH, {"t": resource_type, "after": after_id, "limit": limit})).all()
    if not rows:
        return 0, None
    document: dict[str, list] = {"old": [[resource_type, r[0]] for r in rows]}
    kinds = _add_index_rows(document, [(resource_type, r[0], extract(resource_type, fhirjson.loads(r[1])))
                                       for r in rows])
    await tx.conn.execute(text("WITH " + ",\n".join(_index_ctes(True, kinds)) + "\nSELECT 1"), _bound(document))
    return len(rows), rows[-1][0]


# --- the interactions ---------------------------------------------------------------------------------


async def create(tx: Transaction, *, data: Any, if_none_exist: str | None = None, expected_type: str | None = None
                 ) -> WriteResult:
    """R4 http.html#create; with ``If-None-Exist``, a conditional create (http.html#ccreate)."""
    resource_type = check_resource(data, expected_type=expected_type, max_json_depth=LIMITS.max_json_depth)
    if if_none_exist:
        existing = await match_one_or_none(tx, resource_type=resource_type, criteria=if_none_exist, lock_criteria=True)
        if existing is not None:
            return await _matched(tx, resource_type, existing)
    plan = WritePlan()
    result = plan.put(data=data, resource_type=resource_type, resource_id=new_id(), current=None,
                      method="POST", moment=now())
    await plan.flush(tx)
    return result


async def _matched(tx: Transaction, resource_type: str, resource_id: str) -> WriteResult:
    found = await reads.read(tx.conn, resource_type=resource_type, resource_id=resource_id)
    return WriteResult(resource_type, resource_id, found.version_id, found.last_updated, 200, found.content)


async def match_one_or_none(tx: Transaction, *, resource_type: str, criteria: str, lock_criteria: bool) -> str | None:
    """The id of the single resource matching ``criteria``; 412 when several match (R4 http.html#ccreate)."""
    if lock_criteria:
        await lock(tx, [f"?{resource_type}?{search.canonical_criteria(criteria)}"])
    ids = await search.matching_ids(tx.conn, resource_type=resource_type, query=criteria, limit=2)
    if len(ids) > 1:
        raise PreconditionFailed([Issue("multiple-matches", f"Varios recursos cumplen el criterio / more than one "
                                                            f"{resource_type} matches '{criteria[:200]}'")])
    return ids[0] if ids else None


async def update(tx: Transaction, *, resource_type: str, resource_id: str, data: Any, if_match: int | None = None,
                 method: str = "PUT") -> WriteResult:
    """R4 http.html#update, including update-as-create with a client-chosen id."""
    check_id(resource_id)
    check_resource(data, expected_type=resource_type, max_json_depth=LIMITS.max_json_depth)
    body_id = data.get("id")
    if body_id != resource_id:
        raise InvalidResource([Issue("invalid", f"El id del recurso ({body_id}) no coincide con el de la URL "
                                                f"({resource_id}) / resource id does not match the URL",
                                     (f"{resource_type}.id",))])
    key = (resource_type, resource_id)
    await lock(tx, lock_keys([key]))
    current = (await current_versions(tx, [key])).get(key)
    check_if_match(if_match, current)
    plan = WritePlan()
    result = plan.put(data=data, resource_type=resource_type, resource_id=resource_id, current=current,
                      method=method, moment=now())
    await plan.flush(tx)
    return result


def check_if_match(if_match: int | None, current: tuple[int, bool] | None) -> None:
    """R4 http.html#concurrency: a stale ``If-Match`` version gives 412."""
    if if_match is None:
        return
    if current is None or current[1] or current[0] != if_match:
        have = "ninguna / none" if current is None or current[1] else str(current[0])
        raise PreconditionFailed([Issue("conflict", f"La versión actual es {have}, If-Match pedía {if_match} / "
                                                    f"current version is {have}, If-Match asked for {if_match}")])


async def conditional_update(tx: Transaction, *, resource_type: str, criteria: str, data: Any,
                             if_match: int | None = None) -> WriteResult:
    """R4 http.html#cond-update: no match creates, one match updates it, several give 412."""
    check_resource(data, expected_type=resource_type, max_json_depth=LIMITS.max_json_depth)
    matched = await match_one_or_none(tx, resource_type=resource_type, criteria=criteria, lock_criteria=True)
    body_id = data.get("id")
    if matched is None:
        if body_id:
            return await update(tx, resource_type=resource_type, resource_id=body_id, data=data, if_match=if_match)
        return await create(tx, data=data, expected_type=resource_type)
    if body_id and body_id != matched:
        raise InvalidResource([Issue("invalid", f"El id del cuerpo ({body_id}) no es el del recurso encontrado "
                                                f"({matched}) / body id differs from the matched resource",
                                     (f"{resource_type}.id",))])
    return await update(tx, resource_type=resource_type, resource_id=matched, data={**data, "id": matched},
                        if_match=if_match)


async def patch(tx: Transaction, *, resource_type: str, resource_id: str, operations: Any,
                if_match: int | None = None) -> WriteResult:
    """R4 http.html#patch with a JSON Patch document (RFC 6902)."""
    key = (resource_type, resource_id)
    await lock(tx, lock_keys([key]))
    current = await reads.read(tx.conn, resource_type=resource_type, resource_id=resource_id)
    check_if_match(if_match, (current.version_id, False))
    patched = apply_patch(fhirjson.loads(current.content), operations)
    return await update(tx, resource_type=resource_type, resource_id=resource_id, data=patched, method="PATCH")


def apply_patch(content: dict, operations: Any) -> dict:
    """``content`` with a JSON Patch document (RFC 6902) applied; 400 for a document that is not one, 422 for
    one that does not apply or does not give a resource."""
    import jsonpatch

    if not isinstance(operations, list):
        raise BadRequest([Issue("structure", "Un JSON Patch es una lista de operaciones / a JSON Patch document "
                                             "is an array of operations")])
    try:
        patched = jsonpatch.JsonPatch(operations).apply(content)
    except jsonpatch.JsonPatchTestFailed as exc:
        raise UnprocessableEntity([Issue("processing", f"La prueba del parche falló / patch test failed: {exc}")]) \
            from None
    except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException, KeyError, TypeError, ValueError) as exc:
        raise UnprocessableEntity([Issue("processing", f"No se pudo aplicar el parche / patch could not be "
                                                       f"applied: {exc}")]) from None
    if not isinstance(patched, dict):
        raise UnprocessableEntity([Issue("processing", "El parche no produce un recurso / patch result is not "
                                                       "a resource")])
    return patched


async def delete(tx: Transaction, *, resource_type: str, resource_id: str) -> WriteResult:
    """R4 http.html#delete: a new, deleted version; deleting again changes nothing (204)."""
    check_id(resource_id)
    key = (resource_type, resource_id)
    await lock(tx, lock_keys([key]))
    current = (await current_versions(tx, [key])).get(key)
    if current is None:
        raise NotFound([Issue("not-found", f"{resource_type}/{resource_id} no existe / does not exist")])
    if current[1]:
        return WriteResult(resource_type, resource_id, current[0], now(), 204, None, True)
    plan = WritePlan()
    result = plan.delete(resource_type=resource_type, resource_id=resource_id, current=current, moment=now())
    await plan.flush(tx)
    return result


async def conditional_delete(tx: Transaction, *, resource_type: str, criteria: str) -> WriteResult | None:
    """R4 http.html#3.1.0.7.1: one match is deleted; none is a no-op (None); several give 412."""
    matched = await match_one_or_none(tx, resource_type=resource_type, criteria=criteria, lock_criteria=True)
    if matched is None:
        return None
    return await delete(tx, resource_type=resource_type, resource_id=matched)
