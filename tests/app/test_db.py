"""The sessions app.db opens: the settings every statement of the API and the workers runs under, and the read
engine's connections, in autocommit for their whole life."""

from __future__ import annotations

import uuid

from psycopg.pq import TransactionStatus
from sqlalchemy import text

from app.db import make_async_engine

_PID = text("SELECT pg_backend_pid()")


async def test_sessions_run_in_utc_with_custom_plans_and_without_jit_or_parallel_workers(engine):
    async with engine.connect() as conn:
        settings = {name: (await conn.execute(text(f"SHOW {name}"))).scalar_one()
                    for name in ("TimeZone", "plan_cache_mode", "jit", "max_parallel_workers_per_gather")}
    assert settings == {"TimeZone": "UTC", "plan_cache_mode": "force_custom_plan", "jit": "off",
                        "max_parallel_workers_per_gather": "0"}


async def test_the_read_engines_sessions_run_in_autocommit_with_the_same_settings(database_url):
    reads = make_async_engine(database_url, pool_size=1, autocommit=True)
    try:
        async with reads.connect() as conn:
            settings = {name: (await conn.execute(text(f"SHOW {name}"))).scalar_one()
                        for name in ("TimeZone", "plan_cache_mode", "jit", "max_parallel_workers_per_gather")}
            raw = await conn.get_raw_connection()
            assert raw.driver_connection.autocommit
    finally:
        await reads.dispose()
    assert settings == {"TimeZone": "UTC", "plan_cache_mode": "force_custom_plan", "jit": "off",
                        "max_parallel_workers_per_gather": "0"}


async def test_a_read_engines_connection_returned_inside_a_transaction_is_rolled_back(database_url):
    reads = make_async_engine(database_url, pool_size=1, autocommit=True)
    table = f"t_left_open_{uuid.uuid4().hex[:12]}"
    try:
        async with reads.connect() as conn:
            # Through psycopg, as ece.sqltext.fetch_rows runs the read path's statements: SQLAlchemy does not know.
            driver = (await conn.get_raw_connection()).driver_connection
            await driver.execute("BEGIN")
            await driver.execute(f"CREATE TABLE {table} (x int)")
            left_open = (await (await driver.execute("SELECT pg_backend_pid()")).fetchone())[0]
        async with reads.connect() as conn:
            assert (await conn.execute(_PID)).scalar_one() == left_open  # the same connection, back from the pool
            raw = await conn.get_raw_connection()
            assert raw.driver_connection.info.transaction_status == TransactionStatus.IDLE
            assert (await conn.execute(text("SELECT to_regclass(:t)"), {"t": table})).scalar_one() is None
    finally:
        await reads.dispose()
