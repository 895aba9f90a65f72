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

from app import migrate
from app.db import libpq_url, make_async_engine
from app.referrals import configure_referral_engine
from app.settings import Settings
from ece import fhirjson, search, store
from ece.tx import unit_of_work
from fhir_profiles import systems
from referral import deadlines
from synthetic import network, referrals
from tests.conftest import ROOT, RUN, _drop_database, _fresh_database
from tests.synthetic.conftest import FACILITIES, PATIENTS, SEED

COUNT = len(referrals.SCENARIOS)


@pytest.fixture(scope="module")
def seeded_by_command(server_admin_url: str):
    name = f"ece_seed_cli_{RUN}"
    url = _fresh_database(server_admin_url, name)
    migrate.upgrade(url)
    env = {**os.environ, "ECE_DATABASE_URL": libpq_url(url)}
    result = subprocess.run([sys.executable, "-m", "app", "seed", "--patients", str(PATIENTS), "--seed", str(SEED),
                             "--facilities", str(FACILITIES), "--referrals", str(COUNT), "--workers", "0"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    yield url, result
    _drop_database(server_admin_url, name)


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
    states_line = next(line for line in result.stdout.splitlines() if line.startswith("Referencias por estado"))
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
