"""``python -m bench.notifications``: commit-to-delivery latency of notifications under a sustained event rate.

Starts, on a fresh ``ece_bench_notify`` database, real ``ece worker`` and ``ece beat`` processes (broker:
``ECE_BROKER_URL``, else kombu's SQLAlchemy transport on the same PostgreSQL) and an SMS gateway (a local HTTP
receiver). This process then writes ``--rate`` events per second for ``--seconds``, one write transaction each:

- ``--workload referral`` (default): real referral transitions through the engine (``referral.lifecycle``: create
  and send, $receive, $accept, $schedule, $arrive, $respond, $acknowledge, on the synthetic network of
  tests/referral/factories.py); the engine calls ``notify`` (mostly in-app inbox notices to the facilities);
- ``--workload notify``: a Task update through the store plus ``notify`` for a patient who consented to SMS
  (an in-app inbox row and an SMS row).

Printed: the rate achieved, p50/p95/max from commit to delivery (inbox: the Communication's commit; SMS: arrival
at the gateway), delivered against written, duplicates seen by the gateway, and the worker's CPU per delivery.

PostgreSQL server: ``ECE_TEST_DATABASE_URL``'s or ``ECE_DATABASE_URL``'s (required; no embedded server here).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATABASE = "ece_bench_notify"
DRAIN_SECONDS = 60
TASK_STATUSES = ("requested", "received", "accepted", "in-progress")


class Gateway:
    """The SMS gateway: arrival time of every POST, by Idempotency-Key."""

    def __init__(self) -> None:
        self.first: dict[str, float] = {}
        self.arrivals = 0
        lock = threading.Lock()
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's hook
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with lock:
                    gateway.arrivals += 1
                    gateway.first.setdefault(self.headers.get("Idempotency-Key", ""), time.time())
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/sms"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def _percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def _admin_url() -> str:
    url = os.environ.get("ECE_TEST_DATABASE_URL") or os.environ.get("ECE_DATABASE_URL")
    if not url:
        sys.exit("ECE_TEST_DATABASE_URL o ECE_DATABASE_URL / is required (the PostgreSQL server to use)")
    return url


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rate", type=float, default=50.0, help="events per second (default 50)")
    parser.add_argument("--seconds", type=float, default=60.0, help="how long events are written (default 60)")
    parser.add_argument("--concurrency", type=int, default=8, help="worker pool size (default 8)")
    parser.add_argument("--pool", default="threads", choices=("prefork", "threads"), help="worker pool (threads)")
    parser.add_argument("--workload", default="referral", choices=("referral", "notify"),
                        help="referral transitions (default) or direct notify() calls")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so the worker and beat started here are stopped too

    from sqlalchemy.engine import make_url

    from app import migrate
    from app.db import ensure_database, libpq_url, sqlalchemy_url

    admin = sqlalchemy_url(_admin_url())
    from sqlalchemy import create_engine, text

    engine = create_engine(make_url(admin).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'))
    engine.dispose()
    ensure_database(make_url(admin).set(database="postgres").render_as_string(hide_password=False), DATABASE)
    database_url = make_url(admin).set(database=DATABASE).render_as_string(hide_password=False)
    migrate.upgrade(database_url)

    gateway = Gateway()
    queue = f"ece_bench_{secrets.token_hex(3)}"
    logs = ROOT / "var"
    logs.mkdir(exist_ok=True)
    os.environ.update({"ECE_DATABASE_URL": libpq_url(database_url), "ECE_TASK_QUEUE": queue,
                       "ECE_SMS_GATEWAY_URL": gateway.url, "ECE_ENFORCED_PROFILE_TYPES": "",
                       "ECE_DATA_DIR": str(logs / "bench-notify")})
    broker = os.environ.get("ECE_BROKER_URL") or "(PostgreSQL, kombu SQLAlchemy transport)"
    print(f"command:  python -m bench.notifications --workload {args.workload} --rate {args.rate:g} "
          f"--seconds {args.seconds:g} --concurrency {args.concurrency} --pool {args.pool}", flush=True)
    print(f"broker:   {broker}; queue {queue}; cpus {os.cpu_count()}", flush=True)
    processes = []
    worker = ["worker", "--concurrency", str(args.concurrency), "--name", queue, "--pool", args.pool]
    for command, log in ((worker, "bench-worker.log"),
                         (["beat"], "bench-beat.log")):
        processes.append(subprocess.Popen([sys.executable, "-m", "app", *command], cwd=ROOT, env=dict(os.environ),
                                          stdout=open(logs / log, "w"), stderr=subprocess.STDOUT,  # noqa: SIM115
                                          start_new_session=True))
    try:
        _wait_for(logs / "bench-worker.log", "ready.")
        before = _cpu_seconds(processes[0].pid)
        outcome = asyncio.run(_run(args, gateway))
        used = _cpu_seconds(processes[0].pid) - before
        deliveries = outcome.delivered
        print(f"worker:   {used:.1f} CPU s for about {deliveries} deliveries: {1000 * used / max(deliveries, 1):.1f} "
              f"CPU ms each ({args.pool} pool of {args.concurrency}; load average {os.getloadavg()[0]:.1f} on "
              f"{os.cpu_count()} CPUs)", flush=True)
        return 0 if outcome.lost == 0 else 1
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
        if os.environ.get("ECE_BROKER_URL"):
            from kombu import Connection

            with Connection(os.environ["ECE_BROKER_URL"]) as connection:
                connection.default_channel.queue_delete(queue)


def _cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a process and its children now alive (the worker and its pool)."""
    import psutil

    root = psutil.Process(pid)
    total = 0.0
    for process in (root, *root.children(recursive=True)):
        try:
            times = process.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


def _wait_for(path: Path, marker: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while marker not in (path.read_text(errors="replace") if path.exists() else ""):
        if time.monotonic() > deadline:
            sys.exit(f"the worker did not start; see {path}")
        time.sleep(0.2)


@dataclass
class Outcome:
    delivered: int
    lost: int


class Pace:
    """Hands out start times ``rate`` per second from the first call; callers sleep until theirs."""

    def __init__(self, rate: float, total: int) -> None:
        self.rate = rate
        self.total = total
        self.issued = 0
        self.started = 0.0

    async def next(self) -> bool:
        if self.issued >= self.total:
            return False
        if self.issued == 0:
            self.started = time.perf_counter()
        slot = self.started + self.issued / self.rate
        self.issued += 1
        delay = slot - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        return True


async def _run(args: argparse.Namespace, gateway: Gateway) -> Outcome:
    from app.celery_app import BROKER_QUEUE, notifications_config
    from app.db import make_async_engine
    from app.settings import get_settings
    from ece import notifications

    committed: dict[str, float] = {}  # outbox row id -> when it was handed to the broker, right after commit

    def queue(ids: Sequence[str]) -> None:
        moment = time.time()
        for row_id in ids:
            committed[row_id] = moment
        BROKER_QUEUE(ids)

    notifications.install(notifications_config(get_settings()), queue=queue)
    engine = make_async_engine(os.environ["ECE_DATABASE_URL"], pool_size=6)  # a shared PostgreSQL: few connections
    total = int(args.rate * args.seconds)
    pace = Pace(args.rate, total)
    failures: list[str] = []
    workload = _referral_workload if args.workload == "referral" else _notify_workload
    began = time.perf_counter()
    await workload(engine, pace, failures)
    elapsed = time.perf_counter() - pace.started
    events = pace.issued - len(failures)
    print(f"written:  {events} events in {elapsed:.1f} s ({events / elapsed:.1f}/s), {len(committed)} outbox rows, "
          f"{len(failures)} failed writes (setup {pace.started - began:.1f} s)", flush=True)
    for failure in failures[:3]:
        print(f"  write failed: {failure}", flush=True)
    outcome = await _measure(engine, committed, gateway)
    await engine.dispose()
    return outcome


async def _notify_workload(engine, pace: Pace, failures: list[str]) -> None:
    from ece import store
    from ece.notifications import Notice, notify
    from ece.notifications.recipients import SMS_CONSENT_EXTENSION
    from ece.tx import unit_of_work

    patients = 50

    def task(n: int, status: str) -> dict:
        return {"resourceType": "Task", "id": f"bench-ref-{n}", "status": status, "intent": "order",
                "identifier": [{"system": "https://fhir.salud.gob.hn/sid/referencia", "value": f"REF-{n:06d}"}],
                "for": {"reference": f"Patient/bench-{n}"}}

    async with unit_of_work(engine) as tx:
        for n in range(patients):
            await store.update(tx, resource_type="Patient", resource_id=f"bench-{n}", data={
                "resourceType": "Patient", "id": f"bench-{n}", "name": [{"family": "Banco", "given": [str(n)]}],
                "extension": [{"url": SMS_CONSENT_EXTENSION, "valueBoolean": True}],
                "telecom": [{"system": "sms", "value": f"+504999{n:05d}"}]})
            await store.update(tx, resource_type="Task", resource_id=f"bench-ref-{n}", data=task(n, "requested"))

    async def event(n: int) -> None:
        slot = n % patients
        try:
            async with unit_of_work(engine) as tx:
                status = TASK_STATUSES[(n // patients) % len(TASK_STATUSES)]
                await store.update(tx, resource_type="Task", resource_id=f"bench-ref-{slot}", data=task(slot, status))
                await notify(tx, [Notice(
                    event="referral.accepted", recipient=f"Patient/bench-{slot}", about=f"Task/bench-ref-{slot}",
                    title_es="Referencia aceptada", text_es="Su referencia fue aceptada.",
                    title_en="Referral accepted", text_en="Your referral was accepted.")])
        except Exception as error:  # counted and shown: a failed write is part of the figures
            failures.append(f"{type(error).__name__}: {error}")

    running = []
    n = 0
    while await pace.next():
        running.append(asyncio.create_task(event(n)))
        n += 1
    await asyncio.gather(*running)


REFERRAL_CLIENTS = 24  # referral loops in flight, so a transition is always ready when its slot comes


async def _referral_workload(engine, pace: Pace, failures: list[str]) -> None:
    sys.path.insert(0, str(ROOT))
    from app.referrals import install_referral_engine
    from app.settings import Settings
    from ece import search, store
    from ece.tx import unit_of_work
    from fhir_profiles.enforcement import install_validator
    from referral import lifecycle
    from referral.inputs import Inputs
    from referral.machine import Event
    from tests.referral import factories as f

    install_validator("")
    install_referral_engine(Settings(_env_file=None))
    async with unit_of_work(engine) as tx:
        await f.network(tx)
    steps = [(Event.RECEIVE, f.DESTINATION_CLINICIAN, lambda: Inputs()),
             (Event.ACCEPT, f.DESTINATION_CLINICIAN, lambda: Inputs()),
             (Event.SCHEDULE, f.DESTINATION_CLINICIAN, lambda: Inputs(start="2026-12-02T08:00:00-06:00")),
             (Event.ARRIVE, f.DESTINATION_CLINICIAN, lambda: Inputs()),
             (Event.RESPOND, f.DESTINATION_CLINICIAN, lambda: Inputs(response=f.response())),
             (Event.ACKNOWLEDGE, f.ORIGIN_CLINICIAN, lambda: Inputs())]
    numbers = iter(range(1, 10**9))

    async def loop() -> None:
        while True:
            if not await pace.next():
                return
            number = next(numbers)
            try:
                async with unit_of_work(engine) as tx:
                    referral = f.referral()
                    referral["identifier"][0]["value"] = f"REF-BENCH-{number:06d}"
                    created = await store.create(tx, data=referral)
                    [task_id] = await search.matching_ids(tx.conn, resource_type="Task",
                                                          query=f"focus=ServiceRequest/{created.id}", limit=2)
            except Exception as error:  # counted and shown
                failures.append(f"create: {type(error).__name__}: {error}")
                continue
            for event, actor, inputs in steps:
                if not await pace.next():
                    return
                try:
                    async with unit_of_work(engine) as tx:
                        await lifecycle.fire(tx, task_id=task_id, event=event, actor=actor, inputs=inputs())
                except Exception as error:  # counted and shown
                    failures.append(f"${event}: {type(error).__name__}: {error}")
                    break

    await asyncio.gather(*(loop() for _ in range(REFERRAL_CLIENTS)))


async def _measure(engine, committed: dict[str, float], gateway: Gateway) -> Outcome:
    from sqlalchemy import text

    deadline = time.monotonic() + DRAIN_SECONDS
    while time.monotonic() < deadline:
        async with engine.connect() as conn:
            open_rows = (await conn.execute(text(
                "SELECT count(*) FROM notification_outbox WHERE status <> 'delivered'"))).scalar_one()
        if open_rows == 0:
            break
        await asyncio.sleep(0.5)
    async with engine.connect() as conn:
        rows = (await conn.execute(text("SELECT id, channel, status, extract(epoch FROM delivered_at) "
                                        "FROM notification_outbox"))).all()
    latencies: dict[str, list[float]] = {}
    delivered: dict[str, int] = {}
    written: dict[str, int] = {}
    for row_id, channel, status, delivered_at in rows:
        if row_id not in committed:
            continue
        written[channel] = written.get(channel, 0) + 1
        if channel == "sms":
            arrived = gateway.first.get(row_id)
        else:
            arrived = float(delivered_at) if status == "delivered" else None
        if arrived is not None:
            delivered[channel] = delivered.get(channel, 0) + 1
            latencies.setdefault(channel, []).append(arrived - committed[row_id])
    for channel in sorted(written):
        values = latencies.get(channel, [])
        figures = (f"p50 {_percentile(values, 50) * 1000:.0f} ms, p95 {_percentile(values, 95) * 1000:.0f} ms, "
                   f"max {max(values) * 1000:.0f} ms") if values else "no deliveries"
        print(f"{channel:8s}  delivered {delivered.get(channel, 0)} of {written[channel]} written; "
              f"commit to delivery {figures}", flush=True)
    everything = [v for values in latencies.values() for v in values]
    if everything:
        print(f"all       p50 {_percentile(everything, 50) * 1000:.0f} ms, p95 {_percentile(everything, 95) * 1000:.0f}"
              f" ms over {len(everything)} deliveries", flush=True)
    duplicates = gateway.arrivals - len(gateway.first)
    print(f"gateway:  {gateway.arrivals} requests, {len(gateway.first)} distinct keys, {duplicates} duplicates",
          flush=True)
    lost = sum(written.values()) - sum(delivered.values())
    print(f"verdict:  {'nothing lost' if lost == 0 else f'{lost} NOT DELIVERED'}, "
          f"{'nothing duplicated' if duplicates == 0 else f'{duplicates} duplicate requests (dropped by key)'}",
          flush=True)
    return Outcome(delivered=sum(delivered.values()), lost=lost)


if __name__ == "__main__":
    sys.exit(main())
