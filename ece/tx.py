"""The unit of work: one database transaction plus the hooks to run once it has committed.

The request or task boundary opens it (``unit_of_work``) and owns commit and rollback; store and
service functions receive the ``Transaction`` and never commit. Hooks queued with ``after_commit``
run only if the commit succeeded, so nothing is announced for a write that was rolled back.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger(__name__)

AfterCommitHook = Callable[[], Awaitable[None] | None]
BeforeCommitHook = Callable[[], Awaitable[None]]


class Transaction:
    def __init__(self, conn: AsyncConnection):
        self.conn = conn
        self._after_commit: list[AfterCommitHook] = []
        self._before_commit: list[BeforeCommitHook] = []

    def before_commit(self, hook: BeforeCommitHook) -> None:
        """Run ``hook`` inside the transaction just before it commits (the audit trail writes its batch here,
        so a write and its AuditEvent commit or roll back together)."""
        self._before_commit.append(hook)

    async def run_before_commit(self) -> None:
        while self._before_commit:
            await self._before_commit.pop(0)()

    def after_commit(self, hook: AfterCommitHook) -> None:
        self._after_commit.append(hook)

    async def run_after_commit(self) -> None:
        hooks, self._after_commit = self._after_commit, []
        for hook in hooks:
            try:
                result = hook()
                if result is not None:
                    await result
            except Exception:  # a failed hook must not turn a committed write into an error
                log.exception("after-commit hook failed")


@asynccontextmanager
async def unit_of_work(engine: AsyncEngine) -> AsyncIterator[Transaction]:
    async with engine.connect() as conn:
        tx = Transaction(conn)
        async with conn.begin():
            yield tx
            await tx.run_before_commit()
        await tx.run_after_commit()


@asynccontextmanager
async def read_unit(engine: AsyncEngine) -> AsyncIterator[Transaction]:
    """The unit of a request that only reads, and appends its own audit: statements run in autocommit, which
    saves the BEGIN and COMMIT round trips. The reads see what they would see in a transaction (at READ
    COMMITTED every statement takes a snapshot of its own either way), and the one write, the audit batch run
    by the before-commit hooks, is a single statement, so it is atomic alone. Nothing else may write here.

    An engine whose connections are in autocommit already (app.db.make_async_engine(autocommit=True), the API's
    read engine) is used as it is; any other engine's connection is switched for the unit and back after it."""
    async with engine.connect() as conn:
        raw = await conn.get_raw_connection()
        if not raw.driver_connection.autocommit:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
        tx = Transaction(conn)
        yield tx
        await tx.run_before_commit()
    await tx.run_after_commit()

