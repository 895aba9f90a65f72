"""Synthetic referrals, written by the referral engine's service functions, in every state of the lifecycle.

Seeded by the ``ece seed`` command in its own process and database: the command opens each referral's Task at the
moment the referral was sent, while a process with the engine's store hook installed (this one, once the referral
tests have run) would open it at the time of writing.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter

import pytest
from sqlalchemy import text

from app.db import libpq_url, make_async_engine
from app.referrals import configure_referral_engine
from app.settings import Settings
from ece import fhirjson, search, store
from ece.tx import unit_of_work
from fhir_profiles import systems
from referral import deadlines, routing
from synthetic import network, referrals
from tests.conftest import ROOT, RUN, migrated
from tests.synthetic.conftest import FACILITIES, PATIENTS, SEED

COUNT = len(referrals.SCENARIOS)


@pytest.fixture(scope="module")
def seeded_by_command(server_admin_url: str):
    with migrated(server_admin_url, f"ece_seed_cli_{RUN}") as url:
        env = {**os.environ, "ECE_DATABASE_URL": libpq_url(url)}
        result = subprocess.run([sys.executable, "-m", "app", "seed", "--patients", str(PATIENTS), "--seed",
                                 str(SEED), "--facilities", str(FACILITIES), "--referrals", str(COUNT), "--workers",
                                 "0"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        yield url, result


@pytest.fixture
async def engine(seeded_by_command):
    url, _result = seeded_by_command
    configure_referral_engine(Settings(_env_file=None))  # the deadline search parameter (plazo), as the app does
    engine = make_async_engine(url, pool_size=2)
    yield engine
    await engine.dispose()


async def _tasks(engine) -> list[dict]:
    async with engine.connect() as conn:
        rows = await conn.execute(text("SELECT content FROM resource WHERE resource_type = 'Task'"))
        return [fhirjson.loads(row[0]) for row in rows]


def _business(task: dict) -> str:
    return task["businessStatus"]["coding"][0]["code"]


def test_command_prints_the_rate_the_summary_and_the_referrals_by_state(seeded_by_command):
    _url, result = seeded_by_command
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Recursos / resources:" in result.stdout and "/s" in result.stdout
    assert "rechazados / refused: 0" in result.stdout
    assert "Sembrando / seeding" in result.stderr  # the progress bar
    expected = Counter(name for name, _path in referrals.SCENARIOS)
    states_line = next(line for line in result.stdout.splitlines() if line.startswith("Referencias en"))
    assert states_line.endswith(", ".join(f"{name} {count}" for name, count in sorted(expected.items())))


async def test_stored_tasks_reach_every_state_of_the_lifecycle(engine):
    found = Counter(_business(t) for t in await _tasks(engine))
    assert set(found) == {name for name, _path in referrals.SCENARIOS}
    # the redirected referral's new Task is sent to the other hospital
    assert found["enviada"] == Counter(name for name, _path in referrals.SCENARIOS)["enviada"] + 1


async def test_referrals_are_found_by_region_tag(engine):
    region = network.build(SEED, FACILITIES).facilities[0].municipality.region
    async with engine.connect() as conn:
        page = await search.search(conn, resource_types=["Task"],
                                   pairs=[("_tag", f"{systems.CS_HEALTH_REGION}|{region}")])
    tasks = [fhirjson.loads(content) for _t, _id, content in page.matches]
    assert all(region in {t["code"] for t in task["meta"]["tag"]} for task in tasks)


async def test_every_step_happened_before_the_seeding_and_late_ones_wait_for_the_sweep(engine):
    now = store.now()
    tasks = {t["id"]: t for t in await _tasks(engine)}
    assert max(t["lastModified"] for t in tasks.values()) <= fhirjson.instant(now)
    async with unit_of_work(engine) as tx:
        overdue = await deadlines.overdue(tx, now=now)
    assert len(overdue) == 1 and _business(tasks[overdue[0]]) == "enviada"
    marked = Counter(_business(t) for t in tasks.values())
    assert marked["aceptacion-vencida"] == marked["atencion-vencida"] == 1


async def test_seeding_referrals_again_adds_nothing(engine):
    plans = referrals.plans(network.build(SEED, FACILITIES), patients=PATIENTS, count=COUNT)
    again = await referrals.write_all(engine, plans, now=store.now())
    assert again == {"existing": COUNT}


async def test_the_routing_engine_ranks_seeded_hospitals_that_offer_the_specialty(engine):
    """The seeded directory (HealthcareService specialties and services, Location coordinates, regions) is what
    referral.routing reads."""
    net = network.build(SEED, FACILITIES)
    primary = next(f for f in net.facilities if f.level == "1" and f.municipality.department == "10")  # Intibucá
    cardiology = {f.reference for f in net.facilities if "cardiologia" in f.services}
    request = {"resourceType": "ServiceRequest", "priority": "routine",
               "requester": {"reference": f"PractitionerRole/{primary.roles['medicina-general'][0]}"},
               "performerType": {"coding": [{"system": systems.CS_SPECIALTY, "code": "cardiologia"}]},
               "code": {"coding": [{"system": systems.CS_REFERRAL_SERVICE, "code": "consulta-externa"}]}}
    async with unit_of_work(engine) as tx:
        candidates = await routing.rank_candidates(tx, service_request=request, limit=3)
    assert candidates and {c.organization for c in candidates} <= cardiology
    assert all(c.distance_km is not None for c in candidates)  # every facility has a placed Location
