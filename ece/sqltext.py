"""SQL assembled at run time (searches, history, the access rules' row conditions), parsed once per statement,
and the lean way to run the read path's statements."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncConnection

STATEMENTS_KEPT = 1024
# SQLAlchemy's own pattern for ``:name`` in text(): not after ``:`` (a ``::`` cast), a word character or ``\``.
_BIND = re.compile(r"(?<![:\w\\]):(\w+)(?![:\w])")


@lru_cache(maxsize=STATEMENTS_KEPT)
def sql_text(sql: str) -> TextClause:
    """``text(sql)``, one object per distinct statement. Requests put together the same few statement shapes
    again and again (values are bound, never written into the SQL); parsing a clinician's search for its bind
    parameters cost ~0.1 ms, and SQLAlchemy keys its compiled form on the object, computing that key anew for
    each new object."""
    return text(sql)


@lru_cache(maxsize=STATEMENTS_KEPT)
def driver_form(sql: str) -> str:
    """A statement written with SQLAlchemy's ``:name`` binds in psycopg's ``%(name)s`` form."""
    return _BIND.sub(r"%(\1)s", sql.replace("%", "%%"))


async def fetch_rows(conn: AsyncConnection, sql: str, params: Mapping[str, Any]) -> list[tuple]:
    """The rows of one statement, run on the psycopg connection under ``conn`` (same session, same transaction).

    For the hot reads (a read, a search page, its count and includes): SQLAlchemy's execute costs about twice the
    CPU of psycopg's for the same statement (202 against 103 µs, bench/api_cpu.py's machine), and these
    statements need none of what it adds: values are bound by psycopg either way, rows are plain tuples. Errors
    are psycopg's own (``psycopg.errors.QueryCanceled`` for the statement time limit, app.main renders it)."""
    raw = await conn.get_raw_connection()
    async with raw.driver_connection.cursor() as cursor:
        await cursor.execute(driver_form(sql), params)
        return await cursor.fetchall()
