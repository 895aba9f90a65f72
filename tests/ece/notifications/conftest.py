"""Fixtures of the notification tests: a committed database of their own (delivery commits), and the queue
function recorded instead of a broker unless a test starts real processes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from app.db import make_async_engine
from ece.notifications import Config, SmsGateway, Smtp, config, install
from ece.notifications.delivery import Runtime
from tests.conftest import RUN, migrated
from tests.ece.notifications.receivers import HttpReceiver, SmtpReceiver


@pytest.fixture(scope="session")
def notify_database_url(server_admin_url: str) -> Iterator[str]:
    with migrated(server_admin_url, f"ece_notify_{RUN}") as url:
        yield url


@pytest.fixture(scope="session")
async def notify_engine(notify_database_url: str) -> AsyncIterator:
    engine = make_async_engine(notify_database_url, pool_size=4)
    yield engine
    await engine.dispose()


@pytest.fixture
def queued() -> Iterator[list[list[str]]]:
    """Installs the notifications with a queue that records the row ids it is handed."""
    batches: list[list[str]] = []
    saved = (config.STATE.config, config.STATE.queue)
    install(Config(smtp=Smtp(host="smtp.invalid"), sms=SmsGateway(url="http://sms.invalid/"), retry_base_seconds=0.01,
                   sweep_grace_seconds=0.0), queue=lambda ids: batches.append(list(ids)))
    yield batches
    config.STATE.config, config.STATE.queue = saved


@pytest.fixture
async def runtime(notify_engine) -> AsyncIterator[Runtime]:
    async with httpx.AsyncClient() as client:
        yield Runtime(engine=notify_engine, http=client)


@pytest.fixture
def smtp() -> Iterator[SmtpReceiver]:
    with SmtpReceiver() as receiver:
        yield receiver


@pytest.fixture
def gateway() -> Iterator[HttpReceiver]:
    with HttpReceiver() as receiver:
        yield receiver


@pytest.fixture
def channels(smtp: SmtpReceiver, gateway: HttpReceiver, queued: list) -> Iterator[list[list[str]]]:
    """Email to the local SMTP server, SMS to the local gateway, 10 ms first retry delay; yields the queued ids."""
    config.STATE.config = Config(smtp=Smtp(host="127.0.0.1", port=smtp.port),
                                 sms=SmsGateway(url=f"{gateway.url}/sms", token="clave-de-prueba"),
                                 retry_base_seconds=0.01, sweep_grace_seconds=0.0, timeout_seconds=5.0)
    yield queued
