"""SQL assembled at run time (searches, history, the access rules' row conditions), parsed once per statement,
and the lean way to run the read path's statements."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from psycopg.pq import TransactionStatus
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


async def fetch_rows(conn: AsyncConnection, sql: str, params: Mapping[str, Any], *,
                     generic_plan: bool = False) -> list[tuple]:
    """The rows of one statement, run on the psycopg connection under ``conn`` (same session, same transaction).

    For the hot reads (a read, a search page, its count and includes): SQLAlchemy's execute costs about twice the
    CPU of psycopg's for the same statement (202 against 103 µs, bench/api_cpu.py's machine), and these
    statements need none of what it adds: values are bound by psycopg either way, rows are plain tuples. Errors
    are psycopg's own (``psycopg.errors.QueryCanceled`` for the statement time limit, app.main renders it).

    ``generic_plan``: a statement whose best plan does not depend on its values (a search on an identifier or a
    patient's reference alone, an include: ece.search.query.Statement.generic_plan) runs on PostgreSQL's generic
    plan, made once per connection for the prepared statement and reused, instead of the custom plan made for
    every execution that the sessions ask for otherwise (app.db). There, planning cost more than running:
    PostgreSQL CPU per statement at 1,000 patients, custom -> generic, Patient?identifier= 222 -> 29 µs,
    Encounter?patient=&_sort=-date 563 -> 128 µs, _revinclude=Encounter:subject 379 -> 68 µs. The setting is made for
    the statement's own implicit transaction (the pipeline's, up to its Sync), so it lapses with it, on error
    too; inside a transaction of the caller's it would outlive the statement, and the custom plan is used."""
    raw = await conn.get_raw_connection()
    driver = raw.driver_connection
    async with driver.cursor() as cursor:
        if generic_plan and driver.autocommit and driver.info.transaction_status == TransactionStatus.IDLE:
            async with driver.pipeline():
                await cursor.execute(_GENERIC_PLAN_FOR_THIS_TRANSACTION)
                await cursor.execute(driver_form(sql), params, prepare=True)
        else:
            await cursor.execute(driver_form(sql), params)
        return await cursor.fetchall()


# set_config's ``is_local``: until the end of the current transaction (here the pipeline's implicit one). A
# ``SET LOCAL`` would do the same but warns, in the server's log too, outside an explicit transaction block.
_GENERIC_PLAN_FOR_THIS_TRANSACTION = "SELECT set_config('plan_cache_mode', 'force_generic_plan', true)"
