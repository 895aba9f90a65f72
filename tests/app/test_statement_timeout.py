"""The API's statement time limit (ECE_STATEMENT_TIMEOUT_SECONDS): a statement PostgreSQL cancels answers 400
too-costly with an OperationOutcome, never a 500, and nothing of the request is written.

A lock held by the test makes the statements wait, so they run past the limit whatever the machine's speed."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import psycopg
import pytest
from sqlalchemy.engine import make_url

from app.db import libpq_url
from tests.conftest import RUN, auth_headers, serve_live

NAME = f"ece_timeout_{RUN}"
LIMIT_S = 0.5


@pytest.fixture(scope="module")
def limited(server_admin_url: str) -> Iterator[tuple[str, str]]:
    """A live server whose statements may run for LIMIT_S, and its database's URL."""
    database = libpq_url(make_url(server_admin_url).set(database=NAME).render_as_string(hide_password=False))
    servers = serve_live(server_admin_url, NAME, {"ECE_STATEMENT_TIMEOUT_SECONDS": str(LIMIT_S)})
    try:
        yield next(servers), database
    finally:
        servers.close()


def _client(base: str) -> httpx.Client:
    return httpx.Client(base_url=base, timeout=30, headers={"Accept": "application/fhir+json", **auth_headers()})


def _while_resources_are_locked(database: str, request) -> httpx.Response:
    with psycopg.connect(database) as locker:
        locker.execute("LOCK TABLE resource IN ACCESS EXCLUSIVE MODE")
        try:
            return request()
        finally:
            locker.rollback()


def test_a_search_past_the_time_limit_is_a_too_costly_outcome(limited):
    base, database = limited
    with _client(base) as client:
        answer = _while_resources_are_locked(database, lambda: client.get("/Patient", params={"name": "Zelaya"}))
        assert answer.status_code == 400
        outcome = answer.json()
        assert outcome["resourceType"] == "OperationOutcome"
        assert outcome["issue"][0]["code"] == "too-costly"
        assert "tiempo máximo" in outcome["issue"][0]["diagnostics"]
        assert client.get("/Patient", params={"name": "Zelaya"}).status_code == 200  # the limit is per statement


def test_a_write_cancelled_by_the_time_limit_saves_nothing(limited):
    base, database = limited
    patient = {"resourceType": "Patient", "identifier": [{"system": "urn:ece-test:timeout", "value": "1"}],
               "name": [{"family": "Cáceres"}]}
    with _client(base) as client:
        answer = _while_resources_are_locked(
            database, lambda: client.post("/Patient", json=patient, headers={"Content-Type": "application/fhir+json"}))
        assert answer.status_code == 400
        assert answer.json()["issue"][0]["code"] == "too-costly"
        found = client.get("/Patient", params={"identifier": "urn:ece-test:timeout|1", "_total": "accurate"}).json()
        assert found["total"] == 0
