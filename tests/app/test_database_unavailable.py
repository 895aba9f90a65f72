"""A lost database connection answers 503 with Retry-After and a transient OperationOutcome, never a 500, and the
server serves again on its next connections (R4 http.html: a transient condition the client may retry).

The test ends every session of the live server's database from outside, as a restart or failover would."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import psycopg
import pytest
from sqlalchemy.engine import make_url

from app.db import libpq_url
from tests.conftest import RUN, auth_headers, serve_live

NAME = f"ece_unavailable_{RUN}"


@pytest.fixture(scope="module")
def live(server_admin_url: str) -> Iterator[tuple[str, str]]:
    database = libpq_url(make_url(server_admin_url).set(database=NAME).render_as_string(hide_password=False))
    servers = serve_live(server_admin_url, NAME, {})
    try:
        yield next(servers), database
    finally:
        servers.close()


def _end_every_session(database: str) -> int:
    with psycopg.connect(database, autocommit=True) as conn:
        return conn.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = "
                            "current_database() AND pid <> pg_backend_pid()").fetchone()[0]


def test_requests_on_lost_connections_are_503_to_retry_and_the_server_recovers(live):
    base, database = live
    with httpx.Client(base_url=base, timeout=30, headers={"Accept": "application/fhir+json", **auth_headers()}) as c:
        patient = c.post("/Patient", json={"resourceType": "Patient", "name": [{"family": "Cárcamo"}]},
                         headers={"Content-Type": "application/fhir+json"})
        assert patient.status_code == 201
        for _ in range(5):  # several pooled connections in use
            assert c.get("/Patient", params={"name": "carcamo"}).status_code == 200
        assert _end_every_session(database) > 0

        answers = [c.get("/Patient", params={"name": "carcamo"}) for _ in range(12)]

    statuses = [a.status_code for a in answers]
    assert set(statuses) <= {200, 503}, statuses
    unavailable = [a for a in answers if a.status_code == 503]
    assert unavailable, statuses
    assert unavailable[0].headers["Retry-After"] == "5"
    assert unavailable[0].json()["issue"][0]["code"] == "transient"
    assert statuses[-3:] == [200, 200, 200]
