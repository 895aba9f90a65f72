"""Reads of the record: read, vread and history (R4 http.html#read, #vread, #history)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from ece.errors import Gone, Issue, NotFound
from ece.sqltext import fetch_rows, sql_text

_READ = "SELECT version_id, last_updated, content FROM resource WHERE resource_type = :t AND id = :i"
_VREAD = ("SELECT version_id, last_updated, content FROM resource_history WHERE resource_type = :t AND id = :i "
          "AND version_id = :v")
_EXISTS = text("SELECT 1 FROM resource WHERE resource_type = :t AND id = :i")


@dataclass(frozen=True)
class Version:
    resource_type: str
    id: str
    version_id: int
    last_updated: datetime
    content: bytes | None  # None for a deleted version
    method: str = "GET"
    seq: int = 0
    created: bool = False  # this version brought the resource into existence (first, or after a deletion)

    @property
    def deleted(self) -> bool:
        return self.content is None


def _only(rows: list[tuple]) -> tuple | None:
    """The row of a lookup by primary key, or None."""
    return rows[0] if rows else None


def _not_found(resource_type: str, resource_id: str, version: str = "") -> NotFound:
    return NotFound([Issue("not-found", f"{resource_type}/{resource_id}{version} no existe / does not exist")])


async def read(conn: AsyncConnection, *, resource_type: str, resource_id: str) -> Version:
    row = _only(await fetch_rows(conn, _READ, {"t": resource_type, "i": resource_id}))
    if row is None:
        raise _not_found(resource_type, resource_id)
    if row[2] is None:
        raise Gone([Issue("deleted", f"{resource_type}/{resource_id} fue eliminado / was deleted "
                                     f"(versión {row[0]})")], version_id=row[0])
    return Version(resource_type, resource_id, row[0], row[1], row[2].encode())


async def vread(conn: AsyncConnection, *, resource_type: str, resource_id: str, version_id: str) -> Version:
    if not version_id.isdigit():
        raise _not_found(resource_type, resource_id, f"/_history/{version_id[:20]}")
    row = _only(await fetch_rows(conn, _VREAD, {"t": resource_type, "i": resource_id, "v": int(version_id)}))
    if row is None:
        raise _not_found(resource_type, resource_id, f"/_history/{version_id}")
    if row[2] is None:
        raise Gone([Issue("deleted", f"{resource_type}/{resource_id}/_history/{version_id} es una eliminación / "
                                     "is a deletion")], version_id=row[0])
    return Version(resource_type, resource_id, row[0], row[1], row[2].encode())


@dataclass(frozen=True)
class HistoryPage:
    versions: list[Version]
    next_before: int | None  # the ``seq`` to continue from, when there are more
    total: int | None


async def history(conn: AsyncConnection, *, resource_type: str | None = None, resource_id: str | None = None,
                  since: datetime | None = None, at_or_before: datetime | None = None, count: int,
                  before_seq: int | None = None, with_total: bool = True,
                  visible: Callable[[Callable[[Any], str], str, list[str] | None], str] | None = None
                  ) -> HistoryPage:
    """Versions newest first (R4 http.html#history), paged by the commit sequence so pages stay stable
    while new versions are written. ``visible`` (ece.access) keeps only versions of resources the actor may
    see, judged on their current version, in the page and in the total alike."""
    where = ["TRUE"]
    params: dict = {"limit": count + 1}
    if visible is not None:
        def bind(value: Any) -> str:
            name = f"v{len(params)}"
            params[name] = value
            return f":{name}"

        where.append(f"EXISTS (SELECT 1 FROM resource r WHERE r.resource_type = h.resource_type AND r.id = h.id "
                     f"AND {visible(bind, 'r', None if resource_type is None else [resource_type])})")
    if resource_type is not None:
        where.append("resource_type = :t")
        params["t"] = resource_type
    if resource_id is not None:
        where.append("id = :i")
        params["i"] = resource_id
    if since is not None:
        where.append("last_updated >= :since")
        params["since"] = since
    if at_or_before is not None:
        where.append("last_updated <= :at")
        params["at"] = at_or_before
    total = None
    if with_total:
        total = (await conn.execute(sql_text(f"SELECT count(*) FROM resource_history h WHERE {' AND '.join(where)}"),
                                    params)).scalar_one()
    if before_seq is not None:
        where.append("seq < :before")
        params["before"] = before_seq
    rows = (await conn.execute(
        sql_text("SELECT seq, resource_type, id, version_id, last_updated, method, content, version_id = 1 OR "
             "coalesce((SELECT p.deleted FROM resource_history p WHERE p.resource_type = h.resource_type AND p.id = "
             "h.id AND p.version_id = h.version_id - 1), false) FROM resource_history h "
             f"WHERE {' AND '.join(where)} ORDER BY seq DESC LIMIT :limit"),
        params,
    )).all()
    more = len(rows) > count
    rows = rows[:count]
    versions = [Version(r[1], r[2], r[3], r[4], None if r[6] is None else r[6].encode(), r[5], r[0], r[7])
                for r in rows]
    return HistoryPage(versions, rows[-1][0] if more and rows else None, total)


async def read_any_version(conn: AsyncConnection, *, resource_type: str, resource_id: str) -> None:
    """404 unless the resource ever existed (its history outlives a deletion)."""
    row = (await conn.execute(_EXISTS, {"t": resource_type, "i": resource_id})).first()
    if row is None:
        raise _not_found(resource_type, resource_id)

