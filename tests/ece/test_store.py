"""The single write path: versions, history, index rows, conditional writes (R4 http.html)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from ece import fhirjson, reads, search, store
from ece.errors import Gone, InvalidResource, NotFound, PreconditionFailed


def patient(*, dni: str = "0801199012345", family: str = "Pérez", gender: str = "female", **extra) -> dict:
    return {"resourceType": "Patient", "identifier": [{"system": "urn:oid:2.16.340.1.1.1", "value": dni}],
            "name": [{"family": family, "given": ["María"]}], "gender": gender, "birthDate": "1990-05-02",
            **extra}


async def test_create_assigns_id_version_one_and_writes_history(tx):
    result = await store.create(tx, data=patient())
    assert result.status == 201 and result.version_id == 1
    history = await reads.history(tx.conn, resource_type="Patient", resource_id=result.id, count=10)
    assert [v.version_id for v in history.versions] == [1]
    assert history.versions[0].method == "POST"


async def test_update_increments_version_and_keeps_every_version(tx):
    created = await store.create(tx, data=patient())
    updated = await store.update(tx, resource_type="Patient", resource_id=created.id,
                                 data={**patient(family="López"), "id": created.id})
    assert updated.version_id == 2 and updated.status == 200
    first = await reads.vread(tx.conn, resource_type="Patient", resource_id=created.id, version_id="1")
    assert b'"P\xc3\xa9rez"' in first.content


async def test_update_with_client_id_creates_the_resource(tx):
    result = await store.update(tx, resource_type="Patient", resource_id="hn-001", data={**patient(), "id": "hn-001"})
    assert result.status == 201 and result.version_id == 1


async def test_update_with_stale_if_match_is_refused_with_412(tx):
    created = await store.create(tx, data=patient())
    with pytest.raises(PreconditionFailed):
        await store.update(tx, resource_type="Patient", resource_id=created.id,
                           data={**patient(), "id": created.id}, if_match=7)


async def test_read_of_deleted_resource_raises_gone(tx):
    created = await store.create(tx, data=patient())
    deleted = await store.delete(tx, resource_type="Patient", resource_id=created.id)
    assert deleted.version_id == 2 and deleted.deleted
    with pytest.raises(Gone):
        await reads.read(tx.conn, resource_type="Patient", resource_id=created.id)


async def test_delete_of_unknown_resource_raises_not_found(tx):
    with pytest.raises(NotFound):
        await store.delete(tx, resource_type="Patient", resource_id="nadie")


async def test_decimal_precision_is_stored_as_written(tx):
    observation = fhirjson.loads(b'{"resourceType": "Observation", "status": "final", "code": {"text": "Peso"},'
                                 b'"valueQuantity": {"value": 72.50, "unit": "kg"}}')
    result = await store.create(tx, data=observation)
    read = await reads.read(tx.conn, resource_type="Observation", resource_id=result.id)
    assert b'"value":72.50' in read.content


async def test_conditional_create_returns_the_existing_match(tx):
    first = await store.create(tx, data=patient())
    again = await store.create(tx, data=patient(), if_none_exist="identifier=urn:oid:2.16.340.1.1.1|0801199012345")
    assert again.id == first.id and again.status == 200


async def test_conditional_create_with_two_matches_is_412(tx):
    await store.create(tx, data=patient())
    await store.create(tx, data=patient())
    with pytest.raises(PreconditionFailed):
        await store.create(tx, data=patient(), if_none_exist="identifier=0801199012345")


async def test_invalid_gender_is_refused_before_anything_is_written(tx):
    with pytest.raises(InvalidResource) as refused:
        await store.create(tx, data=patient(dni="0000000000042", gender="femme"))
    assert refused.value.issues[0].expression == ("Patient.gender",)
    matches = await search.matching_ids(tx.conn, resource_type="Patient", query="identifier=0000000000042", limit=5)
    assert matches == []


async def test_update_replaces_the_search_index_rows(tx):
    created = await store.create(tx, data=patient(family="Pérez"))
    await store.update(tx, resource_type="Patient", resource_id=created.id,
                       data={**patient(family="Zelaya"), "id": created.id})
    rows = (await tx.conn.execute(text("SELECT value FROM search_string WHERE resource_id = :i AND param = 'family'"),
                                  {"i": created.id})).scalars().all()
    assert rows == ["zelaya"]


async def test_history_marks_a_recreation_after_a_delete_as_created(tx):
    created = await store.create(tx, data=patient())
    await store.delete(tx, resource_type="Patient", resource_id=created.id)
    again = await store.update(tx, resource_type="Patient", resource_id=created.id,
                               data={**patient(), "id": created.id})
    history = await reads.history(tx.conn, resource_type="Patient", resource_id=created.id, count=10)
    assert again.status == 201
    assert [(v.version_id, v.deleted, v.created) for v in history.versions] == [(3, False, True), (2, True, False),
                                                                               (1, False, True)]
