"""Recording: events buffered in the caller's transaction and appended in one batch just before it commits.

A transaction that wrote nothing but the audit of reads commits without waiting for its WAL flush (unless
``configure(durable_reads=True)``): the flush is what a read would otherwise pay for its audit (~20 ms on
the bench machine against a 2-3 ms read), and a crash of PostgreSQL itself loses at most the read audits of
its last fraction of a second (3 x wal_writer_delay). Writes, and their audits, always commit durably.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from ece.audit.chain import append
from ece.audit.events import Event
from ece.tx import Transaction, unit_of_work

_BUFFER = "_audit_events"
READ_INTERACTIONS = frozenset({"read", "vread", "history", "search"})
_durable_reads = False

def configure(*, durable_reads: bool) -> None:
    global _durable_reads
    _durable_reads = durable_reads


def record(tx: Transaction, event: Event) -> None:
    """Buffer ``event`` in ``tx``; it is written with the transaction's other writes, or not at all."""
    pending: list[Event] | None = getattr(tx, _BUFFER, None)
    if pending is None:
        pending = []
        setattr(tx, _BUFFER, pending)

        async def flush() -> None:
            if not pending:
                return
            reads_only = all(e.interaction in READ_INTERACTIONS and e.outcome == "0" for e in pending)
            await append(tx.conn, pending, async_commit=reads_only and not _durable_reads)

        tx.before_commit(flush)
    pending.append(event)


async def record_now(engine: AsyncEngine, event: Event) -> None:
    """Record in a transaction of its own: refusals (whose request rolled back) and logins."""
    async with unit_of_work(engine) as tx:
        record(tx, event)
