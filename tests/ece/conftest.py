"""Fixtures of the live-server tests of access control and audit: the small network of facilities, clinicians
and patients in every relationship (tests/ece/access/network.py), built once per module."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import auth_headers
from tests.ece.access.network import Network, build


@pytest.fixture(scope="module")
def net(live_server: str) -> Network:
    with httpx.Client(base_url=live_server, timeout=30, headers=auth_headers()) as system:
        return build(system)


@pytest.fixture
def system(live_server: str) -> Iterator[httpx.Client]:
    """A client of the live server with the trusted ``system/*.*`` token."""
    with httpx.Client(base_url=live_server, timeout=30, headers=auth_headers()) as client:
        yield client
