"""Production mode refuses default secrets and benchmark switches; security headers and CORS by settings."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from app.main import create_app
from app.security import UnsafeSettings, install_security, production_problems
from app.settings import Settings

SAFE = {"production": True, "auth_issuer": "https://sso.salud.gob.hn/realms/ece",
        "auth_audience": "https://ece.salud.gob.hn/fhir",
        "auth_jwks_url": "https://sso.salud.gob.hn/realms/ece/protocol/openid-connect/certs",
        "cors_origins": "https://ece.salud.gob.hn"}


def test_production_settings_of_an_installation_are_accepted():
    assert production_problems(Settings(**SAFE)) == []


@pytest.mark.parametrize(("override", "named"), [
    ({"access_enforced": False}, "ECE_ACCESS_ENFORCED"),
    ({"auth_jwks_url": None, "auth_signing_key_file": None}, "ECE_AUTH_SIGNING_KEY_FILE"),
    ({"auth_issuer": Settings.model_fields["auth_issuer"].default}, "ECE_AUTH_ISSUER"),
    ({"cors_origins": "*"}, "ECE_CORS_ORIGINS"),
    ({"database_url": "postgresql://postgres:postgres@db/ece"}, "ECE_DATABASE_URL"),
])
def test_production_mode_refuses_to_start_on_defaults(override, named):
    """create_app refuses first thing, before it installs anything in the process."""
    with pytest.raises(UnsafeSettings) as refused:
        create_app(Settings(**{**SAFE, **override}))

    assert named in str(refused.value)


def test_responses_carry_security_headers_and_no_store(live_server):
    response = httpx.get(f"{live_server}/metadata")

    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["Cache-Control"] == "no-store"


async def test_cors_allows_only_the_configured_origins():
    # A bare application with the same wiring: create_app would install process-wide validators in the test run.
    app = FastAPI()
    install_security(app, Settings(cors_origins="https://ece.salud.gob.hn"))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        allowed = await client.options("/fhir/Patient", headers={"Origin": "https://ece.salud.gob.hn",
                                                                 "Access-Control-Request-Method": "GET"})
        foreign = await client.options("/fhir/Patient", headers={"Origin": "https://malicioso.example",
                                                                 "Access-Control-Request-Method": "GET"})

    assert allowed.headers["Access-Control-Allow-Origin"] == "https://ece.salud.gob.hn"
    assert "Access-Control-Allow-Origin" not in foreign.headers


def test_logged_tracebacks_keep_their_frames_but_not_the_message():
    import io
    import logging

    from app.security import WithholdExceptionMessages

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(WithholdExceptionMessages())
    logger = logging.getLogger("tests.redaction")
    logger.addHandler(handler)
    try:
        raise ValueError("DNI 0801199012345 con VIH positivo")
    except ValueError:
        logger.exception("falló / failed")
    finally:
        logger.removeHandler(handler)

    logged = stream.getvalue()
    assert "ValueError: (mensaje omitido / message withheld)" in logged and "test_security.py" in logged
    assert "0801199012345" not in logged and "VIH" not in logged
