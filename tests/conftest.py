"""Test fixtures: a real PostgreSQL, migrated once per run, a rolled-back transaction per test, and a
live server process for the HTTP and client tests.

``ECE_TEST_DATABASE_URL`` names the PostgreSQL server to use (CI: the machine's service); without it an
embedded PostgreSQL is started under ``var/test-pgdata``.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app import migrate
from app.db import EmbeddedPostgres, ensure_database, libpq_url, make_async_engine, sqlalchemy_url
from app.security import local_issuer
from app.settings import Settings
from ece.access import Actor, Role
from ece.tx import Transaction

ROOT = Path(__file__).resolve().parents[1]
# The generic tests store non-Honduran resources: national profiles apply only to resources that declare
# them, in this process and in the ``ece`` commands the tests start (tests/fhir_profiles enforces them).
os.environ.setdefault("ECE_ENFORCED_PROFILE_TYPES", "")
# One database per test process, so parallel runs on one server never touch each other's data.
RUN = f"{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{os.getpid()}"
# What the processes of this run (live servers, `ece load`) queue on a real broker (ECE_BROKER_URL) goes to a queue
# of this run, deleted at the end, never into a shared one where no worker of this run would take it.
os.environ["ECE_TASK_QUEUE"] = f"ece_test_{RUN}"
# The live servers and the tests share the embedded issuer's key, so tests can mint tokens for any actor.
os.environ["ECE_AUTH_SIGNING_KEY_FILE"] = str(ROOT / "var" / "test-signing-key.pem")
TOKENS = local_issuer(Settings())


def auth_headers(role: str = "system", *, subject: str | None = None, facility: str | None = None,
                 practitioner_role: str | None = None, patient: str | None = None, region: str | None = None,
                 scopes: str = "", minutes: int = 30, name: str | None = None) -> dict[str, str]:
    """``Authorization: Bearer`` for an actor of ``role``; ``system`` defaults to the trusted ``system/*.*``."""
    if role == "system" and not scopes:
        scopes = "system/*.*"
    actor = Actor(subject=subject or f"prueba-{role}", role=Role(role), facility=facility,
                  practitioner_role=practitioner_role, patient=patient, region=region,
                  scopes=frozenset(scopes.split()))
    return {"Authorization": f"Bearer {TOKENS.mint(actor, minutes=minutes, name=name)}"}


def _server_admin_url() -> str:
    configured = os.environ.get("ECE_TEST_DATABASE_URL")
    if configured:
        return sqlalchemy_url(configured)
    embedded = EmbeddedPostgres(ROOT / "var" / "test-pgdata")
    return sqlalchemy_url(embedded.url("postgres"))


def _drop_database(admin_url: str, name: str) -> None:
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def _fresh_database(admin_url: str, name: str) -> str:
    _drop_database(admin_url, name)
    ensure_database(admin_url, name)
    url = make_url(admin_url).set(database=name)
    return url.render_as_string(hide_password=False)


@pytest.fixture(scope="session", autouse=True)
def _run_task_queue_deleted() -> Iterator[None]:
    yield
    broker = os.environ.get("ECE_BROKER_URL")
    if broker and broker.startswith(("amqp://", "pyamqp://")):
        from kombu import Connection

        with Connection(broker, connect_timeout=5) as connection:
            connection.default_channel.queue_delete(os.environ["ECE_TASK_QUEUE"])


@contextmanager
def migrated(server_admin_url: str, name: str) -> Iterator[str]:
    """A fresh database ``name`` with the project's Alembic migrations applied, dropped on leaving."""
    url = _fresh_database(server_admin_url, name)
    try:
        migrate.upgrade(url)
        yield url
    finally:
        _drop_database(server_admin_url, name)


@pytest.fixture(scope="session")
def server_admin_url() -> str:
    return _server_admin_url()


@pytest.fixture(scope="session")
def database_url(server_admin_url: str) -> Iterator[str]:
    """A database of this run, migrated once with the project's Alembic migrations."""
    with migrated(server_admin_url, f"ece_test_{RUN}") as url:
        yield url


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator:
    engine = make_async_engine(database_url, pool_size=4)
    yield engine
    await engine.dispose()


@pytest.fixture
async def tx(engine) -> AsyncIterator[Transaction]:
    """A transaction rolled back after the test: nothing a test writes is seen by another."""
    async with engine.connect() as conn:
        outer = await conn.begin()
        try:
            yield Transaction(conn)
        finally:
            await outer.rollback()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def live_server(server_admin_url: str) -> Iterator[str]:
    """A real ``ece serve`` process on its own migrated database; yields the FHIR base URL.

    The generic conformance and client tests post non-Honduran resources, so national profiles apply here
    only to resources that declare them (tests/fhir_profiles runs its own server with enforcement on)."""
    yield from serve_live(server_admin_url, f"ece_live_{RUN}", {"ECE_ENFORCED_PROFILE_TYPES": ""})


def die_with_parent() -> None:
    """``preexec_fn`` of every process a test starts: Linux sends it SIGTERM when the test process dies, even
    killed outright (prctl PR_SET_PDEATHSIG), so an interrupted run leaves no server holding connections."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


PR_SET_PDEATHSIG = 1


def serve_live(server_admin_url: str, name: str, extra_env: dict[str, str]) -> Iterator[str]:
    """Run ``ece serve`` on a fresh migrated database ``name`` until the generator is closed."""
    url = _fresh_database(server_admin_url, name)
    migrate.upgrade(url)
    port = _free_port()
    env = {**os.environ, "ECE_DATABASE_URL": libpq_url(url), "ECE_PORT": str(port), "ECE_HOST": "127.0.0.1",
           "ECE_WORKERS": "1", "ECE_MAX_BODY_BYTES": str(8 * 1024 * 1024), **extra_env}
    (ROOT / "var").mkdir(exist_ok=True)
    log = open(ROOT / "var" / f"live-server-{name}.log", "w")  # noqa: SIM115 - closed below
    process = subprocess.Popen([sys.executable, "-m", "app", "serve"], cwd=ROOT, env=env, stdout=log,
                               stderr=subprocess.STDOUT, preexec_fn=die_with_parent)
    base = f"http://127.0.0.1:{port}/fhir"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited; see {log.name}")
        try:
            if httpx.get(f"{base}/metadata", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    else:
        process.kill()
        raise RuntimeError("the server did not start within 60 s")
    try:
        yield base
    finally:  # ``close()`` on this generator (session fixtures do that) raises GeneratorExit at the yield
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
        _drop_database(server_admin_url, name)


@pytest.fixture
def http(live_server: str) -> Iterator[httpx.Client]:
    """A client of the live server carrying a trusted ``system/*.*`` token."""
    with httpx.Client(base_url=live_server, timeout=30, headers={"Accept": "application/fhir+json",
                                                                 **auth_headers()}) as client:
        yield client
