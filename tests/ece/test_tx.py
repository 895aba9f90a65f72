"""Units of work (ece.tx): a read unit runs its statements without a surrounding transaction, and writes what
its before-commit hooks write only when the request's work completed."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text

from app.db import make_async_engine
from ece.tx import read_unit, unit_of_work

_XACT = text("SELECT pg_current_xact_id()::text")
_PID = text("SELECT pg_backend_pid()")


async def test_every_statement_of_a_read_unit_is_a_transaction_of_its_own(engine):
    async with read_unit(engine) as tx:
        first = (await tx.conn.execute(_XACT)).scalar_one()
        second = (await tx.conn.execute(_XACT)).scalar_one()
    assert first != second


async def test_statements_of_a_unit_of_work_share_one_transaction(engine):
    async with unit_of_work(engine) as tx:
        first = (await tx.conn.execute(_XACT)).scalar_one()
        second = (await tx.conn.execute(_XACT)).scalar_one()
    assert first == second


async def _marks(engine, name: str) -> int:
    async with engine.connect() as conn:
        return (await conn.execute(text("SELECT count(*) FROM pg_class WHERE relname = :n"), {"n": name})).scalar_one()


async def test_a_read_units_hook_writes_after_the_reads_and_its_after_commit_hook_runs(engine):
    table = f"t_read_unit_{uuid.uuid4().hex[:12]}"
    announced = []
    async with read_unit(engine) as tx:
        async def hook() -> None:
            await tx.conn.execute(text(f"CREATE TABLE {table} (x int)"))
        tx.before_commit(hook)
        tx.after_commit(lambda: announced.append(table))
    try:
        assert await _marks(engine, table) == 1
        assert announced == [table]
    finally:
        async with engine.connect() as conn:
            await conn.execute(text(f"DROP TABLE IF EXISTS {table}"))
            await conn.commit()


async def test_a_read_unit_that_fails_runs_no_hook(engine):
    table = f"t_read_unit_{uuid.uuid4().hex[:12]}"
    announced = []
    with pytest.raises(LookupError):
        async with read_unit(engine) as tx:
            async def hook() -> None:
                await tx.conn.execute(text(f"CREATE TABLE {table} (x int)"))
            tx.before_commit(hook)
            tx.after_commit(lambda: announced.append(table))
            raise LookupError("no encontrado")
    assert await _marks(engine, table) == 0
    assert announced == []


async def test_a_pooled_connection_returns_to_transactions_after_a_read_unit(database_url):
    single = make_async_engine(database_url, pool_size=1)
    try:
        async with read_unit(single) as tx:
            reader = (await tx.conn.execute(_PID)).scalar_one()
        async with unit_of_work(single) as tx:
            assert (await tx.conn.execute(_PID)).scalar_one() == reader  # the same connection, back from the pool
            first = (await tx.conn.execute(_XACT)).scalar_one()
            second = (await tx.conn.execute(_XACT)).scalar_one()
        assert first == second
    finally:
        await single.dispose()


async def test_a_read_unit_on_an_autocommit_engine_runs_each_statement_alone_and_keeps_the_connection_as_it_is(
        database_url):
    reads = make_async_engine(database_url, pool_size=1, autocommit=True)
    table = f"t_read_unit_{uuid.uuid4().hex[:12]}"
    try:
        async with read_unit(reads) as tx:
            first = (await tx.conn.execute(_XACT)).scalar_one()
            second = (await tx.conn.execute(_XACT)).scalar_one()

            async def hook() -> None:
                await tx.conn.execute(text(f"CREATE TABLE {table} (x int)"))
            tx.before_commit(hook)
        assert first != second
        assert await _marks(reads, table) == 1
        async with reads.connect() as conn:
            assert (await conn.get_raw_connection()).driver_connection.autocommit
    finally:
        async with reads.connect() as conn:
            await conn.execute(text(f"DROP TABLE IF EXISTS {table}"))
        await reads.dispose()
