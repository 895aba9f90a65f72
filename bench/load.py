"""The HTTP workloads: single creates and transaction Bundles, from one aiohttp event loop.

Each of ``clients`` coroutines is an independent client with its own session and keep-alive connection,
sending pre-serialised bodies (only identifiers are substituted), so the load generator costs little
CPU; its own CPU time is reported. Only requests started after the warm-up are counted.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import random
import time
import uuid
from dataclasses import dataclass, field

import aiohttp

from bench import fixtures
from bench.sampler import Sampler

HEADERS = {"Content-Type": "application/fhir+json", "Accept": "application/fhir+json"}


@dataclass
class Result:
    name: str
    seconds: float = 0.0
    requests: int = 0
    resources: int = 0
    errors: int = 0
    latencies: list[float] = field(default_factory=list)  # seconds, one per successful request
    error_samples: list[str] = field(default_factory=list)
    client_cpu_s: float = 0.0
    cpu_s: dict[str, float] = field(default_factory=dict)  # CPU seconds: workers, postgres, client, other, idle
    worker_cpu_s: dict[int, float] = field(default_factory=dict)  # CPU seconds of each API worker
    worker_connections: dict[int, int] = field(default_factory=dict)  # client connections each worker holds
    spread_attempts: int = 0  # BENCH_SPREAD=1: connection rounds until they were spread over the workers

    @property
    def requests_per_s(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def resources_per_s(self) -> float:
        return self.resources / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        """Nearest-rank percentile, in milliseconds."""
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        rank = max(1, min(len(ordered), math.ceil(p / 100 * len(ordered))))
        return ordered[rank - 1] * 1000

    def cpu_share(self) -> dict[str, float]:
        """Percent of the whole machine (all CPUs = 100) per consumer."""
        capacity = sum(self.cpu_s.values())
        return {k: 100 * v / capacity for k, v in self.cpu_s.items()} if capacity else {}

    def error(self, text: str) -> None:
        self.errors += 1
        if len(self.error_samples) < 5:
            self.error_samples.append(text[:300])


class _Ids:
    """Unique Honduran identity numbers and record numbers for this run."""

    def __init__(self, run: str, rng: random.Random):
        self.run = run
        self.rng = rng
        self.counter = itertools.count()

    def next(self) -> dict[str, str]:
        n = next(self.counter)
        dept, _, muni, _ = fixtures.PLACES[n // 100000 % len(fixtures.PLACES)]
        year = 1940 + (n // (100000 * len(fixtures.PLACES))) % 85
        return {"dni": f"{dept}{muni}{year}{n % 100000:05d}", "mrn": f"{self.run}-{n}"}


async def _creates_client(session: aiohttp.ClientSession, base: str, deadline: float, measure_from: float,
                          result: Result, ids: _Ids, patients: list[bytes], observations: list[bytes],
                          rng: random.Random) -> None:
    """POST Patient, then POST an Observation about that patient; repeat until the deadline."""
    subject: str | None = None
    turn = 0
    while time.perf_counter() < deadline:
        if subject is None or turn % 2 == 0:
            url = f"{base}/Patient"
            body = fixtures.fill(rng.choice(patients), **ids.next())
        else:
            url = f"{base}/Observation"
            body = fixtures.fill(rng.choice(observations), subject=subject)
        started = time.perf_counter()
        try:
            async with session.post(url, data=body, headers=HEADERS) as response:
                payload = await response.read()
                status = response.status
                location = response.headers.get("Location", "")
        except (TimeoutError, aiohttp.ClientError) as exc:
            if started >= measure_from:
                result.error(f"POST {url}: {type(exc).__name__}: {exc}")
            subject = None
            continue
        finished = time.perf_counter()
        turn += 1
        if started < measure_from:
            if status == 201 and url.endswith("/Patient"):
                subject = _subject(location)
            continue
        if status != 201:
            result.error(f"POST {url}: HTTP {status}: {payload[:200]!r}")
            continue
        result.requests += 1
        result.resources += 1
        result.latencies.append(finished - started)
        if url.endswith("/Patient"):
            subject = _subject(location)


def _subject(location: str) -> str | None:
    # .../fhir/Patient/{id}/_history/1
    parts = location.split("/")
    if len(parts) >= 4 and parts[-2] == "_history":
        return f"{parts[-4]}/{parts[-3]}"
    return None


async def _tx_client(session: aiohttp.ClientSession, base: str, deadline: float, measure_from: float,
                     result: Result, ids: _Ids, bundles: list[bytes], size: int, rng: random.Random) -> None:
    created = b'"201 Created"'
    while time.perf_counter() < deadline:
        body = fixtures.fill(rng.choice(bundles), purn=str(uuid.uuid4()), **ids.next())
        started = time.perf_counter()
        try:
            async with session.post(base, data=body, headers=HEADERS) as response:
                payload = await response.read()
                status = response.status
        except (TimeoutError, aiohttp.ClientError) as exc:
            if started >= measure_from:
                result.error(f"POST {base}: {type(exc).__name__}: {exc}")
            continue
        finished = time.perf_counter()
        if started < measure_from:
            continue
        if status != 200 or payload.count(created) != size:
            result.error(f"POST {base} (Bundle): HTTP {status}: {payload[:200]!r}")
            continue
        result.requests += 1
        result.resources += size
        result.latencies.append(finished - started)


async def _spread(sessions: list[aiohttp.ClientSession], base: str, sampler: Sampler,
                  timeout: aiohttp.ClientTimeout, attempts: int = 25) -> int:
    """Reconnect the clients until their connections are spread evenly over the workers (BENCH_SPREAD=1).

    A uvicorn supervisor shares one listening socket between its workers, and a burst of connections is
    often accepted by a single worker; this measures the server as if the accepts had been balanced."""
    async def connect(session: aiohttp.ClientSession) -> None:
        async with session.get(f"{base}/metadata") as response:
            await response.read()

    for attempt in range(1, attempts + 1):
        await asyncio.gather(*(connect(session) for session in sessions))
        held = sampler.connections()
        if len(held) < 2 or max(held.values()) <= -(-len(sessions) // len(held)) + 1:
            return attempt
        await asyncio.gather(*(session.close() for session in sessions))
        sessions[:] = [aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1), timeout=timeout)
                       for _ in sessions]
    return attempts


async def _run(name: str, base: str, clients: int, warmup_s: float, seconds: float, sampler: Sampler,
               make_client, profiler=None, spread: bool = False) -> Result:
    """``clients`` independent clients, each with its own session and keep-alive connection."""
    result = Result(name)
    timeout = aiohttp.ClientTimeout(total=120)
    sessions = [aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1), timeout=timeout)
                for _ in range(clients)]
    try:
        if spread:
            result.spread_attempts = await _spread(sessions, base, sampler, timeout)
        now = time.perf_counter()
        measure_from = now + warmup_s
        deadline = measure_from + seconds
        tasks = [asyncio.create_task(make_client(session, base, deadline, measure_from, result, i))
                 for i, session in enumerate(sessions)]
        await asyncio.sleep(max(0.0, measure_from - time.perf_counter()))
        cpu_before = time.process_time()
        sampler.mark()
        result.worker_connections = sampler.connections_at_mark
        if profiler is not None:
            profiler.start(name, sampler.pids(), seconds)
        measured_start = time.perf_counter()
        await asyncio.gather(*tasks)
        result.seconds = time.perf_counter() - measured_start
        result.client_cpu_s = time.process_time() - cpu_before
        result.cpu_s = sampler.cpu_since_mark()
        result.worker_cpu_s = dict(sampler.per_worker)
    finally:
        await asyncio.gather(*(session.close() for session in sessions))
    return result


def run_creates(base: str, *, clients: int, warmup_s: float, seconds: float, sampler: Sampler, run: str,
                profiler=None, spread: bool = False) -> Result:
    rng = random.Random(11)
    patients = fixtures.patient_templates(rng)
    observations = fixtures.observation_templates(rng)
    ids = _Ids(f"{run}c", rng)

    def client(session, base, deadline, measure_from, result, index):
        return _creates_client(session, base, deadline, measure_from, result, ids, patients, observations,
                               random.Random(index))

    return asyncio.run(_run("creates", base, clients, warmup_s, seconds, sampler, client, profiler, spread))


def run_transactions(base: str, *, clients: int, warmup_s: float, seconds: float, sampler: Sampler, run: str,
                     size: int, profiler=None, spread: bool = False) -> Result:
    rng = random.Random(12)
    bundles = fixtures.bundle_templates(rng, size)
    ids = _Ids(f"{run}t", rng)

    def client(session, base, deadline, measure_from, result, index):
        return _tx_client(session, base, deadline, measure_from, result, ids, bundles, size, random.Random(index))

    return asyncio.run(_run("transactions", base, clients, warmup_s, seconds, sampler, client, profiler, spread))
