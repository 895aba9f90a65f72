"""Sizes and switches of a bench run, all read from ``BENCH_*`` environment variables."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VAR = ROOT / "var"

# Targets of the project, and what a well-known open-source FHIR server did on the same machine.
TARGET_CREATES = 1000.0
TARGET_TX_RESOURCES = 2000.0
TARGET_WORKER_MB = 300.0
TARGET_LOADER_MB = 500.0
REFERENCE_CREATES = 150.0
REFERENCE_TX_RESOURCES = 230.0


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


def _float(name: str, default: float) -> float:
    value = os.environ.get(name, "").strip()
    return float(value) if value else default


@dataclass(frozen=True)
class Config:
    url: str | None  # BENCH_URL: a running server's FHIR base; None starts everything here
    database_url: str | None  # BENCH_DATABASE_URL: its database, for the raw ceiling and the loader
    workers: int  # BENCH_WORKERS: uvicorn workers of the server started here
    clients: int  # BENCH_CLIENTS: concurrent HTTP clients (and raw connections)
    warmup_s: float  # BENCH_WARMUP_S: load before each measured workload, not counted
    creates_s: float  # BENCH_CREATES_S: measured seconds of single creates
    tx_s: float  # BENCH_TX_S: measured seconds of transaction Bundles
    bundle_size: int  # BENCH_BUNDLE_SIZE: entries per transaction Bundle
    raw_min_docs: int  # BENCH_RAW_MIN_DOCS: at least this many documents for the raw ceiling
    raw_single_docs: int  # BENCH_RAW_SINGLE_DOCS: documents for the one-commit-per-document ceiling
    load_mb: float  # BENCH_LOAD_MB: size of the NDJSON file for the loader (0 skips it)
    spread: bool  # BENCH_SPREAD=1: reconnect clients until their connections are spread evenly over the workers
    profile: bool  # BENCH_PROFILE=1: py-spy profiles of the workers during [1] and [2] (perturbs the figures)
    skip: frozenset[str]  # BENCH_SKIP: comma-separated workloads to skip (creates,tx,raw,load)

    @classmethod
    def from_env(cls) -> Config:
        skip = {s.strip() for s in os.environ.get("BENCH_SKIP", "").split(",") if s.strip()}
        return cls(
            url=(os.environ.get("BENCH_URL") or "").rstrip("/") or None,
            database_url=os.environ.get("BENCH_DATABASE_URL") or None,
            workers=_int("BENCH_WORKERS", 2),
            clients=_int("BENCH_CLIENTS", 8),
            warmup_s=_float("BENCH_WARMUP_S", 3.0),
            creates_s=_float("BENCH_CREATES_S", 20.0),
            tx_s=_float("BENCH_TX_S", 20.0),
            bundle_size=max(2, _int("BENCH_BUNDLE_SIZE", 20)),
            raw_min_docs=_int("BENCH_RAW_MIN_DOCS", 50000),
            raw_single_docs=_int("BENCH_RAW_SINGLE_DOCS", 20000),
            load_mb=_float("BENCH_LOAD_MB", 200.0),
            spread=os.environ.get("BENCH_SPREAD", "") not in ("", "0"),
            profile=os.environ.get("BENCH_PROFILE", "") not in ("", "0"),
            skip=frozenset(skip),
        )


ENV_DOC = """\
BENCH_URL            FHIR base of a running server (nothing is started), e.g. http://127.0.0.1:8000/fhir
BENCH_DATABASE_URL   that server's database (raw ceiling and loader; skipped without it)
BENCH_WORKERS=2      uvicorn workers of the server started here
BENCH_CLIENTS=8      concurrent clients / raw connections
BENCH_WARMUP_S=3     warm-up before each HTTP workload
BENCH_CREATES_S=20   measured seconds of single creates
BENCH_TX_S=20        measured seconds of transaction Bundles
BENCH_BUNDLE_SIZE=20 entries per Bundle (1 Patient + Encounters + Observations)
BENCH_RAW_MIN_DOCS=50000 minimum documents for the raw psycopg ceiling (20 per commit)
BENCH_RAW_SINGLE_DOCS=20000 documents for the one-commit-per-document ceiling
BENCH_LOAD_MB=200    NDJSON size for `ece load` (1024 for the full 1 GB check, 0 to skip)
BENCH_SKIP=          comma-separated: creates,tx,raw,load
BENCH_SPREAD=1       reconnect the clients until their connections are spread evenly over the workers
BENCH_PROFILE=1      py-spy --native profiles of the workers during [1] and [2], under var/ (perturbs figures)"""
