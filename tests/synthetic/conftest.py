"""A database of its own, seeded once per run through the store (the seed commits, as ``ece seed`` does)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from app.db import make_async_engine
from synthetic import network
from synthetic.writer import generation, seed_network
from tests.conftest import RUN, migrated

SEED = 5
FACILITIES = 30
PATIENTS = 80  # enough patients with a reason to refer them for every referral scenario


@pytest.fixture(scope="session")
def seed_database_url(server_admin_url: str):
    with migrated(server_admin_url, f"ece_seed_{RUN}") as url:
        yield url


@pytest.fixture(scope="session")
async def seeded(seed_database_url: str) -> AsyncIterator:
    engine = make_async_engine(seed_database_url, pool_size=3)
    net = network.build(SEED, FACILITIES)
    with generation(net, patients=PATIENTS, workers=0) as chunks:
        report = await seed_network(engine, chunks)
    yield engine, net, report
    await engine.dispose()


