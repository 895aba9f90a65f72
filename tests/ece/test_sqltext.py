"""Statements assembled at run time are parsed once, and the read path's run on psycopg directly (ece.sqltext)."""

from __future__ import annotations

import psycopg
import pytest
from psycopg import OperationalError
from psycopg.errors import QueryCanceled
from sqlalchemy import text

from app.db import libpq_url, make_async_engine
from ece.sqltext import driver_form, fetch_rows, sql_text
from ece.tx import read_unit


def test_the_same_statement_is_one_object_with_its_bind_parameters():
    sql = "SELECT 1 FROM resource r WHERE r.resource_type = :p0 AND r.id = ANY(CAST(:p1 AS text[]))"

    first, again = sql_text(sql), sql_text(" ".join(sql.split(" ")))

    assert first is again
    assert set(first._bindparams) == {"p0", "p1"}
    assert sql_text(sql + " LIMIT :limit") is not first


def test_the_driver_form_binds_names_and_keeps_casts_and_percent_signs():
    sql = "SELECT CAST(:ids AS text[]), '2026-01-01'::date, x LIKE 'a%' FROM t WHERE a = :a AND b = :a"

    assert driver_form(sql) == ("SELECT CAST(%(ids)s AS text[]), '2026-01-01'::date, x LIKE 'a%%' FROM t "
                                "WHERE a = %(a)s AND b = %(a)s")


async def test_rows_fetched_on_the_driver_belong_to_the_connections_transaction(tx):
    await tx.conn.execute(text("CREATE TEMPORARY TABLE sqltext_probe (v text) ON COMMIT DROP"))
    await tx.conn.execute(text("INSERT INTO sqltext_probe VALUES ('ñandú'), ('50%')"))

    rows = await fetch_rows(tx.conn, "SELECT v FROM sqltext_probe WHERE v LIKE :head || '%' ORDER BY v",
                            {"head": "50", "unused": 1})

    assert rows == [("50%",)]


async def test_a_statement_cancelled_on_the_driver_raises_psycopgs_query_canceled(tx):
    await tx.conn.execute(text("SET LOCAL statement_timeout = 50"))

    with pytest.raises(QueryCanceled):
        await fetch_rows(tx.conn, "SELECT pg_sleep(:s)", {"s": 2})


async def test_a_connection_lost_under_fetch_rows_is_not_handed_out_again(database_url):
    engine = make_async_engine(database_url, pool_size=1)
    try:
        async with read_unit(engine) as tx:
            pid = (await fetch_rows(tx.conn, "SELECT pg_backend_pid()", {}))[0][0]
        async with await psycopg.AsyncConnection.connect(libpq_url(database_url), autocommit=True) as other:
            await other.execute("SELECT pg_terminate_backend(%s)", (pid,))

        with pytest.raises(OperationalError):
            async with read_unit(engine) as tx:
                await fetch_rows(tx.conn, "SELECT 1", {})
        async with read_unit(engine) as tx:
            rows = await fetch_rows(tx.conn, "SELECT pg_backend_pid()", {})
        assert rows[0][0] != pid
    finally:
        await engine.dispose()


_PLAN_MODE = "SELECT current_setting('plan_cache_mode'), CAST(:probe AS int)"


async def test_a_statement_asked_for_a_generic_plan_runs_on_one_and_the_setting_lapses_with_it(engine):
    async with read_unit(engine) as tx:
        assert await fetch_rows(tx.conn, _PLAN_MODE, {"probe": 1}, generic_plan=True) == [("force_generic_plan", 1)]
        assert await fetch_rows(tx.conn, _PLAN_MODE, {"probe": 2}) == [("force_custom_plan", 2)]
        prepared = await fetch_rows(tx.conn, "SELECT generic_plans FROM pg_prepared_statements "
                                             "WHERE statement LIKE '%current_setting(''plan_cache_mode'')%'", {})
        assert prepared and prepared[0][0] >= 1


async def test_a_failed_statement_asked_for_a_generic_plan_leaves_the_session_on_custom_plans(engine):
    async with read_unit(engine) as tx:
        with pytest.raises(psycopg.errors.DivisionByZero):
            await fetch_rows(tx.conn, "SELECT 1 / CAST(:zero AS int)", {"zero": 0}, generic_plan=True)
        assert await fetch_rows(tx.conn, _PLAN_MODE, {"probe": 3}) == [("force_custom_plan", 3)]


async def test_inside_a_transaction_of_the_callers_a_statement_keeps_the_custom_plan(tx):
    # A setting made for the transaction would outlive the statement and reach the caller's other statements.
    assert await fetch_rows(tx.conn, _PLAN_MODE, {"probe": 4}, generic_plan=True) == [("force_custom_plan", 4)]
    assert await fetch_rows(tx.conn, _PLAN_MODE, {"probe": 5}) == [("force_custom_plan", 5)]
