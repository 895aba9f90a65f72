"""``ece token``: a token of the embedded issuer, alone on the last line, that the server accepts."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx

from app.security import access_config
from app.settings import Settings
from ece.access import Role
from tests.conftest import ROOT


def ece_token(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "app", "token", *args], cwd=ROOT, env=dict(os.environ),
                          capture_output=True, text=True, timeout=60)


def test_token_for_a_coordinator_carries_the_region_and_is_accepted_by_the_server(live_server):
    result = ece_token("--sub", "coord-08", "--role", "coordinator", "--region", "08", "--minutes", "5")

    assert result.returncode == 0, result.stderr
    token = result.stdout.strip().splitlines()[-1]
    actor, claims = access_config(Settings()).verifier.verify(token)
    assert (actor.role, actor.region, actor.subject) == (Role.COORDINATOR, "08", "coord-08")
    assert claims["exp"] - claims["iat"] == 300
    response = httpx.get(f"{live_server}/Task", params={"_count": "1"}, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200


def test_token_for_a_clinician_without_a_facility_is_refused():
    result = ece_token("--sub", "dr-x", "--role", "clinician")

    assert result.returncode == 2
    assert "facility" in result.stderr
