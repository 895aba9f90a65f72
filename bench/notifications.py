"""``python -m bench.notifications``: commit-to-delivery latency of notifications under a sustained event rate.

Starts, on a fresh ``ece_bench_notify`` database, real ``ece worker`` and ``ece beat`` processes (broker:
``ECE_BROKER_URL``, else kombu's SQLAlchemy transport on the same PostgreSQL) and an SMS gateway (a local HTTP
receiver). This process then writes ``--rate`` events per second for ``--seconds``: each event is one write
transaction that updates a referral Task through the store (a status transition) and calls ``notify`` for the
patient, which gives two outbox rows (the in-app inbox and an SMS). Printed: the rate achieved, p50/p95/max from
commit to delivery (SMS: arrival at the gateway; inbox: the Communication's commit), and delivered against written,
with duplicates seen by the gateway.

PostgreSQL server: ``ECE_TEST_DATABASE_URL``'s or ``ECE_DATABASE_URL``'s (required; no embedded server here).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import subprocess
import sys
import threading
import time
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
    args = parser.parse_args()

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
    print(f"command:  python -m bench.notifications --rate {args.rate:g} --seconds {args.seconds:g} "
          f"--concurrency {args.concurrency} --pool {args.pool}", flush=True)
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
        deliveries = len(gateway.first) * 2
        print(f"worker:   {used:.1f} CPU s for about {deliveries} deliveries: {1000 * used / max(deliveries, 1):.1f} "
              f"CPU ms each ({args.pool} pool of {args.concurrency}; load average {os.getloadavg()[0]:.1f} on "
              f"{os.cpu_count()} CPUs)", flush=True)
        return outcome
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


async def _run(args: argparse.Namespace, gateway: Gateway) -> int:
    from sqlalchemy import text

    from app.celery_app import install_notifications
    from app.db import make_async_engine
    from app.settings import get_settings
    from ece import store
    from ece.notifications import Notice, notify
    from ece.notifications.recipients import SMS_CONSENT_EXTENSION
    from ece.tx import unit_of_work

    settings = get_settings()
    install_notifications(settings)
    engine = make_async_engine(os.environ["ECE_DATABASE_URL"], pool_size=10)
    patients = 50
    async with unit_of_work(engine) as tx:
        for n in range(patients):
            await store.update(tx, resource_type="Patient", resource_id=f"bench-{n}", data={
                "resourceType": "Patient", "id": f"bench-{n}", "name": [{"family": "Banco", "given": [str(n)]}],
                "extension": [{"url": SMS_CONSENT_EXTENSION, "valueBoolean": True}],
                "telecom": [{"system": "sms", "value": f"+504999{n:05d}"}]})
            await store.update(tx, resource_type="Task", resource_id=f"bench-ref-{n}", data={
                "resourceType": "Task", "id": f"bench-ref-{n}", "status": "requested", "intent": "order",
                "identifier": [{"system": "https://fhir.salud.gob.hn/sid/referencia", "value": f"REF-{n:06d}"}],
                "for": {"reference": f"Patient/bench-{n}"}})

    committed: dict[str, float] = {}  # outbox row id -> commit time
    failures = 0

    async def event(n: int) -> None:
        nonlocal failures
        slot = n % patients
        try:
            async with unit_of_work(engine) as tx:
                await store.update(tx, resource_type="Task", resource_id=f"bench-ref-{slot}", data={
                    "resourceType": "Task", "id": f"bench-ref-{slot}", "intent": "order",
                    "status": TASK_STATUSES[(n // patients) % len(TASK_STATUSES)],
                    "identifier": [{"system": "https://fhir.salud.gob.hn/sid/referencia", "value": f"REF-{slot:06d}"}],
                    "for": {"reference": f"Patient/bench-{slot}"}})
                ids = await notify(tx, [Notice(
                    event="referral.accepted", recipient=f"Patient/bench-{slot}", about=f"Task/bench-ref-{slot}",
                    title_es="Referencia aceptada", text_es="Su referencia fue aceptada.",
                    title_en="Referral accepted", text_en="Your referral was accepted.")])
            moment = time.time()
            for row_id in ids:
                committed[row_id] = moment
        except Exception as error:  # counted and shown: a failed write is part of the figures
            failures += 1
            if failures <= 3:
                print(f"  write failed: {type(error).__name__}: {error}", flush=True)

    total = int(args.rate * args.seconds)
    started = time.perf_counter()
    running: set[asyncio.Task] = set()
    for n in range(total):
        delay = started + n / args.rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.create_task(event(n))
        running.add(task)
        task.add_done_callback(running.discard)
    await asyncio.gather(*running)
    elapsed = time.perf_counter() - started
    print(f"written:  {total - failures} events in {elapsed:.1f} s ({(total - failures) / elapsed:.1f}/s), "
          f"{len(committed)} outbox rows, {failures} failed writes", flush=True)

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
    await engine.dispose()

    latencies: dict[str, list[float]] = {"inbox": [], "sms": []}
    delivered = {"inbox": 0, "sms": 0}
    written = {"inbox": 0, "sms": 0}
    for row_id, channel, status, delivered_at in rows:
        if row_id not in committed:
            continue
        written[channel] += 1
        if channel == "sms" and row_id in gateway.first:
            delivered["sms"] += 1
            latencies["sms"].append(gateway.first[row_id] - committed[row_id])
        elif channel == "inbox" and status == "delivered":
            delivered["inbox"] += 1
            latencies["inbox"].append(float(delivered_at) - committed[row_id])
    for channel in ("sms", "inbox"):
        values = latencies[channel]
        figures = (f"p50 {_percentile(values, 50) * 1000:.0f} ms, p95 {_percentile(values, 95) * 1000:.0f} ms, "
                   f"max {max(values) * 1000:.0f} ms") if values else "no deliveries"
        print(f"{channel:6s}    delivered {delivered[channel]} of {written[channel]} written; "
              f"commit to delivery {figures}", flush=True)
    if os.environ.get("BENCH_TIMELINE"):
        first = min(committed.values())
        for row_id, at in sorted(gateway.first.items(), key=lambda kv: committed.get(kv[0], 0)):
            if row_id in committed:
                print(f"  {committed[row_id] - first:7.2f} {1000 * (at - committed[row_id]):7.0f}")
    duplicates = gateway.arrivals - len(gateway.first)
    print(f"gateway:  {gateway.arrivals} requests, {len(gateway.first)} distinct keys, {duplicates} duplicates",
          flush=True)
    lost = sum(written.values()) - sum(delivered.values())
    print(f"verdict:  {'nothing lost' if lost == 0 else f'{lost} NOT DELIVERED'}, "
          f"{'nothing duplicated' if duplicates == 0 else f'{duplicates} duplicate requests (dropped by key)'}",
          flush=True)
    return 0 if lost == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
