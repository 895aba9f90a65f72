"""Seeding a database through the store's write path: found by searches, idempotent, same with workers.

The data are committed (the writer owns its transactions, as ``ece seed`` does), so these tests use a
database of their own instead of the shared, rolled-back one.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text

from app import migrate
from app.db import libpq_url, make_async_engine
from ece import search
from fhir_profiles import systems
from synthetic import network
from synthetic.patients import person_and_patient
from synthetic.writer import seed_network
from tests.conftest import ROOT, RUN, _drop_database, _fresh_database

SEED = 5
FACILITIES = 30
PATIENTS = 12


@pytest.fixture(scope="module")
def seed_database_url(server_admin_url: str):
    name = f"ece_seed_{RUN}"
    url = _fresh_database(server_admin_url, name)
    migrate.upgrade(url)
    yield url
    _drop_database(server_admin_url, name)


@pytest.fixture(scope="module")
async def seeded(seed_database_url: str) -> AsyncIterator:
    engine = make_async_engine(seed_database_url, pool_size=3)
    net = network.build(SEED, FACILITIES)
    report = await seed_network(engine, net=net, patients=PATIENTS, workers=0)
    yield engine, net, report
    await engine.dispose()


async def _ids(engine, resource_type: str, query: str) -> list[str]:
    async with engine.connect() as conn:
        return await search.matching_ids(conn, resource_type=resource_type, query=query, limit=50)


async def test_seed_writes_every_resource_once_and_refuses_none(seeded):
    engine, net, report = seeded
    assert report.summary.refused == 0
    assert report.summary.created == report.resources > len(net.resources) + PATIENTS * 20
    async with engine.connect() as conn:
        stored = (await conn.execute(text("SELECT count(*) FROM resource"))).scalar_one()
        history = (await conn.execute(text("SELECT count(*) FROM resource_history"))).scalar_one()
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
    again = await seed_network(engine, net=net, patients=PATIENTS, workers=0)
    assert (again.summary.created, again.summary.updated) == (0, 0)
    assert again.summary.unchanged == report.resources


async def test_worker_processes_write_the_same_data_as_one_process(seeded, server_admin_url):
    """Patients after the first chunk come from a pool of two processes; the bytes are the same."""
    engine, net, _report = seeded
    name = f"ece_seed_pool_{RUN}"
    url = _fresh_database(server_admin_url, name)
    migrate.upgrade(url)
    other = make_async_engine(url, pool_size=3)
    try:
        await seed_network(other, net=net, patients=45, workers=2)
        await seed_network(engine, net=net, patients=45, workers=0)
        query = text("SELECT md5(string_agg(content::jsonb #- '{meta,lastUpdated}' #>> '{}', '' ORDER BY id)) "
                     "FROM resource")
        async with other.connect() as conn:
            pooled = (await conn.execute(query)).scalar_one()
        async with engine.connect() as conn:
            single = (await conn.execute(query)).scalar_one()
        assert pooled == single
    finally:
        await other.dispose()
        _drop_database(server_admin_url, name)


def test_ece_seed_command_prints_the_rate_and_the_summary(seed_database_url):
    env = {**os.environ, "ECE_DATABASE_URL": libpq_url(seed_database_url)}
    result = subprocess.run([sys.executable, "-m", "app", "seed", "--patients", "3", "--seed", str(SEED),
                             "--facilities", str(FACILITIES), "--workers", "0"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Recursos / resources:" in result.stdout and "/s" in result.stdout
    assert "rechazados / refused: 0" in result.stdout
    assert "Sembrando / seeding" in result.stderr  # the progress bar
