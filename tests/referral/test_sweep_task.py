"""The beat's deadline sweep at its boundary: one unit of work per overdue referral (savepoints of the test's
transaction stand in for them)."""

from __future__ import annotations

from datetime import timedelta

from app.celery_app import celery
from app.referral_tasks import SWEEP_TASK, run_sweep
from tests.referral.test_deadlines import _sent_at
from tests.referral.test_lifecycle import _business, _open, _read


async def test_the_sweep_marks_each_overdue_referral_once(tx, units):
    _sr, [late] = await _open(tx, priority="stat")
    _sr, [on_time] = await _open(tx, priority="routine")
    now = await _sent_at(tx, late) + timedelta(hours=1)
    assert await run_sweep(units, now=now) >= 1
    assert _business(await _read(tx, f"Task/{late}")) == "aceptacion-vencida"
    assert _business(await _read(tx, f"Task/{on_time}")) == "enviada"
    assert await run_sweep(units, now=now) == 0


def test_beat_runs_the_sweep_periodically():
    entry = celery.conf.beat_schedule["referral-deadlines"]
    assert entry["task"] == SWEEP_TASK and SWEEP_TASK in celery.tasks
