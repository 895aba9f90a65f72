"""Celery tasks of the referral engine (the task boundary: each opens its own units of work).

``referral.sweep_deadlines`` runs every ``ECE_REFERRAL_SWEEP_SECONDS`` from ``ece beat``: it lists the overdue
referral Tasks, then marks each one in its own transaction (referral.deadlines), so one failure never holds back
the others and a run repeated after a crash marks nothing twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import TypeVar

from sqlalchemy.exc import DBAPIError

from app.celery_app import celery
from app.db import make_async_engine, resolve_database_url
from app.referrals import install_referral_engine
from app.settings import get_settings
from ece import store
from ece.tx import Transaction, unit_of_work
from fhir_profiles.enforcement import install_validator
from referral import deadlines

log = logging.getLogger(__name__)

SWEEP_TASK = "referral.sweep_deadlines"
# A failed run (database unreachable) is retried 3 times with exponential backoff of 10, 20 and 40 s: about
# 70 s in all, after which the next beat run (every ECE_REFERRAL_SWEEP_SECONDS) takes over.
SWEEP_MAX_RETRIES = 3
SWEEP_RETRY_BACKOFF_SECONDS = 10

UnitOfWork = Callable[[], AbstractAsyncContextManager[Transaction]]
T = TypeVar("T")


async def run_sweep(open_unit: UnitOfWork, *, now: datetime) -> int:
    """Mark every referral overdue at ``now``; answers how many were marked."""
    async with open_unit() as tx:
        due = await deadlines.overdue(tx, now=now)
    marked = 0
    for task_id in due:
        try:
            async with open_unit() as tx:
                marked += await deadlines.mark_overdue(tx, task_id=task_id, now=now)
        except Exception:  # one referral that cannot be marked must not stop the sweep; the next run retries it
            log.exception("could not mark Task/%s overdue", task_id)
    return marked


async def with_write_path(work: Callable[[UnitOfWork], Awaitable[T]]) -> T:
    """Run ``work(open_unit)`` in this worker on its own engine, writing through the store as the API does: same
    profile checks, same referral hook (both installs are idempotent)."""
    settings = get_settings()
    install_validator(settings.enforced_profile_types)
    install_referral_engine(settings)
    engine = make_async_engine(resolve_database_url(settings), pool_size=2)
    try:
        return await work(lambda: unit_of_work(engine))
    finally:
        await engine.dispose()


async def _sweep_now() -> int:
    return await with_write_path(lambda open_unit: run_sweep(open_unit, now=store.now()))


@celery.task(name=SWEEP_TASK, autoretry_for=(DBAPIError,), max_retries=SWEEP_MAX_RETRIES,
             retry_backoff=SWEEP_RETRY_BACKOFF_SECONDS)
def sweep_deadlines() -> int:
    return asyncio.run(_sweep_now())

