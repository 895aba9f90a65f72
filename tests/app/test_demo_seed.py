"""``ece run`` seeds the synthetic network on first start only (an empty database), so the demo is never empty."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest

from tests.conftest import ROOT, migrated

SEED_IF_EMPTY = "import sys; from app.cli import _seed_demo_if_empty; _seed_demo_if_empty(sys.argv[1], 3)"


@pytest.fixture
def migrated_database(server_admin_url: str):
    with migrated(server_admin_url, f"ece_demo_{uuid.uuid4().hex[:8]}") as url:
        yield url


def _seed_if_empty(url: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", SEED_IF_EMPTY, url], cwd=ROOT, capture_output=True, text=True,
                          env=dict(os.environ), timeout=180)


def test_first_start_seeds_the_demo_network_and_the_next_start_does_not(migrated_database):
    first = _seed_if_empty(migrated_database)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "seeding 3 synthetic patients" in first.stdout
    second = _seed_if_empty(migrated_database)
    assert second.returncode == 0, second.stdout + second.stderr
    assert second.stdout == ""
