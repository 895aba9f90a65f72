"""The embedded issuer's login and client-credentials endpoints, SMART discovery and the login rate limit."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy.engine import make_url

from app.db import libpq_url
from ece.access.login import TooManyAttempts, count_attempt
from tests.conftest import ROOT, RUN

PASSWORD = "una-contraseña-larga-2026"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def ece_users_add(server_admin_url: str, *args: str) -> subprocess.CompletedProcess:
    url = make_url(server_admin_url).set(database=f"ece_live_{RUN}").render_as_string(hide_password=False)
    env = {**os.environ, "ECE_DATABASE_URL": libpq_url(url), "ECE_NEW_USER_PASSWORD": PASSWORD}
    return subprocess.run([sys.executable, "-m", "app", "users", "add", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def origin(live_server: str) -> str:
    return live_server.removesuffix("/fhir")


def test_user_added_on_the_command_line_logs_in_and_the_token_opens_the_api(server_admin_url, origin):
    username = f"enf-{uuid.uuid4().hex[:8]}"
    added = ece_users_add(server_admin_url, username, "--role", "clinician", "--facility", "Organization/h1",
                          "--name", "Enf. Rosa Díaz")

    page = httpx.get(f"{origin}/auth/login")
    login = httpx.post(f"{origin}/auth/login", data={"username": username, "password": PASSWORD})
    wrong = httpx.post(f"{origin}/auth/login", data={"username": username, "password": "otra-contraseña-xx"})
    unknown = httpx.post(f"{origin}/auth/login", data={"username": "nadie-" + username, "password": PASSWORD})

    assert added.returncode == 0, added.stderr
    assert page.status_code == 200 and "Contraseña" in page.text
    assert login.status_code == 200 and login.headers["Cache-Control"] == "no-store"
    token = login.json()["access_token"]
    api = httpx.get(f"{origin}/fhir/Organization", params={"_count": "1"},
                    headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 200
    assert wrong.status_code == 401 and unknown.status_code == 401
    assert wrong.json() == unknown.json()  # the answer does not tell which part was wrong


def test_system_client_gets_the_scopes_it_asks_for_among_its_own(server_admin_url, origin):
    client_id = f"integracion-{uuid.uuid4().hex[:8]}"
    ece_users_add(server_admin_url, client_id, "--role", "system", "--scope", "system/Observation.rs system/Patient.rs")

    granted = httpx.post(f"{origin}/auth/token", auth=(client_id, PASSWORD),
                         data={"grant_type": "client_credentials", "scope": "system/Patient.rs system/*.*"})
    refused = httpx.post(f"{origin}/auth/token", data={"grant_type": "client_credentials", "client_id": client_id,
                                                       "client_secret": "incorrecto-123456"})

    assert granted.status_code == 200 and granted.json()["scope"] == "system/Patient.rs"
    assert refused.status_code == 401 and refused.json() == {"error": "invalid_client"}
    headers = {"Authorization": f"Bearer {granted.json()['access_token']}"}
    assert httpx.get(f"{origin}/fhir/Observation", headers=headers).status_code == 403
    assert httpx.get(f"{origin}/fhir/Patient", params={"_count": "1"}, headers=headers).status_code == 200


def test_password_shorter_than_twelve_characters_is_refused(server_admin_url):
    url_env = {"ECE_NEW_USER_PASSWORD": "corta"}
    url = make_url(server_admin_url).set(database=f"ece_live_{RUN}").render_as_string(hide_password=False)
    result = subprocess.run([sys.executable, "-m", "app", "users", "add", "x", "--role", "admin"], cwd=ROOT,
                            env={**os.environ, "ECE_DATABASE_URL": libpq_url(url), **url_env},
                            capture_output=True, text=True, timeout=60)

    assert result.returncode == 2 and "12" in result.stderr


def test_smart_configuration_names_the_issuer_keys_and_token_endpoint(origin):
    config = httpx.get(f"{origin}/.well-known/smart-configuration").json()
    keys = httpx.get(config["jwks_uri"]).json()["keys"]

    assert config["token_endpoint"] == f"{origin}/auth/token"
    assert "client_credentials" in config["grant_types_supported"]
    assert "permission-v2" in config["capabilities"]
    assert [k["alg"] for k in keys] == ["ES256"] and "d" not in keys[0]


def test_capability_statement_declares_smart_bearer_tokens_and_the_same_token_endpoint(origin):
    """R4 CapabilityStatement.rest.security: what an integrator reads first to learn how to authenticate."""
    security = httpx.get(f"{origin}/fhir/metadata").json()["rest"][0]["security"]
    oauth = next(e for e in security["extension"] if e["url"].endswith("/oauth-uris"))
    config = httpx.get(f"{origin}/.well-known/smart-configuration").json()

    assert security["service"][0]["coding"][0]["code"] == "SMART-on-FHIR"
    assert {e["url"]: e["valueUri"] for e in oauth["extension"]} == {"token": config["token_endpoint"]}


def test_oversized_login_body_is_refused_before_it_is_read(origin):
    response = httpx.post(f"{origin}/auth/login", content=b"username=" + b"x" * 10_000, headers=FORM)

    assert response.status_code == 413


async def test_login_attempts_over_the_limit_answer_429_until_the_window_passes(tx):
    """Counted in the database (every API process shares the count), per client address, in a 60 s window."""
    start = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)

    async def attempt(address: str, second: int) -> None:
        await count_attempt(tx, address=address, per_minute=3, now=start + timedelta(seconds=second))

    for second in range(3):
        await attempt("10.0.0.9", second)
    with pytest.raises(TooManyAttempts) as refused:
        await attempt("10.0.0.9", 10)
    await attempt("10.0.0.10", 10)  # another address is not affected
    await attempt("10.0.0.9", 61)  # the first attempt left the window

    assert refused.value.status == 429 and refused.value.headers["Retry-After"] == "50"
