"""``python -m bench.referral``: referral lifecycle transitions per second, and the time from a transition to its
notification being queued (figures, not a test).

Runs in-process against the service layer, as a request or task would (one unit of work per transition, the
store's write path, its hooks, Provenance, outbox rows): a fresh migrated ``ece_bench_referral`` database on the
server of ``ECE_DATABASE_URL``, else ``ECE_TEST_DATABASE_URL``, else an embedded PostgreSQL. Each referral runs the
whole loop: create (the engine opens its Task, compiles the clinical summary, notifies the destination), then
$receive, $accept, $schedule, $arrive, $respond, $acknowledge: 7 transitions. The notification queue is a
recorder standing in for the broker: it notes when each transition's outbox rows are handed over after commit.

Environment: BENCH_REFERRALS (default 100), BENCH_CLIENTS (concurrent loops, default 4). National profiles are
checked on the resources that declare them, as the engine's ServiceRequests, Tasks and responses always do.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
from collections.abc import Sequence
from contextvars import ContextVar

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app import migrate
from app.db import EmbeddedPostgres, ensure_database, make_async_engine, sqlalchemy_url
from app.referrals import install_referral_engine
from app.settings import Settings
from bench.config import ROOT, VAR
from ece import notifications, search, store
from ece.tx import unit_of_work
from fhir_profiles.enforcement import install_validator
from referral import lifecycle
from referral.inputs import Inputs
from referral.machine import Event

sys.path.insert(0, str(ROOT))
from tests.referral import factories as f  # noqa: E402 - the explicit synthetic network of the tests

DATABASE = "ece_bench_referral"
_started: ContextVar[float | None] = ContextVar("bench_transition_started", default=None)
queued_after: list[float] = []


def _record_queue(ids: Sequence[str]) -> None:
    """The broker's stand-in: seconds from the start of the transition to its rows being handed over."""
    began = _started.get()
    if began is not None and ids:
        queued_after.append(time.perf_counter() - began)


def _drop(admin_url: str) -> None:
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'))
    engine.dispose()


def _server_url() -> str:
    configured = os.environ.get("ECE_DATABASE_URL") or os.environ.get("ECE_TEST_DATABASE_URL")
    if configured:
        return sqlalchemy_url(configured)
    return sqlalchemy_url(EmbeddedPostgres(VAR / "bench-pgdata").url("postgres"))


by_event: dict[str, list[float]] = {}


async def _timed(engine, durations: list[float], step, name: str) -> None:
    began = time.perf_counter()
    _started.set(began)
    async with unit_of_work(engine) as tx:
        await step(tx)
    durations.append(time.perf_counter() - began)
    by_event.setdefault(name, []).append(durations[-1])


async def _loop(engine, number: int, durations: list[float]) -> None:
    created: dict[str, str] = {}

    async def send(tx) -> None:
        referral = f.referral()
        referral["identifier"][0]["value"] = f"REF-BENCH-{number:06d}"
        result = await store.create(tx, data=referral)
        [created["task"]] = await search.matching_ids(tx.conn, resource_type="Task",
                                                      query=f"focus=ServiceRequest/{result.id}", limit=2)

    await _timed(engine, durations, send, "create+send")
    steps = [(Event.RECEIVE, f.DESTINATION_CLINICIAN, Inputs()), (Event.ACCEPT, f.DESTINATION_CLINICIAN, Inputs()),
             (Event.SCHEDULE, f.DESTINATION_CLINICIAN, Inputs(start="2026-12-02T08:00:00-06:00")),
             (Event.ARRIVE, f.DESTINATION_CLINICIAN, Inputs()),
             (Event.RESPOND, f.DESTINATION_CLINICIAN, Inputs(response=f.response())),
             (Event.ACKNOWLEDGE, f.ORIGIN_CLINICIAN, Inputs())]
    for event, actor, given in steps:
        async def fire(tx, event=event, actor=actor, given=given) -> None:
            await lifecycle.fire(tx, task_id=created["task"], event=event, actor=actor, inputs=given)

        await _timed(engine, durations, fire, f"${event}")


def _ms(values: list[float], q: float) -> str:
    if not values:
        return "—"
    ordered = sorted(values)
    return f"{ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000:.1f} ms"


async def main() -> int:
    referrals = int(os.environ.get("BENCH_REFERRALS") or 100)
    clients = int(os.environ.get("BENCH_CLIENTS") or 4)
    admin = _server_url()
    _drop(admin)
    ensure_database(admin, DATABASE)
    url = make_url(admin).set(database=DATABASE).render_as_string(hide_password=False)
    migrate.upgrade(url)
    install_validator("")
    install_referral_engine(Settings(_env_file=None))
    notifications.install(notifications.Config(), queue=_record_queue)
    engine = make_async_engine(url, pool_size=clients + 1)
    try:
        async with unit_of_work(engine) as tx:
            await f.network(tx)
        warm: list[float] = []
        await _loop(engine, 0, warm)  # imports, caches and prepared statements, not counted
        queued_after.clear()
        by_event.clear()
        durations: list[float] = []
        pending = iter(range(1, referrals + 1))

        async def client() -> None:
            for number in pending:
                await _loop(engine, number, durations)

        began = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(clients)))
        elapsed = time.perf_counter() - began
    finally:
        await engine.dispose()
        _drop(admin)
    print("ECE Honduras: referral lifecycle benchmark (figures, not a test)")
    print(f"command:     BENCH_REFERRALS={referrals} BENCH_CLIENTS={clients} python -m bench.referral")
    print(f"referrals:   {referrals} full loops, {len(durations)} transitions in {elapsed:.1f} s")
    print(f"throughput:  {len(durations) / elapsed:.1f} transitions/s ({referrals / elapsed:.1f} closed loops/s)")
    print(f"transition:  p50 {_ms(durations, 0.5)}, p95 {_ms(durations, 0.95)}, "
          f"mean {statistics.fmean(durations) * 1000:.1f} ms (one unit of work each)")
    print(f"to queued:   p50 {_ms(queued_after, 0.5)}, p95 {_ms(queued_after, 0.95)} from the start of a "
          f"transition to its notification rows handed to the queue ({len(queued_after)} transitions notified)")
    print("per event:   " + ", ".join(f"{name} {_ms(values, 0.5)}" for name, values in by_event.items())
          + " (p50)")
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
