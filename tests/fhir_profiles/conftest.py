"""A live server with the national profiles enforced on every national type (the generic ``live_server``
runs with enforcement off)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator

import httpx
import pytest
from sqlalchemy.engine import make_url

from app.db import libpq_url
from fhir_profiles import catalog
from tests.conftest import ROOT, RUN, auth_headers, serve_live

NAME = f"ece_national_{RUN}"


@pytest.fixture(scope="session")
def national_install(server_admin_url: str) -> Callable[[], subprocess.CompletedProcess]:
    """Runs ``ece profiles install`` on the national server's database."""
    url = libpq_url(make_url(server_admin_url).set(database=NAME).render_as_string(hide_password=False))

    def run() -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "app", "profiles", "install"], cwd=ROOT, capture_output=True,
                              text=True, env={**os.environ, "ECE_DATABASE_URL": url}, timeout=120)

    return run


@pytest.fixture(scope="session")
def national_server(server_admin_url: str, national_install) -> Iterator[str]:
    servers = serve_live(server_admin_url, NAME, {"ECE_ENFORCED_PROFILE_TYPES": ",".join(catalog.national_types())})
    base = next(servers)
    installed = national_install()
    assert installed.returncode == 0, installed.stdout + installed.stderr
    yield base
    servers.close()


@pytest.fixture
def national(national_server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=national_server, timeout=30, headers={"Accept": "application/fhir+json",
                                                                     "Content-Type": "application/fhir+json",
                                                                     **auth_headers()}) as c:
        yield c
