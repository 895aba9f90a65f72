"""Recording: events buffered in the caller's transaction and appended in one batch just before it commits."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from ece.audit.chain import append
from ece.audit.events import Event
from ece.tx import Transaction, unit_of_work

_BUFFER = "_audit_events"


def record(tx: Transaction, event: Event) -> None:
    """Buffer ``event`` in ``tx``; it is written with the transaction's other writes, or not at all."""
    pending: list[Event] | None = getattr(tx, _BUFFER, None)
    if pending is None:
        pending = []
        setattr(tx, _BUFFER, pending)

        async def flush() -> None:
            if pending:
                await append(tx.conn, pending)

        tx.before_commit(flush)
    pending.append(event)


async def record_now(engine: AsyncEngine, event: Event) -> None:
    """Record in a transaction of its own: refusals (whose request rolled back) and logins."""
    async with unit_of_work(engine) as tx:
        record(tx, event)
