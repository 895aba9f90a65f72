"""The cost of authentication, authorisation and audit on reads and searches, as a ratio to the same requests
with access control off (ECE_ACCESS_ENFORCED=false, a benchmark-only setting).

    ECE_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python -m bench.access

Seeds a fresh ``ece_bench_access`` database (BENCH_ACCESS_PATIENTS patients at two facilities, five
Observations each), then runs the same request mix against ``ece serve`` three times: enforcement off;
on, as a trusted ``system/*.*`` client (token check and audit, no row filter); on, as a clinician of
facility A (token check, care-relationship filter in SQL, audit). One keep-alive client, sequential
requests, median and p95 latency per kind; the ratio is the median against the run with enforcement off.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
PATIENTS = int(os.environ.get("BENCH_ACCESS_PATIENTS", "400"))
REQUESTS = int(os.environ.get("BENCH_ACCESS_REQUESTS", "200"))
DATABASE = "ece_bench_access"
DNI_SYSTEM = "urn:bench:dni"
KEY_FILE = ROOT / "var" / "bench-signing-key.pem"


def _admin_url() -> str:
    url = os.environ.get("ECE_TEST_DATABASE_URL") or os.environ.get("ECE_DATABASE_URL")
    if not url:
        sys.exit("Defina ECE_TEST_DATABASE_URL / set ECE_TEST_DATABASE_URL (a PostgreSQL server to bench on)")
    return url


def _fresh_database(admin: str, database: str = DATABASE) -> str:
    from app import migrate
    from app.db import ensure_database, sqlalchemy_url

    engine = create_engine(sqlalchemy_url(admin), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
    engine.dispose()
    ensure_database(sqlalchemy_url(admin), database)
    url = make_url(sqlalchemy_url(admin)).set(database=database).render_as_string(hide_password=False)
    migrate.upgrade(url)
    return url


def _serve(database_url: str, enforced: bool, workers: int = 1) -> tuple[subprocess.Popen, str]:
    import socket

    from app.db import libpq_url

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "ECE_DATABASE_URL": libpq_url(database_url), "ECE_PORT": str(port),
           "ECE_HOST": "127.0.0.1", "ECE_WORKERS": str(workers), "ECE_ENFORCED_PROFILE_TYPES": "",
           "ECE_AUTH_SIGNING_KEY_FILE": str(KEY_FILE), "ECE_ACCESS_ENFORCED": "true" if enforced else "false"}
    process = subprocess.Popen([sys.executable, "-m", "app", "serve"], cwd=ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}/fhir"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/metadata", timeout=1).status_code == 200:
                return process, base
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    sys.exit("el servidor no arrancó / the server did not start")


def _headers(role: str, **claims) -> dict[str, str]:
    from app.security import local_issuer
    from app.settings import Settings
    from ece.access import Actor, Role

    os.environ["ECE_AUTH_SIGNING_KEY_FILE"] = str(KEY_FILE)
    actor = Actor(subject=f"bench-{role}", role=Role(role), **claims)
    return {"Authorization": f"Bearer {local_issuer(Settings()).mint(actor, minutes=120)}"}


def _seed(base: str, system: dict[str, str], patients_wanted: int = PATIENTS) -> dict:
    """Patients alternating between two facilities, each with an identifier (``DNI_SYSTEM|n``, 13 digits) and a
    name (``Bench`` + n, 4 digits), and five coded Observations. Answers facility A's (even n) patients with their
    numbers, and their Observations."""
    tag = uuid.uuid4().hex[:8]
    with httpx.Client(base_url=base, headers=system, timeout=60) as client:
        orgs = [client.post("/Organization", json={"resourceType": "Organization", "name": f"H{n} {tag}"}).json()["id"]
                for n in range(2)]
        patients: list[str] = []
        observations: list[str] = []
        for start in range(0, patients_wanted, 50):
            entries = []
            for n in range(start, min(start + 50, patients_wanted)):
                full = f"urn:uuid:{uuid.uuid4()}"
                entries.append({"fullUrl": full, "request": {"method": "POST", "url": "Patient"}, "resource": {
                    "resourceType": "Patient", "identifier": [{"system": DNI_SYSTEM, "value": f"{n:013d}"}],
                    "name": [{"family": f"Bench{n:04d}", "given": ["Ana"]}], "gender": "female",
                    "birthDate": "1990-01-01", "managingOrganization": {"reference": f"Organization/{orgs[n % 2]}"}}})
                entries += [{"request": {"method": "POST", "url": "Observation"}, "resource": {
                    "resourceType": "Observation", "status": "final", "subject": {"reference": full},
                    "code": {"coding": [{"system": "urn:bench", "code": f"c{k}"}]},
                    "valueQuantity": {"value": k, "unit": "mg"}}} for k in range(5)]
            response = client.post("", json={"resourceType": "Bundle", "type": "transaction", "entry": entries})
            response.raise_for_status()
            ids = [e["response"]["location"].split("/")[1] for e in response.json()["entry"]]
            patients += ids[::6]
            observations += [i for n, i in enumerate(ids) if n % 6]
    # Facility A's patients (even positions) and their Observations.
    in_care = patients[0::2]
    return {"facility": orgs[0], "patients": in_care, "numbers": list(range(0, patients_wanted, 2)),
            "observations": [o for n, o in enumerate(observations) if (n // 5) % 2 == 0]}


def _analyze(database_url: str) -> None:
    engine = create_engine(database_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("ANALYZE"))
    engine.dispose()


def _requests(data: dict) -> dict[str, list[tuple[str, dict]]]:
    patients, observations = data["patients"], data["observations"]
    return {
        "read Patient": [(f"/Patient/{patients[n % len(patients)]}", {}) for n in range(REQUESTS)],
        "read Observation": [(f"/Observation/{observations[n % len(observations)]}", {}) for n in range(REQUESTS)],
        "search Observation?subject": [("/Observation", {"subject": f"Patient/{patients[n % len(patients)]}"})
                                       for n in range(REQUESTS)],
        "search Observation?code (20/page)": [("/Observation", {"code": f"urn:bench|c{n % 5}", "_count": "20"})
                                              for n in range(REQUESTS)],
    }


def _measure(base: str, headers: dict[str, str], work: dict[str, list[tuple[str, dict]]]) -> dict[str, list[float]]:
    timings: dict[str, list[float]] = {}
    with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
        for kind, calls in work.items():
            for path, params in calls[:10]:  # warm-up: plans, caches, connections
                client.get(path, params=params)
            spent = []
            for path, params in calls:
                started = time.perf_counter()
                response = client.get(path, params=params)
                spent.append(time.perf_counter() - started)
                if response.status_code != 200:
                    sys.exit(f"{kind}: {response.status_code} {response.text[:200]}")
            timings[kind] = spent
    return timings


def main() -> None:
    database_url = _fresh_database(_admin_url())
    system = _headers("system", scopes=frozenset({"system/*.*"}))
    process, base = _serve(database_url, enforced=True)
    try:
        data = _seed(base, system)
        _analyze(database_url)  # as autovacuum would have by now: the plans depend on the statistics
        clinician = _headers("clinician", facility=f"Organization/{data['facility']}")
        work = _requests(data)
        runs = {"system/*.* (token + audit)": _measure(base, system, work),
                "clinician (token + row filter + audit)": _measure(base, clinician, work)}
    finally:
        process.terminate()
        process.wait(15)
    process, base = _serve(database_url, enforced=False)
    try:
        baseline = _measure(base, {}, work)
    finally:
        process.terminate()
        process.wait(15)
    print(f"Access control cost: {PATIENTS} patients x 5 Observations, {REQUESTS} sequential requests per kind, "
          "1 worker")
    print(f"{'request':36} {'off: median ms':>15} | " + " | ".join(f"{name}: median ms (x off), p95 ms"
                                                                  for name in runs))
    for kind, spent in baseline.items():
        off = statistics.median(spent)
        cells = []
        for timings in runs.values():
            median = statistics.median(timings[kind])
            p95 = statistics.quantiles(timings[kind], n=20)[-1]
            cells.append(f"{median * 1000:7.2f} (x{median / off:4.2f}), {p95 * 1000:7.2f}")
        print(f"{kind:36} {off * 1000:15.2f} | " + " | ".join(cells))


if __name__ == "__main__":
    main()
