"""``python -m bench.search``: the search benchmark of the FHIR server (issue 4, section 4), figures printed.

Grows one database through the sizes of ``BENCH_SEARCH_SIZES`` (patients, about 50 resources each, loaded
in-process through the store's write path), runs ``VACUUM ANALYZE`` after each load (what autovacuum does to
a production database after a bulk load: statistics, and the visibility map that lets index-only scans skip the
table; this machine's PostgreSQL runs without autovacuum), then measures a fixed mix
of ten search types at ``BENCH_CLIENTS`` concurrent keep-alive clients. At the largest size it prints the
``EXPLAIN (ANALYZE, BUFFERS)`` of the SQL each type runs, flags sequential scans over big tables, and tries
the prototype of ``bench.search_prototypes`` (custom plans) on the bench database. Without ``BENCH_URL`` it starts
``ece serve`` on a fresh ``ece_bench_search`` database (as ``bench.run`` does with ``ece_bench``).
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime

from bench import config, population, report, search_mix, search_plans, search_prototypes, stack
from bench.config import ROOT, VAR
from bench.sampler import Sampler
from synthetic import BENCH_SIZES

DATABASE = "ece_bench_search"
TARGET_P50_MS = 5.0
TARGET_P95_MS = 15.0
TARGET_GROWTH = 1.5
REFERENCE = "a well-known open-source FHIR server answered Patient?name= at p50 42 ms / p95 79 ms with ~20k patients"
ENV_DOC = """\
BENCH_SEARCH_SIZES=1000,8000  patients per size, cumulative (1000,8000,64000 for the full curve: synthetic.BENCH_SIZES)
BENCH_SEARCH_SEED=2026        seed of the data and of the query draws
BENCH_SEARCH_S=20             measured seconds of the mix per size (after BENCH_WARMUP_S=3 of warm-up)
BENCH_SEARCH_KEEP=1           reuse ece_bench_search as left by a previous run and load only the missing patients
BENCH_SEARCH_PROTOTYPES=0     skip the prototype (custom plans, a second mix) at the largest size
BENCH_SEARCH_TIMEOUT_S=10     statement_timeout of the bench database (server started here): a search cancelled
                              there counts as a timeout at the time it took; EXPLAINs get 6x as long
BENCH_SEARCH_QUERIES=         comma-separated query types to keep (default: all ten)
BENCH_CLIENTS=8, BENCH_WORKERS=2, BENCH_URL + BENCH_DATABASE_URL: as for bench.run (the data are loaded into
                              BENCH_DATABASE_URL, which must be the database of the server at BENCH_URL)"""


def say(*lines: str) -> None:
    for line in lines:
        print(line, flush=True)


@dataclass(frozen=True)
class Settings:
    sizes: list[int]
    seed: int
    seconds: float
    keep: bool
    prototypes: bool
    timeout_s: float


def settings() -> Settings:
    default = ",".join(str(n) for n in BENCH_SIZES[:2])  # the 64k size of the full curve is asked for explicitly
    sizes = sorted({int(s) for s in os.environ.get("BENCH_SEARCH_SIZES", default).split(",") if s.strip()})
    return Settings(sizes, int(os.environ.get("BENCH_SEARCH_SEED") or 2026),
                    float(os.environ.get("BENCH_SEARCH_S") or 20),
                    os.environ.get("BENCH_SEARCH_KEEP", "") not in ("", "0"),
                    os.environ.get("BENCH_SEARCH_PROTOTYPES", "1") not in ("", "0"),
                    float(os.environ.get("BENCH_SEARCH_TIMEOUT_S") or 10))


# --- the stack: database and server --------------------------------------------------------------------


def database(keep: bool, timeout_s: float) -> tuple[str, object | None]:
    """A migrated ``ece_bench_search`` database (fresh unless ``keep``), and the embedded server handle."""
    import psycopg

    from app import migrate

    admin, embedded = stack._admin_url()
    admin = stack._with_database(admin, "postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)).fetchone()
        if not keep or not exists:
            conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{DATABASE}"')
        # A quadratic query must not hold the machine for minutes: the server's sessions give up after this.
        conn.execute(f'ALTER DATABASE "{DATABASE}" SET statement_timeout = {int(timeout_s * 1000)}')
    url = stack._with_database(admin, DATABASE)
    migrate.upgrade(url)
    return url, embedded


def serve(cfg: config.Config, url: str, embedded: object | None) -> stack.Stack:
    """``ece serve`` on ``url`` as ``bench.stack.start`` runs it, national-profile enforcement off."""
    port = stack._free_port()
    env = {**os.environ, "ECE_DATABASE_URL": url, "ECE_PORT": str(port), "ECE_HOST": "127.0.0.1",
           "ECE_WORKERS": str(cfg.workers), "ECE_ENFORCED_PROFILE_TYPES": "",
           # The store and search alone: the cost of tokens, row filters and audit is bench.access's figure.
           "ECE_ACCESS_ENFORCED": "false"}
    VAR.mkdir(exist_ok=True)
    log = open(VAR / "bench-search-server.log", "a")  # noqa: SIM115 - closed by Stack.stop
    process = subprocess.Popen([sys.executable, "-m", "app", "serve"], cwd=ROOT, env=env, stdout=log,
                               stderr=subprocess.STDOUT)
    st = stack.Stack(f"http://127.0.0.1:{port}/fhir", url, process.pid, True, _process=process, _embedded=embedded,
                     _log=log)
    try:
        stack.wait_ready(st.base, process=process)
        stack._wait_workers(st, cfg.workers)
    except BaseException:
        st.stop()
        raise
    return st


def loaded_patients(url: str, seed: int) -> int:
    """How many of this seed's patients the database holds (they are always loaded in index order)."""
    with search_plans.connect(url) as conn:
        count = conn.execute("SELECT count(*) FROM resource WHERE resource_type = 'Patient'").fetchone()[0]
        if count == 0:
            return 0
        ids = sorted({population.patient_key(seed, i).id for i in (0, count - 1)})
        found = conn.execute("SELECT count(*) FROM resource WHERE resource_type = 'Patient' AND id = ANY(%s)",
                             (ids,)).fetchone()[0]
    if found != len(ids):
        raise SystemExit(f"{url}: the database holds {count} patients that are not this bench's (seed {seed}); "
                         "use a fresh database")
    return count


# --- one size ------------------------------------------------------------------------------------------


@dataclass
class SizeResult:
    patients: int
    clients: int
    mix: search_mix.MixResult
    shapes: dict[str, search_mix.Shape]


def load_to(url: str, seed: int, have: int, want: int) -> list[str]:
    if have >= want:
        return [f"  data: {have:,} patients already loaded (BENCH_SEARCH_KEEP / BENCH_URL database)"]
    say(f"… loading patients {have:,}..{want - 1:,} ({(want - have) * population.RESOURCES_PER_PATIENT:,} "
        "resources)")
    marks = {}

    def progress(written: int) -> None:
        step = written * 10 // ((want - have) * population.RESOURCES_PER_PATIENT)
        if step not in marks and step < 10:
            marks[step] = True
            print(f"  {10 * step}%", end="", flush=True)

    stats = population.load(url, seed=seed, start=have, stop=want, progress=progress)
    print(flush=True)
    began = time.perf_counter()
    with search_plans.connect(url) as conn:
        conn.execute("VACUUM ANALYZE")
        analyzed = time.perf_counter() - began
        size = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]
    return [f"  loaded {stats.resources:,} resources ({stats.patients:,} patients) in {stats.seconds:.1f} s = "
            f"{stats.per_s:,.0f} resources/s through ece seed's path (synthetic.writer: worker processes "
            f"generate and validate, ece.store.WritePlan batches of ~1,000, 2 in flight; bench CPU "
            f"{stats.client_cpu_s:.1f} s); VACUUM ANALYZE {analyzed:.1f} s; database {size / 2**30:.2f} GiB"]


def measure(st: stack.Stack, cfg: config.Config, s: Settings, patients: int, sampler: Sampler) -> SizeResult:
    keys = [population.patient_key(s.seed, i) for i in range(patients)]
    say(f"… search mix: {cfg.clients} clients, warm-up {cfg.warmup_s:.0f} s, then {s.seconds:.0f} s measured")
    mix = search_mix.run(st.base, keys, clients=cfg.clients, warmup_s=cfg.warmup_s, seconds=s.seconds,
                         sampler=sampler, seed=s.seed + patients, timeout_s=s.timeout_s if st.started_here else 0)
    # After the mix: its connections hold the plans a warm server keeps (prepared, maybe generic).
    shapes = search_mix.shapes(st.base, keys, seed=s.seed)
    return SizeResult(patients, cfg.clients, mix, shapes)


def _ms(value: float) -> str:
    return f"{value:7.1f}" if value < 100 else f"{value:7.0f}"


def size_block(result: SizeResult) -> list[str]:
    mix = result.mix.mix
    timeouts = result.mix.timeouts
    lines = [f"[{result.patients:,} patients] per query type: matches = Bundle.total, entries = returned, alone = "
             "median latency with one client, over 5 sequential samples after the mix (warm server); the mix at "
             f"{result.clients} clients: latencies in ms, t/o = cancelled by the statement timeout (counted in the "
             "latencies):",
             f"    {'query':<20} {'matches':>8} {'entries':>7} {'alone':>7} {'p50':>7} {'p95':>7} {'p99':>7} "
             f"{'req/s':>7} {'n':>6} {'t/o':>4} errors"]
    for label, _ in search_mix.QUERIES:
        r, shape = result.mix.per_query[label], result.shapes[label]
        matches = (f"{shape.total:8.1f} {shape.entries:7.1f} {_ms(shape.alone_ms)}" if shape.samples
                   else f"{'t/o':>8} {'t/o':>7} {'t/o':>7}")
        lines.append(f"    {label:<20} {matches} {_ms(r.percentile(50))} {_ms(r.percentile(95))} "
                     f"{_ms(r.percentile(99))} {r.requests_per_s:7.1f} {r.requests:6d} {timeouts.get(label, 0):4d} "
                     f"{r.errors}")
    lines.append(f"    {'whole mix':<20} {'':>8} {'':>7} {'':>7} {_ms(mix.percentile(50))} {_ms(mix.percentile(95))} "
                 f"{_ms(mix.percentile(99))} {mix.requests_per_s:7.1f} {mix.requests:6d} "
                 f"{sum(timeouts.values()):4d} {mix.errors}"
                 + ("" if mix.errors == 0 else "  <-- MUST BE 0: figures are not valid"))
    lines += report.cpu_lines(mix, "request")
    lines += [f"    error: {e}" for e in mix.error_samples]
    return lines


def curve_block(results: list[SizeResult]) -> list[str]:
    first, last = results[0], results[-1]
    head = "".join(f"{r.patients:>16,}" for r in results)
    lines = [f"Curve: p50 in ms at each size (x = relative to {first.patients:,} patients)",
             f"    {'query':<20}{head}"]
    growing = []
    for label in [q for q, _ in search_mix.QUERIES] + ["whole mix"]:
        cells = []
        for r in results:
            p50 = (r.mix.mix if label == "whole mix" else r.mix.per_query[label]).percentile(50)
            base = (first.mix.mix if label == "whole mix" else first.mix.per_query[label]).percentile(50)
            cells.append(f"{p50:8.1f} ({p50 / base:4.1f}x)" if r is not first else f"{p50:16.1f}")
        lines.append(f"    {label:<20}" + "".join(f"{c:>16}" for c in cells))
        if len(results) > 1 and label != "whole mix":
            ratio = last.mix.per_query[label].percentile(50) / first.mix.per_query[label].percentile(50)
            if ratio > TARGET_GROWTH:
                growing.append(f"{label} {ratio:.1f}x")
    mix_first, mix_last = first.mix.mix.percentile(50), last.mix.mix.percentile(50)
    lines += ["", "Targets (this machine):"]
    for r in results:
        p50, p95 = r.mix.mix.percentile(50), r.mix.mix.percentile(95)
        lines.append(f"    {r.patients:>7,} patients: mix p50 {p50:.1f} ms (target <= {TARGET_P50_MS:.0f}) -> "
                     f"{report.verdict(p50 <= TARGET_P50_MS)}; mix p95 {p95:.1f} ms (target <= {TARGET_P95_MS:.0f}) "
                     f"-> {report.verdict(p95 <= TARGET_P95_MS)}")
    if len(results) > 1:
        full = first.patients == 1000 and last.patients == 64000
        lines.append(f"    growth: mix p50 at {last.patients:,} = {mix_last / mix_first:.2f}x p50 at "
                     f"{first.patients:,} "
                     f"(target <= {TARGET_GROWTH}x{'' if full else ' between 1k and 64k; partial curve'}) -> "
                     f"{report.verdict(mix_last / mix_first <= TARGET_GROWTH)}")
        lines.append("    query types whose p50 grew more than 1.5x: " + (", ".join(growing) or "none"))
    lines += _cpu_budget(last)
    name = [f"{r.mix.per_query['name'].percentile(50):.1f} / {r.mix.per_query['name'].percentile(95):.1f} ms at "
            f"{r.patients:,}" for r in results]
    lines += [f"    reference: {REFERENCE}; here Patient?name= p50 / p95: " + "; ".join(name)]
    return lines


def _cpu_budget(result: SizeResult) -> list[str]:
    """Little's law for a closed loop: latency = clients / throughput >= clients x CPU per request / CPUs."""
    mix, cpus = result.mix.mix, os.cpu_count() or 1
    if not mix.requests or not mix.cpu_s:
        return []
    spent = {k: 1000 * mix.cpu_s.get(k, 0.0) / mix.requests for k in ("workers", "postgres", "client")}
    budget = cpus * TARGET_P50_MS / result.clients
    return [f"    CPU budget: {result.clients} clients on {cpus} CPUs keep the CPUs busy, so a mean latency of "
            f"{TARGET_P50_MS:.0f} ms allows at most {cpus} x {TARGET_P50_MS:.0f} / {result.clients} = {budget:.2f} ms "
            f"of CPU per request (server, database and client together); at {result.patients:,} patients a request "
            f"took {spent['workers']:.2f} ms in the API workers + {spent['postgres']:.2f} ms in PostgreSQL + "
            f"{spent['client']:.2f} ms in the load generator"]


# --- plans ---------------------------------------------------------------------------------------------


def plans_block(url: str, s: Settings, patients: int) -> list[str]:
    samples = search_prototypes.samples(s.seed, patients)
    lines = [f"EXPLAIN (ANALYZE, BUFFERS) at {patients:,} patients, one sample per query type, every statement the "
             "server runs for it (page, count = the _total when one is run, then _include/_revinclude); 'custom' = "
             "values known to the planner (what the server runs, but for 'server: GENERIC'), 'prepared' = the plan "
             "PostgreSQL would keep once psycopg has prepared the statement (after 5 executions per connection) "
             "and 5 more custom plans were tried; 'server: GENERIC' = a page the server runs on its generic plan "
             "(ece.search.query.Statement.generic_plan; its planning is done once per connection):"]
    with search_plans.connect(url, 6 * s.timeout_s) as conn:
        for sample in samples:
            lines.append(f"  {sample.label}: {sample.resource_type}?{sample.query}")
            for statement in search_plans.statements(conn, sample.resource_type, sample.pairs):
                custom, prepared = search_plans.measure(conn, statement)
                slower = prepared.execution_ms > 2 * custom.execution_ms + 0.5
                kept = "server: GENERIC" if statement.generic else \
                    f"prepared: {'GENERIC' if prepared.generic else 'custom'}"
                lines.append(f"    -- {statement.label}: custom {custom.execution_ms:.2f} ms (planning "
                             f"{custom.planning_ms:.2f}); {kept} plan {prepared.execution_ms:.2f} ms"
                             + (f"  <-- {prepared.execution_ms / max(custom.execution_ms, 0.01):.0f}x slower"
                                if slower else ""))
                lines += search_plans.compact(custom)
                lines += [f"      !! SEQUENTIAL SCAN (custom plan) over {scan}" for scan in custom.seq_scans]
                if prepared.generic and slower:
                    lines += ["      prepared (generic) plan:", *search_plans.compact(prepared)]
                lines += [f"      !! SEQUENTIAL SCAN (prepared plan) over {scan}" for scan in prepared.seq_scans]
    return lines


def custom_plans(cfg: config.Config, s: Settings, url: str, embedded: object | None, st: stack.Stack,
                 before: SizeResult) -> stack.Stack:
    """The prototype: the mix again with plan_cache_mode = force_custom_plan on the bench database."""
    say("Prototype (setting, bench database only): plan_cache_mode = force_custom_plan, server restarted, "
        "mix measured again at the largest size:")
    search_prototypes.set_plan_cache_mode(url, "force_custom_plan")
    try:
        st.stop()
        st = serve(cfg, url, embedded)
        sampler = Sampler(lambda: stack.worker_pids(st), stack.postgres_pids,
                          connections=lambda: stack.connections_per_worker(st))
        with sampler:
            after = measure(st, cfg, s, before.patients, sampler)
    finally:
        search_prototypes.set_plan_cache_mode(url, None)
    say(*search_prototypes.compare_block(before, after),
        *report.cpu_lines(after.mix.mix, "request"), "")
    return st


def main() -> int:
    if {"-h", "--help"} & set(sys.argv[1:]):
        say((__doc__ or "").strip(), "", "Environment:", ENV_DOC)
        return 0
    os.environ["ECE_ENFORCED_PROFILE_TYPES"] = ""  # this measures search, not the national profiles
    cfg, s = config.Config.from_env(), settings()
    chosen = {q.strip() for q in os.environ.get("BENCH_SEARCH_QUERIES", "").split(",") if q.strip()}
    if chosen:  # every module reads the list at call time
        search_mix.QUERIES[:] = [q for q in search_mix.QUERIES if q[0] in chosen]
    began = time.perf_counter()
    say("ECE Honduras: FHIR search benchmark (figures, not a test)", report.RULE,
        f"command:    {report.command_line().replace('bench.run', 'bench.search')}",
        f"started:    {datetime.now().astimezone().isoformat(timespec='seconds')}  (run {secrets.token_hex(3)})",
        f"sizes:      patients {', '.join(f'{n:,}' for n in s.sizes)} (cumulative, "
        f"{population.RESOURCES_PER_PATIENT} resources each); seed {s.seed}; clients {cfg.clients}; "
        f"{s.seconds:.0f} s measured per size after {cfg.warmup_s:.0f} s warm-up")
    if cfg.url:
        if not cfg.database_url:
            raise SystemExit("BENCH_URL needs BENCH_DATABASE_URL (the data are loaded into it)")
        st, url, embedded = stack._attach(cfg), cfg.database_url, None
    else:
        url, embedded = database(s.keep, s.timeout_s)
        st = serve(cfg, url, embedded)
    results: list[SizeResult] = []
    try:
        say(*stack.machine_lines(st), *st.notes, report.RULE)
        have = loaded_patients(url, s.seed)
        for patients in s.sizes:
            if have > patients:
                say(f"  size {patients:,} skipped: the database already holds {have:,} patients (start fresh to "
                    "measure it)")
                continue
            say(*load_to(url, s.seed, have, patients))
            have = max(have, patients)
            sampler = Sampler(lambda: stack.worker_pids(st), stack.postgres_pids,
                              connections=lambda: stack.connections_per_worker(st))
            with sampler:
                results.append(measure(st, cfg, s, patients, sampler))
            say(*size_block(results[-1]), "")
        if not results:
            return 1
        say(report.RULE, *curve_block(results), report.RULE)
        say(*plans_block(url, s, s.sizes[-1]), report.RULE)
        if s.prototypes:
            if st.started_here:
                st = custom_plans(cfg, s, url, embedded, st, results[-1])
            else:
                say("Prototype skipped: the server was not started here (BENCH_URL)")
    finally:
        st.stop()
    failed = any(r.mix.mix.errors or not r.mix.mix.requests for r in results)
    say(report.RULE, f"total bench time {time.perf_counter() - began:.0f} s"
        + ("; server log: var/bench-search-server.log" if st.started_here else ""))
    if failed:
        say("SOME FIGURES ARE NOT VALID: requests failed (see above).")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
