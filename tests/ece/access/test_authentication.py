"""Authentication of the live server: every request under /fhir needs a valid bearer token, except metadata."""

from __future__ import annotations

import time

import httpx

from ece.access import Actor, Role
from tests.conftest import TOKENS, auth_headers


def test_request_without_a_token_answers_401_with_a_challenge_and_an_operation_outcome(live_server):
    response = httpx.get(f"{live_server}/Patient")

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith('Bearer realm="ece"')
    assert response.json()["resourceType"] == "OperationOutcome"
    assert response.json()["issue"][0]["code"] == "login"


def test_metadata_needs_no_token(live_server):
    assert httpx.get(f"{live_server}/metadata").status_code == 200


def test_basic_credentials_are_not_a_bearer_token(live_server):
    response = httpx.get(f"{live_server}/Patient", headers={"Authorization": "Basic YWRtaW46YWRtaW4="})

    assert response.status_code == 401
    assert 'error="invalid_request"' in response.headers["WWW-Authenticate"]


def test_expired_token_answers_401_on_every_interaction(live_server):
    token = TOKENS.mint(Actor(subject="s", role=Role.SYSTEM, scopes=frozenset({"system/*.*"})), minutes=1,
                        now=time.time() - 7200)
    expired = {"Authorization": f"Bearer {token}"}
    for method, path in (("GET", "/Patient/x"), ("GET", "/Patient"), ("POST", "/Patient"), ("PUT", "/Patient/x"),
                         ("DELETE", "/Patient/x"), ("POST", ""), ("GET", "/_history"),
                         ("GET", "/ValueSet/$expand")):
        response = httpx.request(method, f"{live_server}{path}", headers=expired, json={})

        assert response.status_code == 401, (method, path, response.text)
        assert "expired" in response.headers["WWW-Authenticate"]


def test_valid_token_is_let_through(live_server):
    response = httpx.get(f"{live_server}/Patient", params={"_count": "1"}, headers=auth_headers())

    assert response.status_code == 200
    assert response.headers["X-Content-Type-Options"] == "nosniff"
