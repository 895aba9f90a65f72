"""The ceiling: the same JSON documents written by raw psycopg ``executemany`` into a scratch table on the
same PostgreSQL server, from as many connections as the HTTP workloads had clients.

No validation, no versioning, no search index: just one jsonb row per document. The server's figures
are printed as a share of it.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from dataclasses import dataclass

import orjson
import psycopg

from bench import fixtures

SCRATCH = "bench_raw"


@dataclass
class RawResult:
    docs: int
    per_commit: int
    connections: int
    seconds: float
    client_cpu_s: float

    @property
    def rows_per_s(self) -> float:
        return self.docs / self.seconds if self.seconds else 0.0


def prepare_documents(count: int, bundle_size: int, run: str) -> list[tuple[str, str]]:
    """(id, JSON text) pairs, serialised before the clock starts."""
    stream = fixtures.documents(random.Random(f"{run}-raw"), f"{run}r", bundle_size=bundle_size)
    return [(f"{d['resourceType']}/{d['id']}", orjson.dumps(d).decode()) for d in itertools.islice(stream, count)]


INSERT = f"INSERT INTO {SCRATCH} (id, doc) VALUES (%s, %s::jsonb)"


async def _writer(url: str, chunks: list[list[tuple[str, str]]]) -> None:
    if all(len(chunk) == 1 for chunk in chunks):
        # One document per commit: an autocommit statement is its own transaction (one round trip).
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            for (doc,) in chunks:
                await conn.execute(INSERT, doc)
        return
    async with await psycopg.AsyncConnection.connect(url) as conn, conn.cursor() as cur:
        for chunk in chunks:
            async with conn.transaction():
                await cur.executemany(INSERT, chunk)


async def _write_all(url: str, docs: list[tuple[str, str]], per_commit: int, connections: int) -> float:
    chunks = [docs[i:i + per_commit] for i in range(0, len(docs), per_commit)]
    shares = [chunks[i::connections] for i in range(connections)]
    started = time.perf_counter()
    await asyncio.gather(*(_writer(url, share) for share in shares if share))
    return time.perf_counter() - started


def run(url: str, docs: list[tuple[str, str]], *, per_commit: int, connections: int) -> RawResult:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {SCRATCH}")
        conn.execute(f"CREATE TABLE {SCRATCH} (id text PRIMARY KEY, doc jsonb NOT NULL)")
    try:
        cpu_before = time.process_time()
        seconds = asyncio.run(_write_all(url, docs, per_commit, connections))
        cpu = time.process_time() - cpu_before
        with psycopg.connect(url) as conn:
            written = conn.execute(f"SELECT count(*) FROM {SCRATCH}").fetchone()[0]
        if written != len(docs):
            raise RuntimeError(f"{SCRATCH} holds {written} rows, {len(docs)} were written")
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"DROP TABLE IF EXISTS {SCRATCH}")
    return RawResult(len(docs), per_commit, connections, seconds, cpu)
