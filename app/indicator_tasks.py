"""Celery task of the referral indicators (the task boundary: it opens its own unit of work).

``referral.indicators_monthly`` runs every night from ``ece beat`` (02:30 Honduras time): it stores the
MeasureReports of the month that just ended and of the current month so far, so the dashboards read searches of
stored reports, never a live evaluation. Re-running it updates the same reports (their ids derive from indicator,
subject and period), so a retry or a repeated run never duplicates anything.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from sqlalchemy.exc import DBAPIError

from app.celery_app import celery
from app.referral_tasks import UnitOfWork, with_write_path
from ece import store
from referral.indicators import HONDURAS_TIME, store_monthly_reports

MONTHLY_TASK = "referral.indicators_monthly"
# A failed run (database unreachable) is retried 4 times with exponential backoff of 60, 120, 240 and 480 s:
# about 15 minutes in all, after which the next night's run takes over.
MONTHLY_MAX_RETRIES = 4
MONTHLY_RETRY_BACKOFF_SECONDS = 60

def months_to_report(now: datetime) -> list[str]:
    """The month before ``now`` and ``now``'s month (YYYY-MM), in Honduras time."""
    local = now.astimezone(HONDURAS_TIME)
    previous = (local.year - 1, 12) if local.month == 1 else (local.year, local.month - 1)
    return [f"{previous[0]:04d}-{previous[1]:02d}", f"{local.year:04d}-{local.month:02d}"]


async def run_monthly(open_unit: UnitOfWork, *, now: datetime) -> int:
    """Store the reports of the months to report, one unit of work per month; answers how many were written."""
    written = 0
    for month in months_to_report(now):
        async with open_unit() as tx:
            written += len(await store_monthly_reports(tx, month=month))
    return written


async def _monthly_now() -> int:
    return await with_write_path(lambda open_unit: run_monthly(open_unit, now=store.now()))


@celery.task(name=MONTHLY_TASK, autoretry_for=(DBAPIError,), max_retries=MONTHLY_MAX_RETRIES,
             retry_backoff=MONTHLY_RETRY_BACKOFF_SECONDS)
def indicators_monthly() -> int:
    return asyncio.run(_monthly_now())
