"""Seeding a database through the store's write path: found by searches, idempotent, same with workers.

The data are committed (the writer owns its transactions, as ``ece seed`` does), so these tests use a
database of their own instead of the shared, rolled-back one (tests/synthetic/conftest.py).
"""

from __future__ import annotations

from sqlalchemy import text

from app.db import make_async_engine
from ece import search
from fhir_profiles import systems
from synthetic.patients import person_and_patient
from synthetic.writer import generation, seed_network
from tests.conftest import RUN, migrated
from tests.synthetic.conftest import PATIENTS


async def _ids(engine, resource_type: str, query: str) -> list[str]:
    async with engine.connect() as conn:
        return await search.matching_ids(conn, resource_type=resource_type, query=query, limit=50)


async def test_seed_writes_every_resource_once_and_refuses_none(seeded):
    engine, net, report = seeded
    assert report.summary.refused == 0
    assert report.summary.created == report.resources > len(net.resources) + PATIENTS * 20
    seeded_types = "resource_type NOT IN ('ServiceRequest', 'Task', 'Provenance', 'Composition', 'Appointment')"
    async with engine.connect() as conn:  # the referral tests may have added referrals to the same database
        stored = (await conn.execute(text(f"SELECT count(*) FROM resource WHERE {seeded_types}"))).scalar_one()
        history = (await conn.execute(text(f"SELECT count(*) FROM resource_history WHERE {seeded_types}"))
                   ).scalar_one()
    assert stored == history == report.resources


async def test_seeded_patient_is_found_by_identifier_and_by_accented_and_plain_name(seeded):
    engine, net, _report = seeded
    patient = next(p for _r, person, p in (person_and_patient(net, i) for i in range(PATIENTS)) if
                   person.age >= 18 and any(ch in p["name"][0]["family"] for ch in "áéíóúñÁÉÍÓÚ"))
    dni = next(i["value"] for i in patient["identifier"] if i["system"] == systems.DNI)
    assert await _ids(engine, "Patient", f"identifier={systems.DNI}|{dni}") == [patient["id"]]
    family = patient["name"][0]["family"]
    plain = family.translate(str.maketrans("áéíóúñÁÉÍÓÚ", "aeiounAEIOU"))
    assert patient["id"] in await _ids(engine, "Patient", f"name={family}")
    assert patient["id"] in await _ids(engine, "Patient", f"family={plain.lower()}")


async def test_seeded_records_are_found_by_patient_and_facilities_by_region(seeded):
    engine, net, _report = seeded
    _rng, person, _patient = person_and_patient(net, 0)
    encounters = await _ids(engine, "Encounter", f"subject=Patient/{person.id}")
    assert encounters
    metropolitan = await _ids(engine, "Organization", f"type={systems.CS_FACILITY_TYPE}|HE")
    assert len(metropolitan) == sum(1 for f in net.facilities if f.kind == "HE")


async def test_seeding_again_with_the_same_seed_changes_nothing(seeded):
    engine, net, report = seeded
    with generation(net, patients=PATIENTS, workers=0) as chunks:
        again = await seed_network(engine, chunks)
    assert (again.summary.created, again.summary.updated) == (0, 0)
    assert again.summary.unchanged == report.resources


async def test_worker_processes_write_the_same_data_as_one_process(seeded, server_admin_url):
    """Patients after the first chunk come from a pool of two processes; writing the same patients from one
    process afterwards finds every resource unchanged."""
    _engine, net, _report = seeded
    with migrated(server_admin_url, f"ece_seed_pool_{RUN}") as url:
        other = make_async_engine(url, pool_size=3)
        try:
            with generation(net, patients=41, workers=2) as chunks:
                pooled = await seed_network(other, chunks)
            with generation(net, patients=41, workers=0) as chunks:
                single = await seed_network(other, chunks)
            assert pooled.summary.created == single.summary.unchanged == single.resources
            assert (single.summary.created, single.summary.updated) == (0, 0)
        finally:
            await other.dispose()
