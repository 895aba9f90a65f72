"""``python -m bench.seed``: how fast ``ece seed`` writes the synthetic network (issue 6), and where the time goes.

1. End to end: ``ece seed --patients N`` on a fresh database (migrated, national profiles installed), as a
   user runs it; prints resources per second as the command reports it, and the CPU its processes used.
2. The budget: CPU per resource of each stage, measured in this process on the patients of one write batch:
   generating, the element walk (JSON types, required bindings), the structural model (fhir.resources), the
   national profiles, search-index extraction, passing the batch between processes, planning the write, and
   PostgreSQL's time for the batch's one write statement (rolled back, repeated). With every stage on one of
   the machine's cores, the sum gives the ceiling of resources per second that no pipelining can pass.

Environment: ``BENCH_SEED_PATIENTS=1000``, ``BENCH_SEED_SEED=7``; the database server is that of
``ECE_DATABASE_URL`` or ``ECE_TEST_DATABASE_URL``, else an embedded one (database ``ece_bench_seed``, made afresh).
"""

from __future__ import annotations

import os
import pickle
import re
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

import psycopg

from bench.config import ROOT
from bench.stack import _admin_url, _with_database

DATABASE = "ece_bench_seed"
TARGET_PER_SECOND = 5000.0
BATCH_PATIENTS = 20  # synthetic.writer.PATIENTS_PER_CHUNK: one write batch
FLUSH_ROUNDS = 7


def _fresh_database(server: str) -> str:
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DATABASE}")
    url = _with_database(server, DATABASE)
    env = {**os.environ, "ECE_DATABASE_URL": url}
    for command in (["migrate"], ["profiles", "install"]):
        subprocess.run([sys.executable, "-m", "app", *command], env=env, cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL)
    return url


def end_to_end(url: str, patients: int, seed: int) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.perf_counter()
    run = subprocess.run([sys.executable, "-m", "app", "seed", "--patients", str(patients), "--seed", str(seed),
                          "--referrals", "0"], env={**os.environ, "ECE_DATABASE_URL": url}, cwd=ROOT,
                         capture_output=True, text=True, check=True)
    wall = time.perf_counter() - began
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    line = next(x for x in run.stdout.splitlines() if x.startswith("Recursos / resources"))
    rate = float(re.search(r"= ([\d,]+)/s", line).group(1).replace(",", ""))
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    print(f"[1] ece seed --patients {patients} --seed {seed}: {line.split(': ', 1)[1]}")
    print(f"    command wall {wall:.1f} s, CPU of its processes {cpu:.1f} s (PostgreSQL's not included); "
          f"load average {os.getloadavg()[0]:.1f}")
    return rate


def _cpu_us(work: Callable[[], object], count: int, rounds: int = 3) -> float:
    """Median CPU microseconds per item of ``work`` (over ``count`` items) across ``rounds`` runs."""
    samples = []
    for _ in range(rounds):
        began = time.process_time()
        work()
        samples.append((time.process_time() - began) / count * 1e6)
    return statistics.median(samples)


def budget(url: str, seed: int) -> float:
    """The per-stage CPU budget of one write batch; answers the ceiling in resources per second."""
    from fhir.resources.R4B import get_fhir_model_class

    from app.settings import get_settings
    from ece import limits, store
    from ece.indexing import extract
    from ece.validation import _check_elements, _run_profile_validators, check_resource
    from fhir_profiles.enforcement import install_validator
    from synthetic import clinical, network
    from synthetic.writer import validated

    settings = get_settings()
    limits.configure(max_json_depth=settings.max_json_depth)
    install_validator(settings.enforced_profile_types)
    net = network.build(seed, network.DEFAULT_FACILITIES)
    validated(net.resources)  # builds every model and profile once, as the seed does before forking
    first = 5000
    patients = range(first, first + BATCH_PATIENTS)
    resources = [data for index in patients for data in clinical.patient_records(net, index)]
    count = len(resources)
    depth = settings.max_json_depth
    valid, refused = validated(resources)
    assert not refused, refused[:3]
    batch = pickle.dumps(valid)
    stages = {
        "generación / generation": lambda: [clinical.patient_records(net, i) for i in patients],
        "recorrido de elementos / element walk": lambda: [
            _check_elements(d["resourceType"], d, d["resourceType"], 1, depth, []) for d in resources],
        "modelo estructural / structural model (fhir.resources)": lambda: [
            get_fhir_model_class(d["resourceType"]).model_validate(d) for d in resources],
        "perfiles nacionales / national profiles": lambda: [
            _run_profile_validators(d, d["resourceType"], d["resourceType"]) for d in resources],
        "extracción de índices / index extraction": lambda: [extract(d["resourceType"], d) for d in resources],
        "paso entre procesos / between processes (pickle)": lambda: pickle.loads(pickle.dumps(valid)),
    }
    whole_check = _cpu_us(lambda: [check_resource(d, max_json_depth=depth) for d in resources], count)
    moment = store.now()

    def plan() -> store.WritePlan:
        writes = store.WritePlan()
        for data, index in valid:
            writes.put(data=data, resource_type=data["resourceType"], resource_id=data["id"], current=None,
                       method="PUT", moment=moment, index=index)
        return writes

    stages["plan de escritura / write plan + statement parameters"] = \
        lambda: store._flush_params(plan().versions)
    costs = {name: _cpu_us(work, count) for name, work in stages.items()}
    costs["PostgreSQL: la sentencia de escritura / the write statement"] = _flush_us(url, plan(), count)
    print(f"[2] CPU por recurso / per resource ({count} recursos de {BATCH_PATIENTS} pacientes, "
          f"{len(batch) / count:,.0f} bytes cada uno al pasar entre procesos)")
    for name, cost in costs.items():
        print(f"    {cost:8.1f} µs  {name}")
    total = sum(costs.values())
    cores = os.cpu_count() or 1
    ceiling = cores * 1e6 / total
    print(f"    {total:8.1f} µs  total (check_resource entero / whole: {whole_check:.1f} µs)")
    print(f"    techo con {cores} núcleos / ceiling on {cores} cores: {ceiling:,.0f} recursos/s; "
          f"{TARGET_PER_SECOND:,.0f}/s pide / needs <= {cores * 1e6 / TARGET_PER_SECOND:.0f} µs por recurso")
    return ceiling


def _flush_us(url: str, plan, count: int) -> float:
    """PostgreSQL's time for one batch's write statement, rolled back each round (median, µs per resource)."""
    from app.db import make_sync_engine
    from ece import store

    params, kinds = store._flush_params(plan.versions)
    statement = store._flush_statement(False, kinds)
    samples = []
    engine = make_sync_engine(url)
    try:
        with engine.connect() as conn:
            for _ in range(FLUSH_ROUNDS):
                began = time.perf_counter()
                conn.execute(statement, params)
                samples.append(time.perf_counter() - began)
                conn.rollback()
    finally:
        engine.dispose()
    return statistics.median(samples) / count * 1e6


def main() -> None:
    patients = int(os.environ.get("BENCH_SEED_PATIENTS", "1000"))
    seed = int(os.environ.get("BENCH_SEED_SEED", "7"))
    server, _embedded = _admin_url()  # the embedded server, if started, runs while this process holds it
    url = _fresh_database(server)
    rate = end_to_end(url, patients, seed)
    ceiling = budget(url, seed)
    verdict = "cumplido / met" if rate >= TARGET_PER_SECOND else "NO cumplido / NOT met"
    print(f"objetivo / target {TARGET_PER_SECOND:,.0f} recursos/s: {verdict} ({rate:,.0f}/s; techo / ceiling "
          f"{ceiling:,.0f}/s)")


if __name__ == "__main__":
    main()
