"""Rebuilding the search indexes after a parameter changes (``ece reindex``).

Works in small batches, each its own transaction (so the server keeps serving), and records where it
got to after every batch: an interrupted run resumes where it stopped.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from ece import store
from ece.tx import unit_of_work

BATCH_SIZE = 500

_START = text("SELECT last_id FROM search_reindex_progress WHERE resource_type = :t")
_SAVE = text("INSERT INTO search_reindex_progress (resource_type, last_id, updated_at) VALUES (:t, :i, now()) "
             "ON CONFLICT (resource_type) DO UPDATE SET last_id = EXCLUDED.last_id, updated_at = now()")
_FORGET = text("DELETE FROM search_reindex_progress WHERE resource_type = :t")
_REMAINING = text("SELECT count(*) FROM resource WHERE resource_type = :t AND id > :after AND NOT deleted")


async def remaining(engine: AsyncEngine, resource_type: str, *, restart: bool) -> int:
    async with unit_of_work(engine) as tx:
        if restart:
            await tx.conn.execute(_FORGET, {"t": resource_type})
        after = (await tx.conn.execute(_START, {"t": resource_type})).scalar_one_or_none() or ""
        return (await tx.conn.execute(_REMAINING, {"t": resource_type, "after": after})).scalar_one()


async def reindex_type(engine: AsyncEngine, resource_type: str, progress: Callable[[int], None]) -> int:
    """Re-index every current resource of ``resource_type`` from where the last run stopped."""
    done = 0
    while True:
        async with unit_of_work(engine) as tx:
            after = (await tx.conn.execute(_START, {"t": resource_type})).scalar_one_or_none() or ""
            count, last = await store.reindex_batch(tx, resource_type=resource_type, after_id=after,
                                                    limit=BATCH_SIZE)
            if last is None:
                await tx.conn.execute(_FORGET, {"t": resource_type})
                return done
            await tx.conn.execute(_SAVE, {"t": resource_type, "i": last})
        done += count
        progress(count)
