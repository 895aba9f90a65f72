"""``python -m bench.read_floor``: the floor under bench.search's latency targets, measured.

    ECE_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python -m bench.read_floor

The same load (bench.search's: 8 keep-alive aiohttp clients, 2 server processes, on this machine's 2 CPUs) sends
``GET [base]/Patient/[id]`` for random patients of a fresh ``ece_bench_floor`` database, in turn to:

- **floor**: ``floor_app`` below, the least a Python server can do for that request: uvicorn on uvloop and
  httptools (as ``ece serve``), one pooled psycopg connection in autocommit, one primary-key SELECT, the stored
  JSON sent back. No framework, no validation of the id, no access control, no headers but the content type;
- **ece**: ``ece serve`` itself, access control off (as bench.search runs it).

Rounds alternate the two, so that the machine's drift falls on both. Printed per round: p50/p95 latency,
requests per second, and the machine's CPU per request (all processes, from /proc/stat) with the load
generator's share. The floor is what no amount of work on the server can go under on this machine: it tells how
much of a target is left to the server at all.
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import subprocess
import sys
import time

import aiohttp
import psutil
import psycopg
import psycopg_pool

from bench import access, stack
from bench.config import ROOT

DATABASE = "ece_bench_floor"
PATIENTS = int(os.environ.get("BENCH_FLOOR_PATIENTS", "1000"))
CLIENTS = 8
WORKERS = 2
WARMUP_S = 3.0
SECONDS = float(os.environ.get("BENCH_FLOOR_SECONDS", "15"))
ROUNDS = int(os.environ.get("BENCH_FLOOR_ROUNDS", "2"))
_READ = "SELECT content FROM resource WHERE resource_type = 'Patient' AND id = %s AND NOT deleted"


class _Floor:
    """The floor server's ASGI application (module-level ``floor_app``; its database: BENCH_FLOOR_DATABASE_URL)."""

    def __init__(self) -> None:
        self.pool: psycopg_pool.AsyncConnectionPool | None = None

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["path"] == "/metadata":  # up (bench.stack.wait_ready)
            status, body = 200, b"{}"
        else:
            async with self.pool.connection() as conn:
                row = await (await conn.execute(_READ, (scope["path"].rpartition("/")[2],))).fetchone()
            status, body = (200, row[0].encode()) if row else (404, b"{}")
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/fhir+json")]})
        await send({"type": "http.response.body", "body": body})

    async def _lifespan(self, receive, send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.pool = psycopg_pool.AsyncConnectionPool(os.environ["BENCH_FLOOR_DATABASE_URL"], min_size=4,
                                                             kwargs={"autocommit": True}, open=False)
                await self.pool.open()
                await send({"type": "lifespan.startup.complete"})
            else:
                await self.pool.close()
                await send({"type": "lifespan.shutdown.complete"})
                return


floor_app = _Floor()


def _seed(database_url: str) -> list[str]:
    """PATIENTS Patients written through ``ece serve``'s transaction endpoint, 100 per Bundle."""
    process, base = access._serve(database_url, enforced=False)
    try:
        import httpx

        with httpx.Client(base_url=base, timeout=120) as client:
            for start in range(0, PATIENTS, 100):
                entries = [{"resource": {"resourceType": "Patient", "gender": "female", "birthDate": "1990-01-01",
                                         "name": [{"family": f"Piso{n:05d}", "given": ["Ana"]}]},
                            "request": {"method": "POST", "url": "Patient"}}
                           for n in range(start, min(start + 100, PATIENTS))]
                client.post("", json={"resourceType": "Bundle", "type": "transaction", "entry": entries}
                            ).raise_for_status()
    finally:
        process.terminate()
        process.wait(15)
    access._analyze(database_url)
    from app.db import libpq_url

    with psycopg.connect(libpq_url(database_url)) as conn:
        return [r[0] for r in conn.execute("SELECT id FROM resource WHERE resource_type = 'Patient'")]


def _start(kind: str, database_url: str) -> tuple[subprocess.Popen, str]:
    if kind == "ece":
        return access._serve(database_url, enforced=False, workers=WORKERS)
    from app.db import libpq_url

    port = stack._free_port()
    command = [sys.executable, "-m", "uvicorn", "bench.read_floor:floor_app", "--host", "127.0.0.1",
               "--port", str(port), "--workers", str(WORKERS), "--loop", "uvloop", "--http", "httptools",
               "--no-access-log", "--log-level", "warning"]
    env = {**os.environ, "BENCH_FLOOR_DATABASE_URL": libpq_url(database_url)}
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    stack.wait_ready(base, process=process)
    return process, base


def _busy_seconds() -> float:
    times = psutil.cpu_times()
    return times.user + times.nice + times.system + times.irq + times.softirq


async def _load(base: str, ids: list[str]) -> tuple[list[float], float, float, float]:
    """Latencies measured after the warm-up; the window's seconds, the machine's busy CPU seconds and the load
    generator's own."""
    latencies: list[float] = []
    start = time.perf_counter() + WARMUP_S
    deadline = start + SECONDS

    async def client(index: int) -> None:
        rng = random.Random(index)
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1)) as session:
            while (began := time.perf_counter()) < deadline:
                async with session.get(f"{base}/Patient/{rng.choice(ids)}") as response:
                    await response.read()
                    if response.status != 200:
                        raise SystemExit(f"{base}: HTTP {response.status}")
                if began >= start:
                    latencies.append(time.perf_counter() - began)

    tasks = [asyncio.create_task(client(i)) for i in range(CLIENTS)]
    await asyncio.sleep(WARMUP_S)
    busy, own = _busy_seconds(), time.process_time()
    await asyncio.gather(*tasks)
    return latencies, time.perf_counter() - start, _busy_seconds() - busy, time.process_time() - own


def main() -> None:
    began = time.perf_counter()
    database_url = access._fresh_database(access._admin_url(), DATABASE)
    ids = _seed(database_url)
    print(f"GET Patient/[id], {len(ids):,} patients; {CLIENTS} clients, {WORKERS} server processes, {SECONDS:.0f} s "
          f"measured after {WARMUP_S:.0f} s; {psutil.cpu_count()} CPUs")
    print(f"{'round':7}{'server':8}{'p50 ms':>8}{'p95 ms':>8}{'req/s':>8}{'CPU/req µs':>12}{'of it client':>14}")
    figures: dict[str, list[float]] = {"floor": [], "ece": []}
    for round_number in range(1, ROUNDS + 1):
        for kind in figures:
            process, base = _start(kind, database_url)
            try:
                latencies, seconds, busy, client = asyncio.run(_load(base, ids))
            finally:
                process.terminate()
                process.wait(15)
            latencies.sort()
            n = len(latencies)
            p50 = latencies[n // 2] * 1000
            figures[kind].append(p50)
            print(f"{round_number:<7}{kind:8}{p50:8.2f}{latencies[int(n * 0.95)] * 1000:8.2f}{n / seconds:8.0f}"
                  f"{busy / n * 1e6:12.0f}{client / n * 1e6:14.0f}")
    print(f"median p50: floor {statistics.median(figures['floor']):.2f} ms, ece {statistics.median(figures['ece']):.2f}"
          f" ms; total bench time {time.perf_counter() - began:.0f} s")


if __name__ == "__main__":
    main()
