"""``ece reindex``: index rows rebuilt from the stored resources, resumable after an interruption."""

from __future__ import annotations

import uuid

from sqlalchemy import text

from ece import search, store
from ece.reindex import reindex_type, remaining
from ece.tx import unit_of_work


async def _create_patients(engine, system: str, count: int) -> list[str]:
    ids = []
    async with unit_of_work(engine) as tx:
        for n in range(count):
            data = {"resourceType": "Patient", "id": f"rx-{uuid.uuid4().hex[:10]}-{n}",
                    "identifier": [{"system": system, "value": str(n)}], "name": [{"family": "Mejía"}]}
            ids.append((await store.update(tx, resource_type="Patient", resource_id=data["id"], data=data)).id)
    return sorted(ids)


async def _found(engine, system: str) -> int:
    async with engine.connect() as conn:
        return len(await search.matching_ids(conn, resource_type="Patient", query=f"identifier={system}|",
                                             limit=100))


async def _forget_index_rows(engine, ids: list[str]) -> None:
    """What a changed SearchParameter looks like to the store: rows missing for existing resources."""
    async with engine.begin() as conn:
        await conn.execute(text("DELETE FROM search_token WHERE resource_type = 'Patient' AND resource_id = ANY(:i)"),
                           {"i": ids})


async def test_reindex_rebuilds_index_rows_from_stored_resources(engine):
    system = f"urn:test:reindex:{uuid.uuid4().hex[:8]}"
    ids = await _create_patients(engine, system, 3)
    await _forget_index_rows(engine, ids)
    assert await _found(engine, system) == 0
    await remaining(engine, "Patient", restart=True)
    await reindex_type(engine, "Patient", lambda _n: None)
    assert await _found(engine, system) == 3


async def test_an_interrupted_reindex_resumes_after_the_last_batch_it_finished(engine):
    system = f"urn:test:reindex:{uuid.uuid4().hex[:8]}"
    ids = await _create_patients(engine, system, 4)
    await _forget_index_rows(engine, ids)
    async with engine.begin() as conn:  # as if a previous run had stopped after the second resource
        await conn.execute(text("INSERT INTO search_reindex_progress (resource_type, last_id) VALUES ('Patient', :i) "
                                "ON CONFLICT (resource_type) DO UPDATE SET last_id = EXCLUDED.last_id"),
                           {"i": ids[1]})
    await reindex_type(engine, "Patient", lambda _n: None)
    async with engine.connect() as conn:
        indexed = (await conn.execute(text("SELECT DISTINCT resource_id FROM search_token WHERE resource_type = "
                                           "'Patient' AND resource_id = ANY(:i)"), {"i": ids})).scalars().all()
        progress = (await conn.execute(text("SELECT count(*) FROM search_reindex_progress WHERE resource_type = "
                                            "'Patient'"))).scalar_one()
    assert sorted(indexed) == ids[2:]
    assert progress == 0


async def test_reindex_makes_resources_stored_before_full_text_findable_by_content(engine):
    system = f"urn:test:reindex:{uuid.uuid4().hex[:8]}"
    ids = await _create_patients(engine, system, 2)
    async with engine.begin() as conn:  # as stored before migration 0011_full_text
        await conn.execute(text("DELETE FROM search_text WHERE resource_type = 'Patient' AND resource_id = ANY(:i)"),
                           {"i": ids})

    async def by_content() -> int:
        async with engine.connect() as conn:
            return len(await search.matching_ids(conn, resource_type="Patient",
                                                 query=f"identifier={system}|&_content=mejia", limit=100))

    assert await by_content() == 0
    await remaining(engine, "Patient", restart=True)
    await reindex_type(engine, "Patient", lambda _n: None)
    assert await by_content() == 2
    async with engine.connect() as conn:
        rows = (await conn.execute(text("SELECT count(*) FROM search_text WHERE resource_type = 'Patient' "
                                        "AND resource_id = ANY(:i)"), {"i": ids})).scalar_one()
    assert rows == 2  # one row per resource, however often it is re-indexed
