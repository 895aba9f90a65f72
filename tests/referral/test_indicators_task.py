"""The nightly indicators task at its boundary: last month's and this month's reports, one unit of work each
(savepoints of the test's transaction stand in for them)."""

from __future__ import annotations

from datetime import UTC, datetime

from app.celery_app import celery
from app.indicator_tasks import MONTHLY_TASK, months_to_report, run_monthly
from ece import search
from tests.referral.test_indicators import october


def test_the_months_to_report_are_the_previous_and_the_current_in_honduras_time():
    assert months_to_report(datetime(2026, 11, 1, 3, 0, tzinfo=UTC)) == ["2026-09", "2026-10"]  # 21:00 on Oct 31
    assert months_to_report(datetime(2027, 1, 15, tzinfo=UTC)) == ["2026-12", "2027-01"]


async def test_the_nightly_run_stores_both_months_and_a_second_run_only_updates(tx, units):
    await october(tx)
    now = datetime(2026, 11, 2, 8, 30, tzinfo=UTC)
    first = await run_monthly(units, now=now)
    assert first == 7 * 5 + 4 * 4 + 11  # October by facility, region and country; November: country only
    assert await run_monthly(units, now=now) == first
    page = await search.search(tx.conn, resource_types=["MeasureReport"], pairs=[("_total", "accurate")])
    assert page.total == first


def test_beat_runs_the_indicators_every_night():
    entry = celery.conf.beat_schedule["referral-indicators"]
    assert entry["task"] == MONTHLY_TASK and MONTHLY_TASK in celery.tasks
