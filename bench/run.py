"""``python -m bench.run`` (``make bench``): the benchmark of the FHIR server, figures printed.

Without ``BENCH_URL`` it starts PostgreSQL (``ECE_DATABASE_URL``'s server, else
``ECE_TEST_DATABASE_URL``'s, else an embedded one under var/bench-pgdata), a fresh migrated
``ece_bench`` database and ``ece serve``, and stops the server at the end. Sizes: ``bench.config``.
"""

from __future__ import annotations

import secrets
import sys
import time
from datetime import datetime

from bench import bulk, ceiling, config, load, report, stack
from bench.pyspy import Profiler, py_spy
from bench.report import Row, verdict
from bench.sampler import Sampler


def say(*lines: str) -> None:
    for line in lines:
        print(line, flush=True)


def main() -> int:
    if {"-h", "--help"} & set(sys.argv[1:]):
        say((__doc__ or "").strip(), "", "Environment:", config.ENV_DOC)
        return 0
    cfg = config.Config.from_env()
    run_id = secrets.token_hex(3)
    say("ECE Honduras: FHIR R4 server benchmark (figures, not a test)", report.RULE,
        f"command:    {report.command_line()}",
        f"started:    {datetime.now().astimezone().isoformat(timespec='seconds')}  (run {run_id})",
        "sizes:      " + ", ".join(f"{k}={v}" for k, v in [
            ("clients", cfg.clients), ("warmup_s", cfg.warmup_s), ("creates_s", cfg.creates_s), ("tx_s", cfg.tx_s),
            ("bundle_size", cfg.bundle_size), ("load_mb", cfg.load_mb), ("spread", int(cfg.spread)),
            ("workers", cfg.workers if not cfg.url else "(server's)")]))
    say("starting…" if not cfg.url else f"using the running server at {cfg.url}")
    began = time.perf_counter()
    st = stack.start(cfg)
    failed = False
    rows: list[Row] = []
    try:
        say(*stack.machine_lines(st), *st.notes, report.RULE)
        failed = _workloads(cfg, st, run_id, rows)
    finally:
        st.stop()
    say(report.RULE, "Summary", *report.table(rows), "",
        "  reference: a well-known open-source FHIR server measured on this machine did about "
        f"{config.REFERENCE_CREATES:.0f} creates/s and {config.REFERENCE_TX_RESOURCES:.0f} resources/s through "
        "transactions.",
        f"  total bench time {time.perf_counter() - began:.0f} s"
        + ("; server log: var/bench-server.log" if st.started_here else ""))
    if failed:
        say("  SOME FIGURES ARE NOT VALID: requests or loads failed (see above).")
    return 1 if failed else 0


def _workloads(cfg: config.Config, st: stack.Stack, run_id: str, rows: list[Row]) -> bool:
    failed = False
    creates = tx = None
    sampler = Sampler(lambda: stack.worker_pids(st), stack.postgres_pids,
                      connections=lambda: stack.connections_per_worker(st))
    profiler = _profiler(cfg, st)
    with sampler:
        if "creates" not in cfg.skip:
            say(f"… single creates: warm-up {cfg.warmup_s:.0f} s, then {cfg.creates_s:.0f} s measured")
            creates = load.run_creates(st.base, clients=cfg.clients, warmup_s=cfg.warmup_s, seconds=cfg.creates_s,
                                       sampler=sampler, run=run_id, profiler=profiler, spread=cfg.spread)
            say(*report.creates_block(creates, cfg.clients, config.TARGET_CREATES, config.REFERENCE_CREATES),
                *(profiler.finish() if profiler else []), "")
            failed |= creates.errors > 0 or creates.requests == 0
            rows.append(Row("single creates/s (8 clients)" if cfg.clients == 8 else f"single creates/s "
                            f"({cfg.clients} clients)", f"{creates.requests_per_s:,.0f}",
                            f">= {config.TARGET_CREATES:,.0f}", f"{config.REFERENCE_CREATES:,.0f}",
                            verdict(creates.requests_per_s >= config.TARGET_CREATES)))
            rows.append(Row("  latency p50 / p95 / p99 (ms)", f"{creates.percentile(50):.0f} / "
                            f"{creates.percentile(95):.0f} / {creates.percentile(99):.0f}"))
            rows.append(_cpu_row("  CPU per create (ms): workers / PostgreSQL", creates, creates.requests))
            rows.append(_spread_row(creates))
        if "tx" not in cfg.skip:
            say(f"… transaction Bundles: warm-up {cfg.warmup_s:.0f} s, then {cfg.tx_s:.0f} s measured")
            tx = load.run_transactions(st.base, clients=cfg.clients, warmup_s=cfg.warmup_s, seconds=cfg.tx_s,
                                       sampler=sampler, run=run_id, size=cfg.bundle_size, profiler=profiler,
                                       spread=cfg.spread)
            say(*report.tx_block(tx, cfg.clients, cfg.bundle_size, config.TARGET_TX_RESOURCES,
                                 config.REFERENCE_TX_RESOURCES), *(profiler.finish() if profiler else []), "")
            failed |= tx.errors > 0 or tx.requests == 0
            rows.append(Row(f"resources/s via {cfg.bundle_size}-entry transactions", f"{tx.resources_per_s:,.0f}",
                            f">= {config.TARGET_TX_RESOURCES:,.0f}", f"{config.REFERENCE_TX_RESOURCES:,.0f}",
                            verdict(tx.resources_per_s >= config.TARGET_TX_RESOURCES)))
            rows.append(Row("  bundles/s; latency p50 / p95 / p99 (ms)", f"{tx.requests_per_s:,.1f}; "
                            f"{tx.percentile(50):.0f} / {tx.percentile(95):.0f} / {tx.percentile(99):.0f}"))
            rows.append(_cpu_row("  CPU per resource (ms): workers / PostgreSQL", tx, tx.resources))
            rows.append(_spread_row(tx))
    if "raw" not in cfg.skip:
        _ceiling(cfg, st, run_id, rows, creates, tx)
    if creates or tx:
        peaks = sampler.peak_mb()
        say(*report.memory_block(peaks, sampler.samples, config.TARGET_WORKER_MB), "")
        if peaks:
            worst = max(peaks.values())
            rows.append(Row("API worker max RSS (MB)", f"{worst:,.0f}", f"< {config.TARGET_WORKER_MB:,.0f}", "",
                            verdict(worst < config.TARGET_WORKER_MB)))
    if "load" not in cfg.skip and cfg.load_mb > 0:
        failed |= _loader(cfg, st, run_id, rows)
    return failed


def _cpu_row(label: str, result: load.Result, count: int) -> Row:
    if not count or not result.cpu_s:
        return Row(label, "n/a")
    return Row(label, f"{1000 * result.cpu_s['workers'] / count:.2f} / {1000 * result.cpu_s['postgres'] / count:.2f}")


def _spread_row(result: load.Result) -> Row:
    held = result.worker_connections
    return Row("  client connections per worker", " / ".join(str(n) for n in held.values()) if held else "n/a")


def _profiler(cfg: config.Config, st: stack.Stack) -> Profiler | None:
    if not cfg.profile:
        return None
    executable = py_spy()
    if executable is None:
        say("BENCH_PROFILE: py-spy not found (.venv/bin/pip install py-spy); not profiling")
        return None
    if not stack.worker_pids(st):
        say("BENCH_PROFILE: no local worker process to profile")
        return None
    say("BENCH_PROFILE: py-spy profiles the workers; throughput figures of this run are perturbed")
    return Profiler(executable)


def _ceiling(cfg: config.Config, st: stack.Stack, run_id: str, rows: list[Row], creates: load.Result | None,
             tx: load.Result | None) -> None:
    if not st.database_url:
        say("[3] ceiling: skipped (set BENCH_DATABASE_URL to the server's database)", "")
        return
    count = max(cfg.raw_min_docs, tx.resources if tx else 0, creates.requests if creates else 0)
    say(f"… raw ceiling: {count:,} documents, {cfg.clients} connections")
    docs = ceiling.prepare_documents(count, cfg.bundle_size, run_id)
    # One commit per document is bound by commits, not rows: a subset is enough to measure it.
    raws = [ceiling.run(st.database_url, docs, per_commit=cfg.bundle_size, connections=cfg.clients),
            ceiling.run(st.database_url, docs[:cfg.raw_single_docs], per_commit=1, connections=cfg.clients)]
    del docs
    say(*report.raw_block(raws, creates, tx), "")
    batch, single = raws
    rows.append(Row(f"raw ceiling rows/s ({batch.per_commit} docs/commit)", f"{batch.rows_per_s:,.0f}"))
    rows.append(Row("raw ceiling rows/s (1 doc/commit)", f"{single.rows_per_s:,.0f}"))
    if creates and creates.requests:
        rows.append(Row("  single creates / 1-per-commit ceiling",
                        f"{100 * creates.requests_per_s / single.rows_per_s:.1f}%"))
    if tx and tx.requests:
        rows.append(Row(f"  transactions / {batch.per_commit}-per-commit ceiling",
                        f"{100 * tx.resources_per_s / batch.rows_per_s:.1f}%"))


def _loader(cfg: config.Config, st: stack.Stack, run_id: str, rows: list[Row]) -> bool:
    if not st.database_url:
        say("[5] loader: skipped (set BENCH_DATABASE_URL to the server's database)", "")
        return False
    say(f"… loader: generating {cfg.load_mb:.0f} MB of NDJSON")
    result = bulk.run(st.database_url, megabytes=cfg.load_mb, run_id=run_id, bundle_size=cfg.bundle_size)
    say(*report.load_block(result, config.TARGET_LOADER_MB))
    rows.append(Row(f"loader resources/s ({result.file_mb:,.0f} MB NDJSON)", f"{result.resources_per_s:,.0f}"))
    rows.append(Row("loader peak RSS (MB)", f"{result.peak_rss_mb:,.0f}", f"< {config.TARGET_LOADER_MB:,.0f}", "",
                    verdict(result.peak_rss_mb < config.TARGET_LOADER_MB)))
    return result.exit_code != 0 or result.loaded != result.resources_in_file


if __name__ == "__main__":
    sys.exit(main())
