"""The national validator inside the store's single write path, on real PostgreSQL: refusals are 422 with
FHIRPath locations, nothing is written, and a validator that cannot run refuses the write (503)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from ece import store, validation
from ece.errors import UnprocessableEntity, ValidatorUnavailable
from fhir_profiles import catalog
from fhir_profiles.validator import NationalProfileValidator
from tests.fhir_profiles import factories as f


@pytest.fixture
def enforcing(monkeypatch):
    """Only this test's write path runs the national validator, with every national type enforced."""
    validator = NationalProfileValidator(frozenset(catalog.national_types()))
    monkeypatch.setattr(validation, "_profile_validators", [validator])
    return validator


async def _count(tx, resource_type: str) -> int:
    return (await tx.conn.execute(text("SELECT count(*) FROM resource WHERE resource_type = :t"),
                                  {"t": resource_type})).scalar_one()


async def test_a_conformant_patient_is_stored(tx, enforcing):
    result = await store.create(tx, data=f.patient(), expected_type="Patient")
    assert result.status == 201


async def test_a_patient_breaking_the_profile_is_refused_with_422_and_nothing_is_written(tx, enforcing):
    before = await _count(tx, "Patient")
    with pytest.raises(UnprocessableEntity) as refused:
        await store.create(tx, data=f.patient(dni="2001199012345"), expected_type="Patient")
    assert refused.value.status == 422
    assert refused.value.issues[0].expression == ("Patient.identifier[0]",)
    assert await _count(tx, "Patient") == before


async def test_an_enforced_type_without_meta_profile_is_still_checked(tx, enforcing):
    data = f.facility()
    del data["meta"]
    del data["identifier"]
    with pytest.raises(UnprocessableEntity):
        await store.create(tx, data=data, expected_type="Organization")


async def test_an_update_is_checked_like_a_create(tx, enforcing):
    created = await store.create(tx, data=f.referral_task(), expected_type="Task")
    changed = {**f.referral_task(status="rejected", business="rechazada"), "id": created.id}
    with pytest.raises(UnprocessableEntity):
        await store.update(tx, resource_type="Task", resource_id=created.id, data=changed)


async def test_a_validator_that_crashes_refuses_the_write_with_503(tx, monkeypatch):
    def broken(data, *, resource_type, location):
        raise RuntimeError("perfil ilegible")

    monkeypatch.setattr(validation, "_profile_validators", [broken])
    with pytest.raises(ValidatorUnavailable) as refused:
        await store.create(tx, data=f.patient(), expected_type="Patient")
    assert refused.value.status == 503
