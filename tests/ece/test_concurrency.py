"""Concurrent writers (R4 http.html#concurrency): no write is ever lost, conditional creates stay single.

These tests commit (each writer has its own transaction), so they use unique ids and identifiers.
"""

from __future__ import annotations

import asyncio
import uuid

from sqlalchemy import text

from ece import reads, store
from ece.tx import unit_of_work


def patient(resource_id: str | None, *, dni: str, family: str) -> dict:
    data = {"resourceType": "Patient", "identifier": [{"system": "urn:oid:2.16.340.1.1.1", "value": dni}],
            "name": [{"family": family}]}
    if resource_id:
        data["id"] = resource_id
    return data


async def test_concurrent_updates_of_one_resource_each_get_their_own_version(engine):
    resource_id = f"conc-{uuid.uuid4().hex[:12]}"
    dni = uuid.uuid4().hex[:13]

    async def write(n: int) -> int:
        async with unit_of_work(engine) as tx:
            result = await store.update(tx, resource_type="Patient", resource_id=resource_id,
                                        data=patient(resource_id, dni=dni, family=f"Escritor{n}"))
        return result.version_id

    versions = await asyncio.gather(*(write(n) for n in range(12)))
    assert sorted(versions) == list(range(1, 13))
    async with engine.connect() as conn:
        history = await reads.history(conn, resource_type="Patient", resource_id=resource_id, count=50)
        current = await reads.read(conn, resource_type="Patient", resource_id=resource_id)
    assert [v.version_id for v in history.versions] == list(range(12, 0, -1))
    assert current.version_id == 12


async def test_concurrent_conditional_creates_with_one_identifier_create_one_resource(engine):
    dni = uuid.uuid4().hex[:13]
    criteria = f"identifier=urn:oid:2.16.340.1.1.1|{dni}"

    async def write() -> str:
        async with unit_of_work(engine) as tx:
            result = await store.create(tx, data=patient(None, dni=dni, family="Zelaya"), if_none_exist=criteria)
        return result.id

    ids = await asyncio.gather(*(write() for _ in range(8)))
    assert len(set(ids)) == 1
    async with engine.connect() as conn:
        count = (await conn.execute(text("SELECT count(*) FROM search_token WHERE param = 'identifier' AND code = :c"),
                                    {"c": dni})).scalar_one()
    assert count == 1


async def test_a_rolled_back_write_runs_no_after_commit_hook(engine):
    fired: list[str] = []

    class Abort(Exception):
        pass

    try:
        async with unit_of_work(engine) as tx:
            tx.after_commit(lambda: fired.append("sent"))
            await store.create(tx, data=patient(None, dni=uuid.uuid4().hex[:13], family="Cruz"))
            raise Abort
    except Abort:
        pass
    assert fired == []
