"""/health's report and the sweep of rows the broker never took, on the committed test database."""

from __future__ import annotations

from sqlalchemy import text

from ece.notifications import notify
from ece.notifications.health import report
from ece.notifications.operations import sweep
from ece.tx import unit_of_work
from tests.ece.notifications.factories import notice


async def _write(engine, about: str) -> list[str]:
    async with unit_of_work(engine) as tx:
        return await notify(tx, [notice(recipient="region:09", about=about)])


async def _age(engine, ids: list[str], seconds: int) -> None:
    async with unit_of_work(engine) as tx:
        await tx.conn.execute(text("UPDATE notification_outbox SET created_at = now() - make_interval(secs => :s), "
                                   "next_attempt_at = now() - make_interval(secs => :s) WHERE id = ANY(:ids)"),
                              {"s": seconds, "ids": ids})


async def _settle(engine, ids: list[str]) -> None:
    async with unit_of_work(engine) as tx:
        await tx.conn.execute(text("UPDATE notification_outbox SET status = 'delivered' WHERE id = ANY(:ids)"),
                              {"ids": ids})


async def test_sweep_queues_again_only_rows_overdue_by_the_grace_period(notify_engine, queued):
    overdue = await _write(notify_engine, "Task/barrido-viejo")
    fresh = await _write(notify_engine, "Task/barrido-nuevo")
    await _age(notify_engine, overdue, 120)
    queued.clear()
    async with unit_of_work(notify_engine) as tx:
        swept = await sweep(tx, grace_seconds=60)
    assert overdue[0] in swept and fresh[0] not in swept
    assert queued == [swept]  # queued after commit
    async with unit_of_work(notify_engine) as tx:
        assert overdue[0] not in await sweep(tx, grace_seconds=60)  # pushed back: not queued twice in a row
    await _settle(notify_engine, overdue + fresh)


async def test_health_is_503_when_the_broker_is_unreachable(notify_engine, queued):
    def refused() -> None:
        raise ConnectionRefusedError("[Errno 111] Connection refused")

    status, body = await report(notify_engine, broker_ping=refused)
    assert status == 503
    assert body["database"]["ok"] is True
    assert body["broker"] == {"ok": False, "error": "ConnectionRefusedError"}  # the details go to the log only


async def test_health_is_503_when_an_undelivered_row_is_too_old(notify_engine, queued):
    async with unit_of_work(notify_engine) as tx:  # rows other tests left undelivered on purpose
        await tx.conn.execute(text("UPDATE notification_outbox SET status = 'delivered' "
                                   "WHERE status IN ('pending', 'sending')"))
    status, body = await report(notify_engine, broker_ping=lambda: None)
    assert status == 200, body
    stale = await _write(notify_engine, "Task/salud-vieja")
    await _age(notify_engine, stale, 3600)
    status, body = await report(notify_engine, broker_ping=lambda: None)
    assert status == 503
    assert body["outbox"]["ok"] is False
    assert body["outbox"]["oldest_undelivered_age_seconds"] >= 3600
    await _settle(notify_engine, stale)
