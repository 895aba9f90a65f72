"""``GET /health``: the database, the broker, and the age of the oldest undelivered outbox row.

200 when all three are fine, 503 otherwise (a load balancer or monitor needs nothing more).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from ece.notifications.config import current
from ece.notifications.outbox import oldest_undelivered

CHECK_TIMEOUT_SECONDS = 3.0
log = logging.getLogger(__name__)


def _public(error: Exception, what: str) -> str:
    """/health is public: it names the kind of failure; the message (hosts, users, paths) goes to the log."""
    log.warning("health check of the %s failed: %s: %s", what, type(error).__name__, error)
    return type(error).__name__


async def report(engine: AsyncEngine, *, broker_ping: Callable[[], None] | None) -> tuple[int, dict]:
    """(HTTP status, JSON body). ``broker_ping`` raises when the broker cannot be reached (None: no broker)."""
    database: dict = {"ok": False}
    outbox: dict = {}
    started = time.perf_counter()
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS), engine.connect() as conn:
            oldest, undelivered, failed = await oldest_undelivered(conn)
        database = {"ok": True, "latency_ms": round((time.perf_counter() - started) * 1000, 1)}
        age = (datetime.now(UTC) - oldest).total_seconds() if oldest is not None else 0.0
        limit = current().health_max_outbox_age_seconds
        outbox = {"ok": age <= limit, "oldest_undelivered_age_seconds": round(max(age, 0.0), 1),
                  "max_age_seconds": limit, "undelivered": undelivered, "failed": failed}
    except Exception as error:  # any failure to reach the database is the answer, not a 500
        database["error"] = _public(error, "database")
    broker: dict = {"ok": broker_ping is None}
    if broker_ping is not None:
        started = time.perf_counter()
        try:
            await asyncio.wait_for(asyncio.to_thread(broker_ping), CHECK_TIMEOUT_SECONDS)
            broker = {"ok": True, "latency_ms": round((time.perf_counter() - started) * 1000, 1)}
        except Exception as error:  # unreachable, refused, timed out: reported, never raised
            broker = {"ok": False, "error": _public(error, "broker")}
    healthy = database["ok"] and broker["ok"] and outbox.get("ok", False)
    body = {"status": "ok" if healthy else "unavailable", "database": database, "broker": broker, "outbox": outbox}
    return (200 if healthy else 503), body
