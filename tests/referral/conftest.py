"""The referral engine wired as the app wires it (store hook, search parameters, default policy). The national
profiles are checked by the live server of the HTTP tests (test_api.py), which enforces them."""

from __future__ import annotations

from contextlib import asynccontextmanager

import pytest

from app.referrals import install_referral_engine
from app.settings import Settings
from ece.tx import Transaction
from referral import policy


@pytest.fixture(scope="session", autouse=True)
def referral_engine() -> None:
    install_referral_engine(Settings(_env_file=None))


@pytest.fixture(autouse=True)
def default_policy():
    """Each test starts from the default policy; a test that changes it is undone afterwards."""
    before = policy.current()
    yield
    policy.configure(before)


@pytest.fixture
def units(tx: Transaction):
    """Units of work for a task's boundary (its ``unit_of_work`` factory): savepoints of the test's transaction,
    so what each unit commits is still rolled back after the test."""

    @asynccontextmanager
    async def unit():
        async with tx.conn.begin_nested():
            yield Transaction(tx.conn)

    return unit
