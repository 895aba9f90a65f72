"""Bulk loading of FHIR files (``ece load``): NDJSON streams and Bundles, through the store's write path.

Safe to re-run: a resource with an id is an update that is skipped when nothing changed; one without
an id but with an identifier is a conditional create on that identifier; transaction Bundles rely on
their own ``ifNoneExist``. Every refusal is counted with its reason; nothing refused stops the load.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy.ext.asyncio import AsyncEngine

from ece import bundle as bundles
from ece import fhirjson, search, store
from ece.errors import FhirError
from ece.limits import LIMITS
from ece.tx import unit_of_work
from ece.validation import check_id, check_resource

BATCH_SIZE = 500


@dataclass
class LoadSummary:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    refused: int = 0
    reasons: Counter = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)

    def refuse(self, where: str, reason: str) -> None:
        self.refused += 1
        self.reasons[reason[:160]] += 1
        if len(self.examples) < 20:
            self.examples.append(f"{where}: {reason[:300]}")


@dataclass
class Item:
    where: str
    data: Any


def _ndjson_items(handle: BinaryIO, name: str, progress: Callable[[int], None]) -> Iterator[Item]:
    for number, line in enumerate(handle, start=1):
        progress(len(line))
        if line.strip():
            yield Item(f"{name}:{number}", line)


async def load_paths(engine: AsyncEngine, paths: list[Path], summary: LoadSummary,
                     progress: Callable[[int], None]) -> LoadSummary:
    for path in paths:
        with path.open("rb") as handle:
            first = handle.read(1)
            while first and first.isspace():
                first = handle.read(1)
            handle.seek(0)
            if path.suffix.lower() == ".ndjson" or not _is_single_document(handle):
                await _load_items(engine, _ndjson_items(handle, path.name, progress), summary)
                continue
            raw = handle.read()
            progress(len(raw))
            try:
                document = fhirjson.loads(raw)
            except FhirError as error:
                summary.refuse(path.name, str(error))
                continue
            await _load_document(engine, document, path.name, summary)
    return summary


def _is_single_document(handle: BinaryIO) -> bool:
    """A JSON file holds one document; NDJSON has one resource per line."""
    first_line = handle.readline()
    rest = handle.readline()
    handle.seek(0)
    if not rest.strip():
        return True
    try:
        fhirjson.loads(first_line)
        return False
    except FhirError:
        return True


async def _load_document(engine: AsyncEngine, document: Any, name: str, summary: LoadSummary) -> None:
    kind = document.get("type") if isinstance(document, dict) and document.get("resourceType") == "Bundle" else None
    if kind in ("transaction", "batch"):
        try:
            async with unit_of_work(engine) as tx:
                response = await bundles.transaction(tx, bundle=document, base_url="")
        except FhirError as error:
            summary.refuse(name, str(error))
            return
        for index, entry in enumerate(response["entry"]):
            status = entry["response"]["status"]
            if status.startswith("201"):
                summary.created += 1
            elif status.startswith("2"):
                summary.updated += 1
            else:
                reason = "; ".join(i.get("diagnostics", "") for i in entry["response"].get("outcome", {})
                                   .get("issue", []))
                summary.refuse(f"{name} entry[{index}]", reason or status)
        return
    if kind is not None and kind != "transaction-response":
        items = [Item(f"{name} entry[{i}]", e.get("resource")) for i, e in enumerate(document.get("entry", []))
                 if isinstance(e, dict)]
        await _load_items(engine, iter(items), summary)
        return
    await _load_items(engine, iter([Item(name, document)]), summary)


async def _batches(items: Iterator[Item]) -> AsyncIterator[list[Item]]:
    batch: list[Item] = []
    for item in items:
        batch.append(item)
        if len(batch) >= BATCH_SIZE:
            yield batch
            batch = []
    if batch:
        yield batch


# Items validated between yields to the event loop: the previous batch's write makes progress (its
# statements travel to PostgreSQL and back) while this batch is being validated.
YIELD_EVERY = 25


async def _load_items(engine: AsyncEngine, items: Iterator[Item], summary: LoadSummary) -> None:
    writing: asyncio.Task | None = None
    async for batch in _batches(items):
        valid = []
        for position, item in enumerate(batch):
            try:
                data = fhirjson.loads(item.data) if isinstance(item.data, bytes) else item.data
                check_resource(data, max_json_depth=LIMITS.max_json_depth)
                if "id" in data:
                    check_id(data["id"])
                valid.append(Item(item.where, data))
            except FhirError as error:
                summary.refuse(item.where, str(error))
            if position % YIELD_EVERY == 0:
                await asyncio.sleep(0)
        if writing is not None:
            await writing  # one batch in flight at a time keeps memory bounded and the order of writes
            writing = None
        if valid:
            writing = asyncio.create_task(_write_batch(engine, valid, summary))
            await asyncio.sleep(0)
    if writing is not None:
        await writing


async def _write_batch(engine: AsyncEngine, items: list[Item], summary: LoadSummary) -> None:
    try:
        async with unit_of_work(engine) as tx:
            counts = await _plan_and_flush(tx, items)
    except FhirError:
        # One item spoils the batch (e.g. the same resource twice): write them one by one instead.
        for item in items:
            try:
                async with unit_of_work(engine) as tx:
                    one = await _plan_and_flush(tx, [item])
                _add(summary, one)
            except FhirError as error:
                summary.refuse(item.where, str(error))
        return
    _add(summary, counts)


def _add(summary: LoadSummary, counts: Counter) -> None:
    summary.created += counts["created"]
    summary.updated += counts["updated"]
    summary.unchanged += counts["unchanged"]


async def _plan_and_flush(tx, items: list[Item]) -> Counter:
    counts: Counter = Counter()
    with_id = [i for i in items if "id" in i.data]
    keys = [(i.data["resourceType"], i.data["id"]) for i in with_id]
    await store.lock(tx, store.lock_keys(keys))
    currents = await store.current_contents(tx, keys)
    plan = store.WritePlan()
    moment = store.now()
    planned_criteria: set[tuple[str, str]] = set()
    for item in items:
        data = item.data
        resource_type = data["resourceType"]
        if "id" in data:
            current = currents.get((resource_type, data["id"]))
            if current is not None and not current[1] and store.same_content(current[2], data):
                counts["unchanged"] += 1
                continue
            result = plan.put(data=data, resource_type=resource_type, resource_id=data["id"],
                              current=None if current is None else current[:2], method="PUT", moment=moment)
            counts["created" if result.status == 201 else "updated"] += 1
            continue
        criteria = _identifier_criteria(data)
        if criteria is not None:
            matched = await store.match_one_or_none(tx, resource_type=resource_type, criteria=criteria,
                                                    lock_criteria=True)
            if matched is not None or (resource_type, criteria) in planned_criteria:
                counts["unchanged"] += 1
                continue
            planned_criteria.add((resource_type, criteria))
        plan.put(data=data, resource_type=resource_type, resource_id=store.new_id(), current=None, method="POST",
                 moment=moment)
        counts["created"] += 1
    await plan.flush(tx)
    return counts


def _identifier_criteria(data: dict) -> str | None:
    for identifier in data.get("identifier", []) if isinstance(data.get("identifier"), list) else []:
        if isinstance(identifier, dict) and identifier.get("system") and identifier.get("value"):
            return search.to_query([("identifier", f"{identifier['system']}|{identifier['value']}")])
    return None
