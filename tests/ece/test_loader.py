"""``ece load``: NDJSON and Bundles through the write path, safe to re-run, refusals counted with reasons."""

from __future__ import annotations

import uuid
from pathlib import Path

import orjson

from ece import reads, search
from ece.loader import LoadSummary, load_paths


def _patient(dni: str, *, resource_id: str | None = None, gender: str = "male") -> dict:
    data = {"resourceType": "Patient", "identifier": [{"system": "urn:oid:2.16.340.1.1.1", "value": dni}],
            "name": [{"family": "Zelaya", "given": ["José"]}], "gender": gender}
    if resource_id:
        data["id"] = resource_id
    return data


def _write_ndjson(path: Path, resources: list[dict | bytes]) -> Path:
    path.write_bytes(b"\n".join(r if isinstance(r, bytes) else orjson.dumps(r) for r in resources) + b"\n")
    return path


async def _load(engine, *paths: Path) -> LoadSummary:
    return await load_paths(engine, list(paths), LoadSummary(), lambda _n: None)


async def test_ndjson_load_creates_valid_lines_and_refuses_bad_ones_with_reasons(engine, tmp_path):
    run = uuid.uuid4().hex[:8]
    path = _write_ndjson(tmp_path / "patients.ndjson", [
        _patient(f"{run}01", resource_id=f"pac-{run}-1"),
        _patient(f"{run}02"),
        _patient(f"{run}03", gender="femme"),
        b'{"resourceType": "Patient", ',
    ])
    summary = await _load(engine, path)
    assert (summary.created, summary.refused) == (2, 2)
    assert any("femme" in e for e in summary.examples)
    assert any("patients.ndjson:4" in e for e in summary.examples)


async def test_loading_the_same_file_twice_changes_nothing_the_second_time(engine, tmp_path):
    run = uuid.uuid4().hex[:8]
    path = _write_ndjson(tmp_path / "again.ndjson", [
        _patient(f"{run}11", resource_id=f"pac-{run}-11"),
        _patient(f"{run}12"),
    ])
    first = await _load(engine, path)
    second = await _load(engine, path)
    assert (first.created, first.unchanged) == (2, 0)
    assert (second.created, second.updated, second.unchanged) == (0, 0, 2)
    async with engine.connect() as conn:
        current = await reads.read(conn, resource_type="Patient", resource_id=f"pac-{run}-11")
        by_identifier = await search.matching_ids(conn, resource_type="Patient", query=f"identifier={run}12", limit=5)
    assert current.version_id == 1
    assert len(by_identifier) == 1


async def test_transaction_bundle_file_is_loaded_atomically_and_idempotently(engine, tmp_path):
    run = uuid.uuid4().hex[:8]
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": f"urn:uuid:{uuid.uuid4()}", "resource": _patient(f"{run}21"),
         "request": {"method": "POST", "url": "Patient", "ifNoneExist": f"identifier={run}21"}},
    ]}
    path = tmp_path / "bundle.json"
    path.write_bytes(orjson.dumps(bundle))
    first = await _load(engine, path)
    second = await _load(engine, path)
    assert first.created == 1
    assert (second.created, second.updated) == (0, 1)
    async with engine.connect() as conn:
        assert len(await search.matching_ids(conn, resource_type="Patient", query=f"identifier={run}21", limit=5)) == 1


async def test_collection_bundle_entries_load_like_ndjson_lines(engine, tmp_path):
    run = uuid.uuid4().hex[:8]
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [
        {"resource": _patient(f"{run}31", resource_id=f"pac-{run}-31")},
        {"resource": {"resourceType": "Nada"}},
    ]}
    path = tmp_path / "collection.json"
    path.write_bytes(orjson.dumps(bundle, option=orjson.OPT_INDENT_2))
    summary = await _load(engine, path)
    assert (summary.created, summary.refused) == (1, 1)
    assert any("Nada" in reason for reason in summary.reasons)
