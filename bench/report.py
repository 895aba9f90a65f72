"""Printing: one block of figures per workload, and the final summary table."""

from __future__ import annotations

import contextlib
import os
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from bench.bulk import LoadResult
from bench.ceiling import RawResult
from bench.config import ROOT
from bench.load import Result

RULE = "-" * 100


def command_line() -> str:
    shown = []
    for name in sorted(os.environ):
        if name.startswith("BENCH_") or name in ("ECE_DATABASE_URL", "ECE_TEST_DATABASE_URL"):
            shown.append(f"{name}={shlex.quote(_mask(os.environ[name]))}")
    python = Path(sys.executable)
    with contextlib.suppress(ValueError):
        python = python.relative_to(ROOT)
    return " ".join([f"cd {shlex.quote(str(ROOT))} &&", *shown, str(python), "-m", "bench.run", *sys.argv[1:]])


def _mask(value: str) -> str:
    try:
        password = urlsplit(value).password
    except ValueError:
        return value
    return value.replace(f":{password}@", ":***@") if password else value


def _n(value: float, decimals: int = 0) -> str:
    return f"{value:,.{decimals}f}"


def cpu_lines(result: Result, unit: str) -> list[str]:
    share = result.cpu_share()
    parts = ", ".join(f"{k} {share[k]:.0f}%" for k in ("workers", "postgres", "client", "other", "idle") if k in share)
    one_core = 100 * result.client_cpu_s / result.seconds if result.seconds else 0.0
    lines = [f"    load generator CPU: {result.client_cpu_s:.1f} s in {result.seconds:.1f} s "
             f"({one_core:.0f}% of one core) | machine CPU ({os.cpu_count()} CPUs = 100%): {parts}"]
    count = result.resources if unit == "resource" else result.requests
    if count and result.cpu_s:
        per_unit = (result.cpu_s["workers"] + result.cpu_s["postgres"]) / count
        lines.append(f"    CPU per {unit}: API workers {1000 * result.cpu_s['workers'] / count:.2f} ms, PostgreSQL "
                     f"{1000 * result.cpu_s['postgres'] / count:.2f} ms (less sensitive to other load than throughput)"
                     + (f" -> at most ~{_n((os.cpu_count() or 1) / per_unit)} {unit}s/s on {os.cpu_count()} CPUs"
                        if per_unit else ""))
    if len(result.worker_cpu_s) > 1 and result.seconds:
        busy = {pid: cpu / result.seconds for pid, cpu in result.worker_cpu_s.items()}
        total = sum(busy.values()) or 1.0
        per = []
        for pid, b in busy.items():
            held = result.worker_connections.get(pid)
            per.append(f"pid {pid} {100 * b:.0f}% of a core"
                         + ("" if held is None else f" ({held} client connection{'' if held == 1 else 's'})"))
        worst = max(busy.values()) / total
        lines.append("    per worker: " + ", ".join(per)
                     + (f"  <-- UNBALANCED: one worker did {100 * worst:.0f}% of the work" if worst > 0.7 else ""))
        if result.spread_attempts:
            lines.append(f"    (BENCH_SPREAD=1: client connections spread over the workers after "
                         f"{result.spread_attempts} connection round(s))")
    if share.get("other", 0) > 10:
        lines.append(f"    note: {share['other']:.0f}% of the machine went to other processes during this workload; "
                     "throughput is understated")
    return lines


def latency_line(result: Result) -> str:
    return (f"    latency p50 {result.percentile(50):.1f} ms, p95 {result.percentile(95):.1f} ms, "
            f"p99 {result.percentile(99):.1f} ms, max {max(result.latencies, default=0) * 1000:.1f} ms | "
            f"errors: {result.errors}{'' if result.errors == 0 else '  <-- MUST BE 0: figures are not valid'}")


def errors_lines(result: Result) -> list[str]:
    return [f"    error: {sample}" for sample in result.error_samples]


def creates_block(result: Result, clients: int, target: float, reference: float) -> list[str]:
    return [
        f"[1] single creates (POST /Patient and /Observation alternating), {clients} clients, "
        f"{result.seconds:.1f} s measured:",
        f"    {_n(result.requests_per_s)} creates/s  ({_n(result.requests)} creates)   target >= {_n(target)}/s, "
        f"reference server {_n(reference)}/s  -> {result.requests_per_s / reference:.1f}x the reference",
        latency_line(result), *cpu_lines(result, "create"), *errors_lines(result),
    ]


def tx_block(result: Result, clients: int, size: int, target: float, reference: float) -> list[str]:
    return [
        f"[2] transaction Bundles of {size} entries (1 Patient + Encounters/Observations by urn:uuid), "
        f"{clients} clients, {result.seconds:.1f} s measured:",
        f"    {_n(result.requests_per_s, 1)} bundles/s = {_n(result.resources_per_s)} resources/s  "
        f"({_n(result.resources)} resources)   target >= {_n(target)}/s, reference server {_n(reference)}/s  "
        f"-> {result.resources_per_s / reference:.1f}x the reference",
        latency_line(result), *cpu_lines(result, "resource"), *errors_lines(result),
    ]


def raw_block(raws: list[RawResult], creates: Result | None, tx: Result | None) -> list[str]:
    lines = ["[3] ceiling: raw psycopg executemany of the same JSON documents into bench_raw (id text primary key, "
             "doc jsonb):"]
    for raw in raws:
        lines.append(f"    {raw.per_commit:>2} doc(s) per commit, {raw.connections} connections: "
                     f"{_n(raw.rows_per_s)} rows/s  ({_n(raw.docs)} docs in {raw.seconds:.2f} s, client CPU "
                     f"{raw.client_cpu_s:.1f} s)")
    by_commit = {raw.per_commit: raw for raw in raws}
    batch = by_commit.get(20) or (raws[0] if raws else None)
    single = by_commit.get(1)
    if batch and creates and creates.requests:
        lines.append(f"    single creates = {100 * creates.requests_per_s / batch.rows_per_s:.1f}% of the "
                     f"{batch.per_commit}-per-commit ceiling"
                     + (f", {100 * creates.requests_per_s / single.rows_per_s:.1f}% of the 1-per-commit ceiling"
                        if single else ""))
    if batch and tx and tx.requests:
        lines.append(f"    transaction resources = {100 * tx.resources_per_s / batch.rows_per_s:.1f}% of the "
                     f"{batch.per_commit}-per-commit ceiling")
    return lines


def memory_block(peaks: dict[int, float], samples: int, target: float) -> list[str]:
    if not peaks:
        return ["[4] memory: no worker process visible (server not local?)"]
    per = ", ".join(f"pid {pid}: {mb:.0f} MB" for pid, mb in peaks.items())
    worst = max(peaks.values())
    return [f"[4] memory: max RSS per API worker during [1]-[2] ({samples} samples every 200 ms): {per}",
            f"    max {worst:.0f} MB   target < {target:.0f} MB  -> {'met' if worst < target else 'NOT MET'}"]


def load_block(result: LoadResult, target_mb: float) -> list[str]:
    counts = ", ".join(f"{k} {_n(v)}" for k, v in result.counts.items()) or "no summary printed"
    lines = [
        f"[5] loader: `{result.command}` on {result.file_mb:.0f} MB NDJSON ({_n(result.resources_in_file)} resources "
        f"with ids, generated in {result.generate_s:.1f} s):",
        f"    {result.file_mb:.0f} MB in {result.seconds:.1f} s = {result.mb_per_s:.2f} MB/s, "
        f"{_n(result.resources_per_s)} resources/s  ({counts}; exit code {result.exit_code})",
        f"    peak RSS {result.peak_rss_mb:.0f} MB (sampled every 100 ms)   target < {target_mb:.0f} MB  -> "
        f"{'met' if result.peak_rss_mb < target_mb else 'NOT MET'}",
    ]
    if result.exit_code != 0 or result.loaded != result.resources_in_file:
        lines.append("    loader output (tail):")
        lines.extend(f"      {line}" for line in result.output_tail.splitlines()[-15:])
    return lines


@dataclass
class Row:
    metric: str
    figure: str
    target: str = ""
    reference: str = ""
    verdict: str = ""


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT MET"


def table(rows: list[Row]) -> list[str]:
    header = Row("metric", "figure", "target", "reference", "verdict")
    widths = [max(len(getattr(r, f)) for r in [header, *rows]) for f in ("metric", "figure", "target", "reference")]

    def fmt(r: Row) -> str:
        return (f"  {r.metric:<{widths[0]}}  {r.figure:>{widths[1]}}  {r.target:<{widths[2]}}  "
                f"{r.reference:<{widths[3]}}  {r.verdict}")

    return [fmt(header), "  " + "-" * (sum(widths) + 6 + 2 + 7), *(fmt(r) for r in rows)]
