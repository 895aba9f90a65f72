"""``python -m bench.api_cpu``: CPU time the API process spends per FHIR read or search, in microseconds.

    ECE_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python -m bench.api_cpu

Latency under load is CPU per request (bench.search's CPU budget), and on a shared machine wall-clock time is
noise: this bench reads the server's own CPU time (the kernel's nanosecond run time of each of its threads) before
and after each batch of sequential requests. One ``ece serve`` worker on a fresh ``ece_bench_api_cpu`` database
(BENCH_API_PATIENTS patients at two facilities, an identifier and a name each, five Observations each); each
request kind as a ``system/*.*`` client, as a clinician of facility A (row filter on), and with access control off
(BENCH_API_MODES=system,clinician,off picks some). After a warm-up of WARMUP requests per kind (a cold worker
costs up to 40% more: prepared statements, caches), BENCH_API_ROUNDS rounds of a batch of BENCH_API_REQUESTS
requests per kind, kinds interleaved; printed: the median batch and the 10th percentile (the machine's other work
inflates CPU time too, through shared caches and cores, so the low batches are the cleaner figure). PostgreSQL's
CPU is not counted.
"""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path

import httpx

from bench import access

PATIENTS = int(os.environ.get("BENCH_API_PATIENTS", "200"))
REQUESTS = int(os.environ.get("BENCH_API_REQUESTS", "50"))
ROUNDS = int(os.environ.get("BENCH_API_ROUNDS", "30"))
MODES = os.environ.get("BENCH_API_MODES", "system,clinician,off").split(",")
WARMUP = 300
DATABASE = "ece_bench_api_cpu"


def _requests(data: dict) -> dict[str, list[tuple[str, dict]]]:
    """Facility A's patients only (bench.access's seed), so the clinician's requests are answered, not refused."""
    in_care = list(zip(data["numbers"], data["patients"], strict=True))

    def cycle(make) -> list[tuple[str, dict]]:
        return [make(n, p) for n, p in in_care]

    return {
        "read Patient/id": cycle(lambda n, p: (f"/Patient/{p}", {})),
        "Patient?identifier=": cycle(lambda n, p: ("/Patient", {"identifier": f"{access.DNI_SYSTEM}|{n:013d}"})),
        "Patient?name=": cycle(lambda n, p: ("/Patient", {"name": f"Bench{n:04d}"})),
        "Observation?subject=&code=": cycle(lambda n, p: ("/Observation", {"subject": f"Patient/{p}",
                                                                         "code": f"urn:bench|c{n % 5}"})),
    }


def _cpu_ns(pid: int) -> int:
    """Run time of every thread of ``pid`` (``/proc/<pid>/task/*/schedstat``, first field, in ns): the ticks of
    ``/proc/<pid>/stat`` (10 ms) are too coarse for batches of a few hundred milliseconds."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except FileNotFoundError:  # a thread that ended meanwhile
            continue
    return total


def _measure(pid: int, base: str, headers: dict[str, str], work: dict[str, list[tuple[str, dict]]]
             ) -> dict[str, list[float]]:
    """µs of server CPU per request, one figure per kind and round (kinds interleaved within a round)."""
    figures: dict[str, list[float]] = {kind: [] for kind in work}
    with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
        for calls in work.values():
            for n in range(WARMUP):
                path, params = calls[n % len(calls)]
                client.get(path, params=params).raise_for_status()
        for round_number in range(ROUNDS):
            for kind, calls in work.items():
                batch = [calls[(round_number * REQUESTS + n) % len(calls)] for n in range(REQUESTS)]
                before = _cpu_ns(pid)
                for path, params in batch:
                    response = client.get(path, params=params)
                    if response.status_code != 200 or (params and not response.json().get("entry")):
                        raise SystemExit(f"{kind}: {response.status_code} {response.text[:300]}")
                figures[kind].append((_cpu_ns(pid) - before) / 1000 / len(batch))
    return figures


def main() -> None:
    began = time.perf_counter()
    database_url = access._fresh_database(access._admin_url(), DATABASE)
    system = access._headers("system", scopes=frozenset({"system/*.*"}))
    process, base = access._serve(database_url, enforced=True)
    try:
        data = access._seed(base, system, PATIENTS)
        access._analyze(database_url)
        clinician = access._headers("clinician", facility=f"Organization/{data['facility']}")
        work = _requests(data)
        runs = {mode: _measure(process.pid, base, headers, work)
                for mode, headers in (("system", system), ("clinician", clinician)) if mode in MODES}
    finally:
        process.terminate()
        process.wait(15)
    if "off" in MODES:
        process, base = access._serve(database_url, enforced=False)
        try:
            runs["access off"] = _measure(process.pid, base, {}, work)
        finally:
            process.terminate()
            process.wait(15)
    print(f"API CPU per request, µs: median batch [10th percentile] of {ROUNDS} batches x {REQUESTS} sequential "
          f"requests per kind, 1 worker, {PATIENTS} patients x 5 Observations")
    print(f"{'request':30}" + "".join(f"{name:>18}" for name in runs))
    for kind in work:
        cells = [f"{statistics.median(r[kind]):7.0f} [{statistics.quantiles(r[kind], n=10)[0]:5.0f}]"
                 for r in runs.values()]
        print(f"{kind:30}" + "".join(f"{c:>18}" for c in cells))
    print(f"total bench time {time.perf_counter() - began:.0f} s")


if __name__ == "__main__":
    main()
