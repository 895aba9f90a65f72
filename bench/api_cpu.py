"""``python -m bench.api_cpu``: CPU time the API process spends per FHIR read or search, in microseconds.

    ECE_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python -m bench.api_cpu

Latency under load is CPU per request (bench.search's CPU budget), and on a shared machine wall-clock time is
noise: this bench reads the server's own CPU time (user + system, all its threads) before and after each batch
of sequential requests, so other processes slow it down without changing its figure much. One ``ece serve``
worker on a fresh ``ece_bench_api_cpu`` database (BENCH_API_PATIENTS patients at two facilities, an identifier
and a name each, five Observations each); each request kind as a ``system/*.*`` client, as a clinician of
facility A (row filter on), and with access control off (BENCH_API_MODES=system,clinician,off picks some);
median over BENCH_API_ROUNDS rounds of BENCH_API_REQUESTS requests, PostgreSQL's CPU not counted.
"""

from __future__ import annotations

import os
import statistics
import time

import httpx
import psutil

from bench import access

PATIENTS = int(os.environ.get("BENCH_API_PATIENTS", "200"))
REQUESTS = int(os.environ.get("BENCH_API_REQUESTS", "300"))
ROUNDS = int(os.environ.get("BENCH_API_ROUNDS", "3"))
MODES = os.environ.get("BENCH_API_MODES", "system,clinician,off").split(",")
WARMUP = 30
DATABASE = "ece_bench_api_cpu"
DNI_SYSTEM = "urn:bench:dni"


def _seed(base: str, system: dict[str, str]) -> dict:
    """Patients (even positions at facility A) with an identifier and a name, five coded Observations each."""
    with httpx.Client(base_url=base, headers=system, timeout=60) as client:
        orgs = [client.post("/Organization", json={"resourceType": "Organization", "name": f"H{n}"}).json()["id"]
                for n in range(2)]
        patients: list[str] = []
        for start in range(0, PATIENTS, 50):
            entries = []
            for n in range(start, min(start + 50, PATIENTS)):
                full = f"urn:uuid:00000000-0000-4000-8000-{n:012d}"
                entries.append({"fullUrl": full, "request": {"method": "POST", "url": "Patient"}, "resource": {
                    "resourceType": "Patient", "identifier": [{"system": DNI_SYSTEM, "value": f"{n:013d}"}],
                    "name": [{"family": f"Cpu{n:04d}", "given": ["Ana"]}], "gender": "female",
                    "birthDate": "1990-01-01", "managingOrganization": {"reference": f"Organization/{orgs[n % 2]}"}}})
                entries += [{"request": {"method": "POST", "url": "Observation"}, "resource": {
                    "resourceType": "Observation", "status": "final", "subject": {"reference": full},
                    "code": {"coding": [{"system": "urn:bench", "code": f"c{k}"}]},
                    "valueQuantity": {"value": k, "unit": "mg"}}} for k in range(5)]
            response = client.post("", json={"resourceType": "Bundle", "type": "transaction", "entry": entries})
            response.raise_for_status()
            patients += [e["response"]["location"].split("/")[1] for e in response.json()["entry"]][::6]
    return {"facility": orgs[0], "patients": patients}


def _requests(patients: list[str]) -> dict[str, list[tuple[str, dict]]]:
    """Facility A's patients only, so the clinician's requests are answered, not refused."""
    in_care = [(n, p) for n, p in enumerate(patients) if n % 2 == 0]

    def cycle(make) -> list[tuple[str, dict]]:
        return [make(*in_care[k % len(in_care)]) for k in range(REQUESTS)]

    return {
        "read Patient/id": cycle(lambda n, p: (f"/Patient/{p}", {})),
        "Patient?identifier=": cycle(lambda n, p: ("/Patient", {"identifier": f"{DNI_SYSTEM}|{n:013d}"})),
        "Patient?name=": cycle(lambda n, p: ("/Patient", {"name": f"Cpu{n:04d}"})),
        "Observation?subject=&code=": cycle(lambda n, p: ("/Observation", {"subject": f"Patient/{p}",
                                                                         "code": f"urn:bench|c{n % 5}"})),
    }


def _cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


def _measure(pid: int, base: str, headers: dict[str, str], work: dict[str, list[tuple[str, dict]]]
             ) -> dict[str, list[float]]:
    """µs of server CPU per request, one figure per kind and round (kinds interleaved within a round)."""
    server = psutil.Process(pid)
    figures: dict[str, list[float]] = {kind: [] for kind in work}
    with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
        for path, params in (call for calls in work.values() for call in calls[:WARMUP]):
            client.get(path, params=params).raise_for_status()
        for _ in range(ROUNDS):
            for kind, calls in work.items():
                before = _cpu_seconds(server)
                for path, params in calls:
                    response = client.get(path, params=params)
                    if response.status_code != 200 or (params and not response.json().get("entry")):
                        raise SystemExit(f"{kind}: {response.status_code} {response.text[:300]}")
                figures[kind].append(1e6 * (_cpu_seconds(server) - before) / len(calls))
    return figures


def main() -> None:
    began = time.perf_counter()
    database_url = access._fresh_database(access._admin_url(), DATABASE)
    system = access._headers("system", scopes=frozenset({"system/*.*"}))
    process, base = access._serve(database_url, enforced=True)
    try:
        data = _seed(base, system)
        access._analyze(database_url)
        clinician = access._headers("clinician", facility=f"Organization/{data['facility']}")
        work = _requests(data["patients"])
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
    print(f"API CPU per request, µs (median of {ROUNDS} rounds x {REQUESTS} sequential requests, 1 worker, "
          f"{PATIENTS} patients x 5 Observations; min-max of the rounds in brackets)")
    print(f"{'request':30}" + "".join(f"{name:>24}" for name in runs))
    for kind in work:
        cells = [f"{statistics.median(r[kind]):8.0f} [{min(r[kind]):5.0f}-{max(r[kind]):5.0f}]" for r in runs.values()]
        print(f"{kind:30}" + "".join(f"{c:>24}" for c in cells))
    print(f"total bench time {time.perf_counter() - began:.0f} s")


if __name__ == "__main__":
    main()
