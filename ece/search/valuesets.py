"""Local ValueSet expansion for the ``:in`` and ``:not-in`` token modifiers (R4 search.html#modifiers).

The ValueSet (and any CodeSystem it includes whole) must be stored on this server; expansion uses
``expansion.contains`` when present, else ``compose`` (explicit concepts, whole code systems, the
``is-a``/``descendent-of`` filters, and excludes). Anything else is refused with 400, never guessed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from ece import fhirjson
from ece.search.clauses import bad

_BY_URL = text(
    "SELECT r.content FROM resource r JOIN search_uri u ON u.resource_type = r.resource_type AND u.resource_id = r.id "
    "WHERE r.resource_type = :t AND u.param = 'url' AND u.value = :url AND NOT r.deleted ORDER BY r.last_updated DESC "
    "LIMIT 1"
)
_BY_ID = text("SELECT content FROM resource WHERE resource_type = :t AND id = :i AND NOT deleted")


class ValueSetCache:
    def __init__(self) -> None:
        self._codes: dict[str, frozenset[str]] = {}

    async def preload(self, conn: AsyncConnection, filters: list[tuple[str, str]]) -> None:
        for raw_name, value in filters:
            if raw_name.endswith((":in", ":not-in")) and value not in self._codes:
                self._codes[value] = frozenset(await _expand(conn, value, raw_name))

    def codes(self, value_set: str, raw_name: str) -> frozenset[str]:
        return self._codes[value_set]


async def _load(conn: AsyncConnection, resource_type: str, reference: str) -> dict | None:
    if reference.startswith(f"{resource_type}/"):
        row = (await conn.execute(_BY_ID, {"t": resource_type, "i": reference.split("/", 1)[1]})).first()
    else:
        row = (await conn.execute(_BY_URL, {"t": resource_type, "url": reference.split("|", 1)[0]})).first()
    return fhirjson.loads(row[0]) if row and row[0] else None


async def _expand(conn: AsyncConnection, reference: str, raw_name: str) -> set[str]:
    value_set = await _load(conn, "ValueSet", reference)
    if value_set is None:
        raise bad(raw_name, f"ValueSet desconocido en este servidor / unknown ValueSet '{reference[:120]}'")
    contains = (value_set.get("expansion") or {}).get("contains")
    if contains:
        return {f"{c.get('system', '')}|{c['code']}" for c in _flatten(contains, "contains") if "code" in c}
    compose = value_set.get("compose") or {}
    codes: set[str] = set()
    for include in compose.get("include", []):
        codes |= await _include(conn, include, raw_name)
    for exclude in compose.get("exclude", []):
        codes -= await _include(conn, exclude, raw_name)
    return codes


async def _include(conn: AsyncConnection, include: dict, raw_name: str) -> set[str]:
    system = include.get("system", "")
    if include.get("valueSet"):
        nested: set[str] = set()
        for url in include["valueSet"]:
            nested |= await _expand(conn, url, raw_name)
        return nested
    if include.get("concept"):
        return {f"{system}|{c['code']}" for c in include["concept"] if "code" in c}
    code_system = await _load(conn, "CodeSystem", system)
    if code_system is None:
        raise bad(raw_name, f"CodeSystem no disponible para expandir / CodeSystem not stored: '{system[:120]}'")
    concepts = list(_flatten(code_system.get("concept", []), "concept"))
    for rule in include.get("filter", []):
        if rule.get("property") != "concept" or rule.get("op") not in ("is-a", "descendent-of"):
            raise bad(raw_name, f"filtro de ValueSet no admitido / unsupported ValueSet filter {rule.get('op')}")
        concepts = _descendants(code_system.get("concept", []), rule.get("value"), rule["op"] == "is-a")
    return {f"{system}|{c['code']}" for c in concepts if "code" in c}


def _flatten(items: list[Any], child: str) -> Iterator[dict]:
    for item in items:
        if isinstance(item, dict):
            yield item
            yield from _flatten(item.get(child, []), child)


def _descendants(concepts: list[dict], root: Any, include_self: bool) -> list[dict]:
    for concept in _flatten(concepts, "concept"):
        if concept.get("code") == root:
            below = list(_flatten(concept.get("concept", []), "concept"))
            return [concept, *below] if include_self else below
    return []
