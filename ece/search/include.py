"""``_include`` and ``_revinclude`` (R4 search.html#include), with ``:iterate`` and ``*``.

Included resources are fetched for the page of matches only, never repeat a match, and stop after
``MAX_ITERATIONS`` rounds of ``:iterate`` (a reference cycle cannot loop forever).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from ece.search.clauses import Sql
from ece.search.query import Include, SearchRequest
from ece.sqltext import fetch_rows

MAX_ITERATIONS = 4
MAX_INCLUDED = 2000

_FORWARD = (
    "SELECT DISTINCT x.target_type, x.target_id FROM search_reference x "
    "JOIN unnest(CAST(:types AS text[]), CAST(:ids AS text[])) AS s(t, i) ON x.resource_type = s.t "
    "AND x.resource_id = s.i WHERE x.target_id IS NOT NULL AND (CAST(:param AS text) IS NULL OR x.param = :param) "
    "AND (CAST(:source AS text) IS NULL OR x.resource_type = :source) "
    "AND (CAST(:target AS text) IS NULL OR x.target_type = :target) LIMIT :limit"
)
_REVERSE = (
    "SELECT DISTINCT x.resource_type, x.resource_id FROM search_reference x "
    "JOIN unnest(CAST(:types AS text[]), CAST(:ids AS text[])) AS s(t, i) ON x.target_type = s.t "
    "AND x.target_id = s.i WHERE x.resource_type = :source AND (CAST(:param AS text) IS NULL OR x.param = :param) "
    "LIMIT :limit"
)
_FETCH = (
    "SELECT r.resource_type, r.id, r.content FROM resource r JOIN unnest(CAST(:types AS text[]), "
    "CAST(:ids AS text[])) AS k(t, i) ON r.resource_type = k.t AND r.id = k.i WHERE NOT r.deleted"
)


async def included(conn: AsyncConnection, request: SearchRequest, matches: list[tuple[str, str, bytes]]
                   ) -> list[tuple[str, str, bytes]]:
    if not (request.includes or request.revincludes) or not matches:
        return []
    seen = {(t, i) for t, i, _c in matches}
    out: list[tuple[str, str, bytes]] = []
    frontier = [(t, i) for t, i, _c in matches]
    for round_number in range(MAX_ITERATIONS):
        keys: set[tuple[str, str]] = set()
        for include in request.includes:
            if round_number == 0 or include.iterate:
                keys |= await _forward(conn, include, frontier)
        for include in request.revincludes:
            if round_number == 0 or include.iterate:
                keys |= await _reverse(conn, include, frontier)
        new = sorted(keys - seen)[: MAX_INCLUDED - len(out)]
        if not new:
            break
        seen |= set(new)
        rows = await _fetch(conn, request, new)
        out.extend((r[0], r[1], r[2].encode()) for r in rows)
        frontier = [(r[0], r[1]) for r in rows]
        if len(out) >= MAX_INCLUDED:
            break
    return out


async def _fetch(conn: AsyncConnection, request: SearchRequest, keys: list[tuple[str, str]]):
    """The included resources themselves, only those the actor may see (an include never widens a search)."""
    sql = Sql({"types": [k[0] for k in keys], "ids": [k[1] for k in keys]})
    types = sorted({k[0] for k in keys})
    visible = f" AND {request.visible(sql.bind, 'r', types)}" if request.visible is not None else ""
    return await fetch_rows(conn, _FETCH + visible, sql.params)


def _params(include: Include, frontier: list[tuple[str, str]], limit: int) -> dict:
    return {"types": [k[0] for k in frontier], "ids": [k[1] for k in frontier],
            "param": None if include.param == "*" else include.param,
            "source": None if include.source_type == "*" else include.source_type,
            "target": include.target_type, "limit": limit}


async def _forward(conn: AsyncConnection, include: Include, frontier: list[tuple[str, str]]) -> set[tuple[str, str]]:
    rows = await fetch_rows(conn, _FORWARD, _params(include, frontier, MAX_INCLUDED))
    return {(r[0], r[1]) for r in rows}


async def _reverse(conn: AsyncConnection, include: Include, frontier: list[tuple[str, str]]) -> set[tuple[str, str]]:
    params = _params(include, frontier, MAX_INCLUDED)
    params.pop("target")
    rows = await fetch_rows(conn, _REVERSE, params)
    return {(r[0], r[1]) for r in rows}
