"""The record as an actor may see and change it: each REST interaction of the store, read path and search,
with the guard's checks before and after and its AuditEvent in the same transaction.

Writes are checked three times: the resource as it was (may this actor change it?), the patients its new
content references (may this actor already see each existing one? the write must not create its own care
relationship), and the resource as it is written (may this actor see what it wrote?). The last check runs
inside the write's transaction, after the search index rows are written, so a write that would move data out
of the actor's reach rolls back whole.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from ece import bundle as bundles
from ece import fhirjson, reads, search, store
from ece.access.guard import Guard
from ece.access.scopes import CREATE, DELETE, READ, SEARCH, UPDATE
from ece.errors import FhirError
from ece.reads import HistoryPage, Version
from ece.references import parse_reference
from ece.search import SearchPage
from ece.tx import Transaction


def _shaped_version(guard: Guard, version: Version) -> Version:
    if version.content is None:
        return version
    content = guard.shape(version.resource_type, version.content)
    if content is version.content:
        return version
    return Version(version.resource_type, version.id, version.version_id, version.last_updated, content,
                   version.method, version.seq, version.created)


async def read(tx: Transaction, *, guard: Guard, resource_type: str, resource_id: str) -> Version:
    guard.require(tx, resource_type, READ)
    version = await reads.read(tx.conn, resource_type=resource_type, resource_id=resource_id)
    await guard.require_visible(tx, resource_type, resource_id)
    await guard.audit(tx, "read", [(resource_type, resource_id, version.content)])
    return _shaped_version(guard, version)


async def vread(tx: Transaction, *, guard: Guard, resource_type: str, resource_id: str, version_id: str) -> Version:
    guard.require(tx, resource_type, READ)
    version = await reads.vread(tx.conn, resource_type=resource_type, resource_id=resource_id, version_id=version_id)
    await guard.require_visible(tx, resource_type, resource_id)
    await guard.audit(tx, "vread", [(resource_type, resource_id, version.content)])
    return _shaped_version(guard, version)


async def history(tx: Transaction, *, guard: Guard, resource_type: str | None, resource_id: str | None,
                  **options) -> HistoryPage:
    """Instance history needs the resource to be visible; type and system history show only visible ones."""
    if resource_type is not None:
        guard.require(tx, resource_type, READ)
    if resource_id is not None:
        await reads.read_any_version(tx.conn, resource_type=resource_type, resource_id=resource_id)
        await guard.require_visible(tx, resource_type, resource_id)  # type: ignore[arg-type]
    page = await reads.history(tx.conn, resource_type=resource_type, resource_id=resource_id,
                               visible=guard.visibility(), **options)
    versions = [_shaped_version(guard, v) for v in page.versions]
    await guard.audit(tx, "history", [(v.resource_type, v.id, v.content) for v in page.versions])
    return HistoryPage(versions, page.next_before, page.total)


async def search_types(tx: Transaction, *, guard: Guard, resource_types: list[str], pairs: list[tuple[str, str]],
                       strict: bool = False, compartment: tuple[str, str] | None = None,
                       explicit: bool = True) -> SearchPage:
    """A search; with ``explicit`` types a type the actor may not search is a 403, otherwise (a system-wide
    search) such types are left out."""
    if explicit:
        for resource_type in resource_types:
            guard.require(tx, resource_type, SEARCH)
        allowed = resource_types
    else:
        allowed = guard.readable(resource_types)
    if compartment is not None and compartment[0] == "Patient":
        await guard.require_patient(tx, f"Patient/{compartment[1]}")
    page = await search.search(tx.conn, resource_types=allowed, pairs=pairs, strict=strict, compartment=compartment,
                               visible=guard.visibility())
    matches = [(t, i, guard.shape(t, c)) for t, i, c in page.matches]
    included = [(t, i, guard.shape(t, c)) for t, i, c in page.included]
    # A count (``_summary=count``, ``_count=0``) returns no row, yet tells how much data a named patient has.
    counted = _named_patients(pairs, compartment) if not page.matches and page.total else set()
    await guard.audit(tx, "search", [*page.matches, *page.included],
                      query=f"{','.join(resource_types)}?{urlencode(pairs)}", about=counted)
    return SearchPage(matches, included, page.total, page.next_cursor, page.used, page.count)


def _named_patients(pairs: list[tuple[str, str]], compartment: tuple[str, str] | None) -> set[str]:
    """The patients a search names outright: its Patient compartment, or a ``patient``/``subject`` value that is
    a Patient (``Patient/123``, or a bare id where the parameter only targets Patients)."""
    named = {compartment[1]} if compartment is not None and compartment[0] == "Patient" else set()
    for name, value in pairs:
        parameter, _, modifier = name.partition(":")
        if parameter not in ("patient", "subject") or modifier not in ("", "Patient"):
            continue
        for item in value.split(","):
            reference = parse_reference(item)
            if reference is not None and reference[0] == "Patient":
                named.add(reference[1])
            elif "/" not in item and item and (parameter == "patient" or modifier == "Patient"):
                named.add(item)
    return named


async def everything(tx: Transaction, *, guard: Guard, patient_id: str, resource_types: list[str],
                     since: datetime | None, count: str | None, cursor: str | None, explicit: bool) -> SearchPage:
    """``Patient/[id]/$everything`` (R4 patient-operation-everything.html): the patient, the resources of
    ``resource_types`` in their compartment changed since ``since``, and what those reference (``_include=*``),
    as pages of one search; the Patient heads the first page. The patient must be visible (404 or 403 first);
    each resource shown is audited with its patient, like any search. Types the actor may not search are left
    out, unless asked for by name (``explicit``: 403, as a search of that type)."""
    patient = await read(tx, guard=guard, resource_type="Patient", resource_id=patient_id)
    pairs = [("_include", "*")]
    if since is not None:
        pairs.append(("_lastUpdated", f"ge{fhirjson.instant(since)}"))
    pairs += [(name, value) for name, value in (("_count", count), ("_cursor", cursor)) if value is not None]
    page = await search_types(tx, guard=guard, resource_types=[t for t in resource_types if t != "Patient"],
                              pairs=pairs, compartment=("Patient", patient_id), explicit=explicit)
    key = ("Patient", patient_id)
    with_patient = "Patient" in resource_types and (since is None or patient.last_updated >= since)
    matches = [(*key, patient.content)] if with_patient and cursor is None else []
    return SearchPage([*matches, *page.matches], [row for row in page.included if row[:2] != key],
                      None if page.total is None else page.total + with_patient, page.next_cursor,
                      [(k, v) for k, v in page.used if k != "_include"], page.count)


async def _after_write(tx: Transaction, guard: Guard, interaction: str, result: store.WriteResult) -> None:
    if not result.deleted:
        await guard.require_visible(tx, result.resource_type, result.id, UPDATE)
    await guard.audit(tx, interaction, [(result.resource_type, result.id, result.content)])


async def create(tx: Transaction, *, guard: Guard, data, expected_type: str,
                 if_none_exist: str | None) -> store.WriteResult:
    guard.require(tx, expected_type, CREATE)
    await guard.require_referenced_patients(tx, data, CREATE)
    result = await store.create(tx, data=data, expected_type=expected_type, if_none_exist=if_none_exist)
    await _after_write(tx, guard, "create", result)
    return result


async def update(tx: Transaction, *, guard: Guard, resource_type: str, resource_id: str, data,
                 if_match: int | None) -> store.WriteResult:
    guard.require(tx, resource_type, UPDATE)
    await guard.require_visible(tx, resource_type, resource_id, UPDATE)
    await guard.require_referenced_patients(tx, data, UPDATE)
    result = await store.update(tx, resource_type=resource_type, resource_id=resource_id, data=data,
                                if_match=if_match)
    await _after_write(tx, guard, "update", result)
    return result


async def patch(tx: Transaction, *, guard: Guard, resource_type: str, resource_id: str, operations,
                if_match: int | None) -> store.WriteResult:
    guard.require(tx, resource_type, UPDATE)
    await guard.require_visible(tx, resource_type, resource_id, UPDATE)
    await guard.require_referenced_patients(tx, await _patched(tx, resource_type, resource_id, operations), UPDATE)
    result = await store.patch(tx, resource_type=resource_type, resource_id=resource_id, operations=operations,
                               if_match=if_match)
    await _after_write(tx, guard, "patch", result)
    return result


async def _patched(tx: Transaction, resource_type: str, resource_id: str, operations: Any) -> Any:
    """The content a JSON Patch would give, read under the lock the store's patch takes again (advisory locks
    stack within a transaction); None when it does not apply, which the store then answers."""
    await store.lock(tx, store.lock_keys([(resource_type, resource_id)]))
    current = await reads.read(tx.conn, resource_type=resource_type, resource_id=resource_id)
    try:
        return store.apply_patch(fhirjson.loads(current.content), operations)
    except FhirError:
        return None


async def delete(tx: Transaction, *, guard: Guard, resource_type: str, resource_id: str) -> store.WriteResult:
    guard.require(tx, resource_type, DELETE)
    await guard.require_visible(tx, resource_type, resource_id, DELETE)
    result = await store.delete(tx, resource_type=resource_type, resource_id=resource_id)
    await guard.audit(tx, "delete", [(resource_type, resource_id, None)], always=True)
    return result


async def conditional_update(tx: Transaction, *, guard: Guard, resource_type: str, criteria: str, data,
                             if_match: int | None) -> store.WriteResult:
    guard.require(tx, resource_type, UPDATE)
    matched = await store.match_one_or_none(tx, resource_type=resource_type, criteria=criteria, lock_criteria=True)
    if matched is not None:
        await guard.require_visible(tx, resource_type, matched, UPDATE)
    await guard.require_referenced_patients(tx, data, UPDATE)
    result = await store.conditional_update(tx, resource_type=resource_type, criteria=criteria, data=data,
                                            if_match=if_match)
    await _after_write(tx, guard, "update", result)
    return result


async def conditional_delete(tx: Transaction, *, guard: Guard, resource_type: str,
                             criteria: str) -> store.WriteResult | None:
    guard.require(tx, resource_type, DELETE)
    matched = await store.match_one_or_none(tx, resource_type=resource_type, criteria=criteria, lock_criteria=True)
    if matched is None:
        return None
    await guard.require_visible(tx, resource_type, matched, DELETE)
    result = await store.conditional_delete(tx, resource_type=resource_type, criteria=criteria)
    if result is not None:
        await guard.audit(tx, "delete", [(resource_type, result.id, None)], always=True)
    return result


class _BundleAccess:
    """The guard as the Bundle processor sees it (ece.bundle.EntryAccess)."""

    def __init__(self, guard: Guard):
        self.guard = guard

    def require(self, tx: Transaction, resource_type: str, interaction: str) -> None:
        self.guard.require(tx, resource_type, interaction)

    async def before_write(self, tx: Transaction, resource_type: str, resource_id: str) -> None:
        await self.guard.require_visible(tx, resource_type, resource_id, UPDATE)

    async def before_flush(self, tx: Transaction, results: list[store.WriteResult]) -> None:
        for result in results:
            if result.content is not None and not result.deleted:
                await self.guard.require_referenced_patients(tx, fhirjson.loads(result.content),
                                                             CREATE if result.status == 201 else UPDATE)

    async def after_write(self, tx: Transaction, kind: str, results: list[store.WriteResult]) -> None:
        for result in results:
            if not result.deleted:
                await self.guard.require_visible(tx, result.resource_type, result.id, UPDATE)
        await self.guard.audit(tx, kind, [(r.resource_type, r.id, r.content) for r in results], always=True)

    async def read(self, tx: Transaction, resource_type: str, resource_id: str) -> Version:
        return await read(tx, guard=self.guard, resource_type=resource_type, resource_id=resource_id)

    async def search(self, tx: Transaction, resource_type: str, pairs: list[tuple[str, str]]) -> SearchPage:
        return await search_types(tx, guard=self.guard, resource_types=[resource_type], pairs=pairs)


async def transaction(tx: Transaction, *, guard: Guard, bundle, base_url: str, return_resources: bool) -> dict:
    return await bundles.transaction(tx, bundle=bundle, base_url=base_url, return_resources=return_resources,
                                     access=_BundleAccess(guard))
