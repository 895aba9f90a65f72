"""Terminology for search (R4 search.html#modifiers): local ValueSet expansion for the token ``:in`` and
``:not-in`` modifiers, and code-system subsumption for the token ``:below`` and ``:above`` modifiers.

A ValueSet (and any CodeSystem it includes whole) must be stored on this server; expansion uses
``expansion.contains`` when present, else ``compose`` (explicit concepts, whole code systems, the
``is-a``/``descendent-of`` filters, and excludes). Anything else is refused with 400, never guessed.

A code system's hierarchy comes from a registered source first (the composition root plugs in the national
terminology service, which serves WHO ICD-10 without storing its 12,500 concepts), then from a stored CodeSystem:
its nested ``concept`` elements and its ``parent`` and ``child`` properties (R4 codesystem.html#hierarchy).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from ece import fhirjson
from ece.search.values import bad, split_escaped, split_or, unescape

_BY_URL = text(
    "SELECT r.content FROM resource r JOIN search_uri u ON u.resource_type = r.resource_type AND u.resource_id = r.id "
    "WHERE r.resource_type = :t AND u.param = 'url' AND u.value = :url AND NOT r.deleted ORDER BY r.last_updated DESC "
    "LIMIT 1"
)
_BY_ID = text("SELECT content FROM resource WHERE resource_type = :t AND id = :i AND NOT deleted")
SUBSUMPTION = ("below", "above")


@dataclass(frozen=True)
class Hierarchy:
    """The is-a links of one code system: each code's parents and children (a concept may have several)."""

    parents: dict[str, tuple[str, ...]]
    children: dict[str, tuple[str, ...]]
    codes: frozenset[str]

    @classmethod
    def of(cls, codes: Iterable[str], links: Iterable[tuple[str, str]]) -> Hierarchy:
        """From every code and the (parent, child) links between them."""
        parents: dict[str, list[str]] = defaultdict(list)
        children: dict[str, list[str]] = defaultdict(list)
        for parent, child in links:
            if child not in parents[parent] and parent not in parents[child]:
                parents[child].append(parent)
                children[parent].append(child)
        return cls({k: tuple(v) for k, v in parents.items()}, {k: tuple(v) for k, v in children.items()},
                   frozenset(codes))

    def below(self, code: str) -> set[str]:
        """``code`` and every code it subsumes (its descendants)."""
        return self._walk(code, self.children)

    def above(self, code: str) -> set[str]:
        """``code`` and every code that subsumes it (its ancestors)."""
        return self._walk(code, self.parents)

    @staticmethod
    def _walk(code: str, links: dict[str, tuple[str, ...]]) -> set[str]:
        seen, pending = {code}, [code]
        while pending:
            for following in links.get(pending.pop(), ()):
                if following not in seen:
                    seen.add(following)
                    pending.append(following)
        return seen


# A code system URL -> its hierarchy, or None when the source does not serve that system.
HierarchySource = Callable[[str], Hierarchy | None]
_hierarchy_sources: list[HierarchySource] = []


def register_hierarchy_source(source: HierarchySource) -> None:
    """Let searches subsume codes of systems served outside the store (done once by the composition root)."""
    if source not in _hierarchy_sources:
        _hierarchy_sources.append(source)


def code_system_hierarchy(code_system: dict) -> Hierarchy:
    """The hierarchy a CodeSystem resource declares by nesting concepts and by its parent/child properties."""
    codes, links = [], []

    def visit(concepts: list[Any], parent: str | None) -> None:
        for concept in concepts:
            if not isinstance(concept, dict) or "code" not in concept:
                continue
            code = concept["code"]
            codes.append(code)
            if parent is not None:
                links.append((parent, code))
            for prop in concept.get("property", []):
                value = prop.get("valueCode")
                if prop.get("code") == "parent" and value:
                    links.append((value, code))
                elif prop.get("code") == "child" and value:
                    links.append((code, value))
            visit(concept.get("concept", []), code)

    visit(code_system.get("concept", []), None)
    return Hierarchy.of(codes, links)


class TerminologyCache:
    """What one search needs from terminology, loaded before its SQL is built (the clause builders are sync)."""

    def __init__(self) -> None:
        self._value_sets: dict[str, frozenset[str]] = {}
        self._hierarchies: dict[str, Hierarchy | None] = {}

    async def preload(self, conn: AsyncConnection, filters: list[tuple[str, str]]) -> None:
        for raw_name, value in filters:
            if raw_name.endswith((":in", ":not-in")) and value not in self._value_sets:
                self._value_sets[value] = frozenset(await _expand(self, conn, value, raw_name))
            elif raw_name.endswith((":below", ":above")):
                # uri parameters take these modifiers too; their values are not system|code and load nothing.
                for alternative in split_or(value):
                    parts = split_escaped(alternative, "|", 1)
                    if len(parts) == 2 and parts[0]:
                        await self.hierarchy(conn, unescape(parts[0]))

    async def hierarchy(self, conn: AsyncConnection, system: str) -> Hierarchy | None:
        if system not in self._hierarchies:
            found = next((h for h in (source(system) for source in _hierarchy_sources) if h is not None), None)
            if found is None:
                stored = await _load(conn, "CodeSystem", system)
                found = code_system_hierarchy(stored) if stored and stored.get("concept") else None
            self._hierarchies[system] = found
        return self._hierarchies[system]

    def codes(self, value_set: str, raw_name: str) -> frozenset[str]:
        return self._value_sets[value_set]

    def subsumed(self, value: str, modifier: str, raw_name: str) -> tuple[str, list[str]]:
        """(system, codes) a token ``system|code`` with ``:below`` or ``:above`` stands for, itself included."""
        parts = split_escaped(value, "|", 1)
        if len(parts) != 2 or not parts[0] or not parts[1]:
            raise bad(raw_name, f":{modifier} necesita sistema|código / needs system|code")
        system, code = unescape(parts[0]), unescape(parts[1])
        hierarchy = self._hierarchies.get(system)
        if hierarchy is None:
            raise bad(raw_name, f"no se conoce la jerarquía del sistema / no hierarchy known for '{system[:120]}'")
        if code not in hierarchy.codes:
            raise bad(raw_name, f"código desconocido en {system[:120]} / unknown code '{code[:40]}'")
        related = hierarchy.below(code) if modifier == "below" else hierarchy.above(code)
        return system, sorted(related)


async def _load(conn: AsyncConnection, resource_type: str, reference: str) -> dict | None:
    if reference.startswith(f"{resource_type}/"):
        row = (await conn.execute(_BY_ID, {"t": resource_type, "i": reference.split("/", 1)[1]})).first()
    else:
        row = (await conn.execute(_BY_URL, {"t": resource_type, "url": reference.split("|", 1)[0]})).first()
    return fhirjson.loads(row[0]) if row and row[0] else None


async def _expand(cache: TerminologyCache, conn: AsyncConnection, reference: str, raw_name: str) -> set[str]:
    value_set = await _load(conn, "ValueSet", reference)
    if value_set is None:
        raise bad(raw_name, f"ValueSet desconocido en este servidor / unknown ValueSet '{reference[:120]}'")
    contains = (value_set.get("expansion") or {}).get("contains")
    if contains:
        return {f"{c.get('system', '')}|{c['code']}" for c in _flatten(contains, "contains") if "code" in c}
    compose = value_set.get("compose") or {}
    codes: set[str] = set()
    for include in compose.get("include", []):
        codes |= await _include(cache, conn, include, raw_name)
    for exclude in compose.get("exclude", []):
        codes -= await _include(cache, conn, exclude, raw_name)
    return codes


async def _include(cache: TerminologyCache, conn: AsyncConnection, include: dict, raw_name: str) -> set[str]:
    system = include.get("system", "")
    if include.get("valueSet"):
        nested: set[str] = set()
        for url in include["valueSet"]:
            nested |= await _expand(cache, conn, url, raw_name)
        return nested
    if include.get("concept"):
        return {f"{system}|{c['code']}" for c in include["concept"] if "code" in c}
    hierarchy = await cache.hierarchy(conn, system)
    if hierarchy is None:
        raise bad(raw_name, f"CodeSystem no disponible para expandir / CodeSystem not stored: '{system[:120]}'")
    codes = set(hierarchy.codes)
    for rule in include.get("filter", []):
        op, root = rule.get("op"), rule.get("value")
        if rule.get("property") != "concept" or op not in ("is-a", "descendent-of"):
            raise bad(raw_name, f"filtro de ValueSet no admitido / unsupported ValueSet filter {op}")
        below = hierarchy.below(root) if root in hierarchy.codes else set()
        codes &= below if op == "is-a" else below - {root}
    return {f"{system}|{code}" for code in codes}


def _flatten(items: list[Any], child: str) -> Iterator[dict]:
    for item in items:
        if isinstance(item, dict):
            yield item
            yield from _flatten(item.get(child, []), child)
