"""``_include`` and ``_revinclude`` (R4 search.html#include), with ``:iterate`` and ``*``.

Included resources are fetched for the page of matches only, never repeat a match, and stop after
``MAX_ITERATIONS`` rounds of ``:iterate`` (a reference cycle cannot loop forever). Each include is one statement
that follows the references and reads the resources they lead to, those the actor may see.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from ece.indexing import indexed_param
from ece.search.clauses import Sql, Visibility
from ece.search.query import Include, SearchRequest
from ece.sqltext import fetch_rows

MAX_ITERATIONS = 4
MAX_INCLUDED = 2000

# The references an include follows from the frontier: forward, the resources the frontier's references point
# to; reverse, the resources whose references point to the frontier. Only the conditions the include names are
# written (no ``:param IS NULL OR ...``, which a plan made without the values cannot use an index for): each
# include statement then runs on a generic plan (ece.sqltext.fetch_rows), right whatever the frontier.
_FOLLOW = {
    False: ("x.target_type, x.target_id", "x.resource_type = s.t AND x.resource_id = s.i AND x.target_id IS NOT NULL"),
    True: ("x.resource_type, x.resource_id", "x.target_type = s.t AND x.target_id = s.i"),
}
# The search_reference column each part an include may name (a parameter, a source type, a target type) tests.
_NAMED = {"param": "x.param", "source": "x.resource_type", "target": "x.target_type"}


async def included(conn: AsyncConnection, request: SearchRequest, matches: list[tuple[str, str, bytes]]
                   ) -> list[tuple[str, str, bytes]]:
    if not (request.includes or request.revincludes) or not matches:
        return []
    seen = {(t, i) for t, i, _c in matches}
    out: list[tuple[str, str, bytes]] = []
    frontier = [(t, i) for t, i, _c in matches]
    for round_number in range(MAX_ITERATIONS):
        found: dict[tuple[str, str], str] = {}
        for include, reverse in [*((i, False) for i in request.includes), *((i, True) for i in request.revincludes)]:
            if round_number == 0 or include.iterate:
                sql, params = include_statement(include, frontier, reverse=reverse, visible=request.visible)
                found.update(((t, i), c) for t, i, c in await fetch_rows(conn, sql, params, generic_plan=True))
        new = sorted(found.keys() - seen)[: MAX_INCLUDED - len(out)]
        if not new:
            break
        seen |= set(new)
        out.extend((t, i, found[(t, i)].encode()) for t, i in new)
        frontier = new
        if len(out) >= MAX_INCLUDED:
            break
    return out


def include_statement(include: Include, frontier: list[tuple[str, str]], *, reverse: bool,
                      visible: Visibility | None = None) -> tuple[str, dict]:
    """The statement of one ``_include`` (or, ``reverse``, ``_revinclude``) from ``frontier``: the live resources
    it reaches that ``visible`` admits, at most ``MAX_INCLUDED``, in (type, id) order."""
    sql = Sql({"types": [k[0] for k in frontier], "ids": [k[1] for k in frontier], "limit": MAX_INCLUDED})
    reached, joined = _FOLLOW[reverse]
    named = {"param": None if include.param == "*" else include.param,
             "source": None if include.source_type == "*" else include.source_type,
             "target": None if reverse else include.target_type}
    where = "".join(f" AND {_NAMED[name]} = {sql.bind(value)}" for name, value in named.items()
                    if value is not None)
    references = (f"SELECT {reached} FROM search_reference x JOIN unnest(CAST(:types AS text[]), "
                  f"CAST(:ids AS text[])) AS s(t, i) ON {joined}{where}")
    condition = f" AND {visible(sql.bind, 'r', _reached_types(include, reverse))}" if visible is not None else ""
    return (f"SELECT r.resource_type, r.id, r.content FROM resource r WHERE (r.resource_type, r.id) IN "
            f"({references}) AND NOT r.deleted{condition} ORDER BY r.resource_type, r.id LIMIT :limit",
            sql.params)


def _reached_types(include: Include, reverse: bool) -> list[str] | None:
    """The types an include can reach, when the request says (None: any), so the visibility condition names
    only theirs."""
    if reverse:
        return None if include.source_type == "*" else [include.source_type]
    if include.target_type is not None:
        return [include.target_type]
    param = None if "*" in (include.source_type, include.param) else indexed_param(include.source_type,
                                                                                  include.param)
    return list(param.targets) if param is not None and param.targets else None
