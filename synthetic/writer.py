"""``ece seed``: the synthetic network written through the store's bulk write path, on both cores.

Worker processes generate patients and validate every resource exactly as the write path does
(``ece.validation.check_resource`` with the national profile validator installed, as ``ece load``
validates); the main process writes the valid ones in batches through ``ece.store`` (lock, read current
versions, ``WritePlan``, one flush per transaction), with two transactions in flight, as ``ece.loader``
does. A resource already stored with the same content is left alone, so seeding again with the same
seed changes nothing.

Patients are cut into chunks of consecutive numbers; ``multiprocessing.Pool.imap`` hands them back in
order, so the writes come in the same order however many workers there are.
"""

from __future__ import annotations

import asyncio
import gc
import multiprocessing
import signal
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import chain

from sqlalchemy.ext.asyncio import AsyncEngine

from ece import store
from ece.errors import FhirError
from ece.indexing import IndexRows, extract
from ece.limits import LIMITS
from ece.loader import LoadSummary
from ece.tx import unit_of_work
from ece.validation import check_resource
from synthetic import clinical, network

PATIENTS_PER_CHUNK = 20  # about 1,000 resources: one write batch
IN_FLIGHT = 2  # transactions being written at once (the loader's pipelining, one more)
NETWORK_BATCH = 1000


@dataclass(frozen=True)
class Chunk:
    """Valid resources of a run of patients with their search-index rows, and the refusals (a generator bug
    if any)."""

    patients: int
    resources: list[tuple[dict, IndexRows]]
    refused: list[tuple[str, str]]


def validated(resources: list[dict]) -> tuple[list[tuple[dict, IndexRows]], list[tuple[str, str]]]:
    """The valid resources, each with the index rows the store will write for it, and the refusals."""
    valid, refused = [], []
    for data in resources:
        try:
            resource_type = check_resource(data, max_json_depth=LIMITS.max_json_depth)
            valid.append((data, extract(resource_type, data)))
        except FhirError as error:
            refused.append((f"{data.get('resourceType')}/{data.get('id')}", str(error)))
    return valid, refused


_worker_network: network.Network | None = None


def _init_worker(seed: int, facilities: int) -> None:
    global _worker_network
    # The parent's SIGTERM handler (app.cli: a clean exit) would let a worker blocked on the task queue outlive
    # Pool.terminate(); the default action ends it at once.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _worker_network = network.build(seed, facilities)


def _generate(span: tuple[int, int]) -> Chunk:
    start, stop = span
    assert _worker_network is not None, "worker not initialised"
    return generate_chunk(_worker_network, start, stop)


def generate_chunk(net: network.Network, start: int, stop: int) -> Chunk:
    resources = [data for index in range(start, stop) for data in clinical.patient_records(net, index)]
    valid, refused = validated(resources)
    return Chunk(stop - start, valid, refused)


def _spans(start: int, stop: int) -> Iterator[tuple[int, int]]:
    for first in range(start, stop, PATIENTS_PER_CHUNK):
        yield first, min(first + PATIENTS_PER_CHUNK, stop)


@dataclass
class SeedReport:
    summary: LoadSummary
    resources: int = 0
    seconds: float = 0.0

    @property
    def per_second(self) -> float:
        return self.resources / self.seconds if self.seconds else 0.0


async def write_batch(engine: AsyncEngine, resources: list[tuple[dict, IndexRows]]) -> Counter:
    """Write validated resources that have ids, in one transaction; skip unchanged ones."""
    counts: Counter = Counter()
    keys = [(data["resourceType"], data["id"]) for data, _index in resources]
    async with unit_of_work(engine) as tx:
        await store.lock(tx, store.lock_keys(keys))
        currents = await store.current_contents(tx, keys)
        plan = store.WritePlan()
        moment = store.now()
        for (data, index), key in zip(resources, keys, strict=True):
            current = currents.get(key)
            if current is not None and not current[1] and store.same_content(current[2], data):
                counts["unchanged"] += 1
                continue
            result = plan.put(data=data, resource_type=key[0], resource_id=key[1],
                              current=None if current is None else current[:2], method="PUT", moment=moment,
                              index=index)
            counts["created" if result.status == 201 else "updated"] += 1
        await plan.flush(tx)
    return counts


class _Pipeline:
    """Batches written with up to ``IN_FLIGHT`` transactions at once; counts go into the summary."""

    def __init__(self, engine: AsyncEngine, report: SeedReport, progress: Callable[[int, int], None]):
        self.engine, self.report, self.progress = engine, report, progress
        self.writing: set[asyncio.Task] = set()

    async def add(self, chunk: Chunk) -> None:
        for where, reason in chunk.refused:
            self.report.summary.refuse(where, reason)
        while len(self.writing) >= IN_FLIGHT:
            done, self.writing = await asyncio.wait(self.writing, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()
        self.writing.add(asyncio.create_task(self._write(chunk)))
        await asyncio.sleep(0)

    async def _write(self, chunk: Chunk) -> None:
        if chunk.resources:
            counts = await write_batch(self.engine, chunk.resources)
            summary = self.report.summary
            summary.created += counts["created"]
            summary.updated += counts["updated"]
            summary.unchanged += counts["unchanged"]
        self.report.resources += len(chunk.resources)
        self.progress(chunk.patients, len(chunk.resources))

    async def drain(self) -> None:
        for task in self.writing:
            await task
        self.writing = set()


@contextmanager
def generation(net: network.Network, *, patients: int, workers: int, start: int = 0) -> Iterator[Iterator[Chunk]]:
    """The chunks to write, in order: the network's, then those of patients ``start``..``start + patients - 1``.

    The network and the first patients are validated here, which builds the validating models of every resource
    type; then, with ``workers`` > 0, the worker processes are forked, inheriting those models warm (building
    them costs seconds per process). Enter this before starting threads, an event loop or database connections:
    a process forked while another thread holds a lock inherits the lock held forever."""
    valid, refused = validated(net.resources)
    first = [Chunk(0, valid[i:i + NETWORK_BATCH], refused if i == 0 else [])
             for i in range(0, len(valid), NETWORK_BATCH)]
    spans = _spans(start, start + patients)
    opening = next(spans, None)
    if opening is not None:
        first.append(generate_chunk(net, *opening))
    # The warm heap (models, terminology) is long-lived: out of the collector's sight, full collections stop
    # walking it on every batch (this process allocates millions of index-row tuples), and forked workers stop
    # copying its pages to update GC headers.
    gc.freeze()
    try:
        if workers <= 0 or patients <= PATIENTS_PER_CHUNK:
            yield chain(first, (generate_chunk(net, *span) for span in spans))
            return
        pool = multiprocessing.get_context("fork").Pool(workers, _init_worker, (net.seed, net.size))
        try:
            yield chain(first, pool.imap(_generate, spans))
            pool.close()  # every chunk was taken: the workers exit on their own
        finally:
            pool.terminate()
            pool.join()
    finally:
        gc.unfreeze()


async def seed_network(engine: AsyncEngine, chunks: Iterator[Chunk],
                       progress: Callable[[int, int], None] = lambda p, r: None) -> SeedReport:
    """Write ``chunks`` (from ``generation``) through the store; the next chunk is awaited in a thread, so
    the writes in flight make progress meanwhile."""
    report = SeedReport(LoadSummary())
    began = time.perf_counter()
    pipeline = _Pipeline(engine, report, progress)
    while (chunk := await asyncio.to_thread(next, chunks, None)) is not None:
        await pipeline.add(chunk)
    await pipeline.drain()
    report.seconds = time.perf_counter() - began
    return report
