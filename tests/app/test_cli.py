"""The ``ece`` command as a user runs it: a real process, a real database."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import orjson
import pytest
from sqlalchemy import create_engine, text

from app.db import libpq_url
from tests.conftest import ROOT, _drop_database, _fresh_database


def _ece(*args: str, database_url: str, timeout: int = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "ECE_DATABASE_URL": libpq_url(database_url)}
    return subprocess.run([sys.executable, "-m", "app", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture
def empty_database(server_admin_url: str):
    name = f"ece_unmigrated_{uuid.uuid4().hex[:8]}"
    url = _fresh_database(server_admin_url, name)
    yield url
    _drop_database(server_admin_url, name)


def test_serve_on_a_database_that_is_not_migrated_says_so_and_exits(empty_database):
    result = _ece("serve", "--port", "8799", database_url=empty_database, timeout=60)
    assert result.returncode == 2
    assert "ece migrate" in result.stderr


def test_migrate_then_db_url_prints_the_database_in_use(empty_database):
    assert _ece("migrate", database_url=empty_database).returncode == 0
    printed = _ece("db-url", database_url=empty_database)
    assert printed.stdout.strip() == libpq_url(empty_database)


def test_load_prints_a_summary_and_fails_when_something_was_refused(database_url, tmp_path: Path):
    run = uuid.uuid4().hex[:8]
    good = {"resourceType": "Patient", "id": f"cli-{run}", "gender": "female"}
    bad = {"resourceType": "Patient", "gender": "mujer"}
    path = tmp_path / "mixto.ndjson"
    path.write_bytes(orjson.dumps(good) + b"\n" + orjson.dumps(bad) + b"\n")
    result = _ece("load", str(path), database_url=database_url)
    assert result.returncode == 1
    assert "Creados / created: 1" in result.stdout
    assert "Rechazados / refused: 1" in result.stdout
    assert "mujer" in result.stdout
    again = _ece("load", str(path), database_url=database_url)
    assert "Sin cambios / unchanged: 1" in again.stdout


def test_setup_migrates_and_writes_every_definition_once(empty_database):
    first = _ece("setup", database_url=empty_database, timeout=300)
    assert first.returncode == 0, first.stdout + first.stderr
    written = int(first.stdout.rsplit(":", 1)[1])
    assert written > 100  # national profiles and code systems, Measures, and the operation definitions
    engine = create_engine(empty_database)
    try:
        with engine.connect() as conn:
            ids = set(conn.execute(text("SELECT id FROM resource WHERE resource_type = 'OperationDefinition'"))
                      .scalars())
    finally:
        engine.dispose()
    assert {"Patient-break-glass", "Patient-access-log", "ServiceRequest-route", "Task-accept"} <= ids
    again = _ece("setup", database_url=empty_database, timeout=300)
    assert again.returncode == 0 and again.stdout.rstrip().endswith(": 0"), again.stdout + again.stderr
