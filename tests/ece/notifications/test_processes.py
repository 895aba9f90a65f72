"""Fault tests on real processes: ``ece serve``, ``ece worker`` and ``ece beat`` on the machine's RabbitMQ, with a
real SMTP server and SMS gateway in this process. Every notification is delivered once, whatever fails."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from celery import Celery
from kombu import Connection
from sqlalchemy import text

from app import migrate
from app.db import libpq_url, make_async_engine
from ece import fhirjson, reads
from ece.notifications import Config, SmsGateway, Smtp, config, install, notify
from ece.notifications.delivery import MAX_DELIVERY_ATTEMPTS
from ece.notifications.tasks import BrokerQueue
from ece.tx import unit_of_work
from tests.conftest import RUN, _drop_database, _fresh_database, auth_headers
from tests.ece.notifications.factories import create_organization, create_patient, notice
from tests.ece.notifications.receivers import HttpReceiver, SmtpReceiver, free_port
from tests.ece.notifications.stack import Stack

BROKER_URL = os.environ.get("ECE_BROKER_URL")
QUEUE = f"ece_stack_{RUN}"
pytestmark = pytest.mark.skipif(not BROKER_URL, reason="ECE_BROKER_URL no está definida: estas pruebas necesitan el "
                                "RabbitMQ real (.ci/run la define) / ECE_BROKER_URL is not set: these tests need the "
                                "real RabbitMQ (.ci/run sets it)")
DELIVERY_TIMEOUT_SECONDS = 15


@pytest.fixture(scope="module")
def smtp_server() -> Iterator[SmtpReceiver]:
    with SmtpReceiver() as receiver:
        yield receiver


@pytest.fixture(scope="module")
def sms_gateway() -> Iterator[HttpReceiver]:
    with HttpReceiver() as receiver:
        yield receiver


@pytest.fixture(scope="module")
def stack(server_admin_url, smtp_server, sms_gateway, tmp_path_factory) -> Iterator[Stack]:
    logs = tmp_path_factory.mktemp("notify-stack")
    name = f"ece_stack_{RUN}"
    database_url = _fresh_database(server_admin_url, name)
    migrate.upgrade(database_url)
    port = free_port()
    settings = {"ECE_DATABASE_URL": libpq_url(database_url), "ECE_BROKER_URL": BROKER_URL or "",
                "ECE_TASK_QUEUE": QUEUE, "ECE_DATA_DIR": str(logs), "ECE_HOST": "127.0.0.1", "ECE_PORT": str(port),
                "ECE_WORKERS": "1", "ECE_SMTP_HOST": "127.0.0.1", "ECE_SMTP_PORT": str(smtp_server.port),
                "ECE_SMS_GATEWAY_URL": f"{sms_gateway.url}/sms", "ECE_NOTIFY_RETRY_BASE_SECONDS": "0.02",
                "ECE_NOTIFY_SWEEP_SECONDS": "0.5", "ECE_NOTIFY_SWEEP_GRACE_SECONDS": "2",
                "ECE_ENFORCED_PROFILE_TYPES": ""}
    running = Stack(env={**os.environ, **settings}, logs=logs, base=f"http://127.0.0.1:{port}/fhir",
                    database_url=database_url)
    try:
        running.start("api", "serve")
        running.start("worker-a", "worker", "--concurrency", "2", "--name", f"a.{QUEUE}")
        running.start("worker-b", "worker", "--concurrency", "2", "--pool", "prefork", "--name", f"b.{QUEUE}")
        running.start("beat", "beat")
        running.wait_until_ready()
        yield running
    finally:
        running.stop()
        _drop_database(server_admin_url, name)
        with Connection(BROKER_URL) as connection:
            connection.default_channel.queue_delete(QUEUE)


@pytest.fixture(scope="module")
async def stack_engine(stack: Stack) -> AsyncIterator:
    engine = make_async_engine(stack.database_url, pool_size=2)
    yield engine
    await engine.dispose()


def _producer(broker: str) -> BrokerQueue:
    """This test process as an event writer whose broker is ``broker``, publishing to the stack's queue."""
    app = Celery(f"producer-{RUN}", broker=broker, set_as_current=False)
    app.conf.update(task_default_queue=QUEUE, task_default_exchange=QUEUE, task_default_routing_key=QUEUE,
                    broker_connection_timeout=2, task_serializer="json")
    return BrokerQueue(app)


@pytest.fixture
def producer_to(smtp_server, sms_gateway) -> Iterator:
    """This process writes events as the API would: the stack's channels, and a broker chosen by the test."""
    saved = (config.STATE.config, config.STATE.queue)
    channels = Config(smtp=Smtp(host="127.0.0.1", port=smtp_server.port), sms=SmsGateway(url=f"{sms_gateway.url}/sms"))

    def install_producer(broker: str) -> BrokerQueue:
        queue = _producer(broker)
        install(channels, queue=queue)
        return queue

    yield install_producer
    config.STATE.config, config.STATE.queue = saved


async def _statuses(engine, ids: list[str]) -> dict[str, str]:
    async with engine.connect() as conn:
        rows = await conn.execute(text("SELECT id, status FROM notification_outbox WHERE id = ANY(:ids)"),
                                  {"ids": ids})
    return dict(rows.all())


async def _wait_for_status(engine, ids: list[str], status: str) -> None:
    deadline = time.monotonic() + DELIVERY_TIMEOUT_SECONDS
    while True:
        statuses = await _statuses(engine, ids)
        if all(statuses.get(i) == status for i in ids):
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"not all {status} within {DELIVERY_TIMEOUT_SECONDS} s: {statuses}")
        await asyncio.sleep(0.1)


async def _channels(engine, ids: list[str]) -> dict[str, list[str]]:
    async with engine.connect() as conn:
        rows = await conn.execute(text("SELECT channel, id FROM notification_outbox WHERE id = ANY(:ids)"),
                                  {"ids": ids})
    found: dict[str, list[str]] = {}
    for channel, row_id in rows:
        found.setdefault(channel, []).append(row_id)
    return found


async def test_events_written_while_the_broker_is_unreachable_are_delivered_once_when_it_is_back(
        stack, stack_engine, sms_gateway, producer_to):
    """The broker is down for the writer while events are written, then back. RabbitMQ on this machine is shared
    with other engineers, so instead of stopping it the writer is pointed at a closed port: its publishes fail as
    they would with the broker stopped, the rows wait in the outbox, and ``ece beat``'s sweep queues them on the
    real broker once they are overdue; the worker delivers each exactly once."""
    queue = producer_to(f"amqp://guest:guest@127.0.0.1:{free_port()}//")
    ids: list[str] = []
    async with unit_of_work(stack_engine) as tx:
        for n in range(5):
            patient = await create_patient(tx, patient_id=f"caida-{n}", sms_consent=True,
                                           telecom=[{"system": "sms", "value": f"+5049900000{n}"}])
            ids += await notify(tx, [notice(recipient=patient, about=patient, event="referral.booked")])
    queue.flush()
    assert set((await _statuses(stack_engine, ids)).values()) == {"pending"}

    await _wait_for_status(stack_engine, ids, "delivered")
    by_channel = await _channels(stack_engine, ids)
    assert len(by_channel["inbox"]) == len(by_channel["sms"]) == 5
    async with stack_engine.connect() as conn:
        versions = [(await reads.read(conn, resource_type="Communication", resource_id=i)).version_id
                    for i in by_channel["inbox"]]
    assert versions == [1] * 5
    arrivals = [a.key for a in sms_gateway.inbox.arrivals if a.key in by_channel["sms"]]
    assert sorted(arrivals) == sorted(by_channel["sms"])  # each once, none twice


async def test_a_worker_killed_mid_delivery_is_redelivered_and_the_receiver_keeps_one(
        stack, stack_engine, sms_gateway, producer_to):
    producer_to(BROKER_URL or "")
    hold = threading.Event()
    sms_gateway.hold = hold
    sms_gateway.received.clear()
    async with unit_of_work(stack_engine) as tx:
        patient = await create_patient(tx, patient_id="muerte-1", sms_consent=True,
                                       telecom=[{"system": "sms", "value": "+50499001234"}])
        ids = await notify(tx, [notice(recipient=patient, about=patient, event="referral.booked")])
    (sms_row,) = (await _channels(stack_engine, ids))["sms"]
    assert await asyncio.to_thread(sms_gateway.received.wait, DELIVERY_TIMEOUT_SECONDS)
    stack.kill(stack.worker_connected_to(sms_gateway.port))  # the SMS request in flight, the task not acknowledged
    sms_gateway.hold = None
    hold.set()  # the gateway now answers the dead worker's request: it has the message once
    # RabbitMQ hands the unacknowledged task to the other worker.
    await _wait_for_status(stack_engine, ids, "delivered")
    keys = [a.key for a in sms_gateway.inbox.arrivals if a.key == sms_row]
    assert keys == [sms_row, sms_row]  # sent again after the crash, with the same idempotency key...
    assert sms_row in sms_gateway.inbox.accepted  # ...so the gateway kept one


async def test_refused_email_is_retried_then_failed_then_resent_through_the_api(
        stack, stack_engine, smtp_server, producer_to):
    producer_to(BROKER_URL or "")
    smtp_server.refuse = True
    async with unit_of_work(stack_engine) as tx:
        org = await create_organization(tx, org_id="rechazo-1", emails=("buzon-lleno@hosp.hn",))
        ids = await notify(tx, [notice(recipient=org, about="Task/rechazo-1")])
    (email_row,) = (await _channels(stack_engine, ids))["email"]
    await _wait_for_status(stack_engine, [email_row], "failed")
    # The facility the notice was for sees it failed (Communication.recipient) and may send it again.
    recipient_staff = auth_headers("clinician", facility="Organization/rechazo-1")
    async with httpx.AsyncClient(base_url=stack.base, timeout=10, headers=recipient_staff) as client:
        record = (await client.get(f"/Communication/{email_row}")).json()
        assert record["status"] == "not-done"
        assert "550" in record["statusReason"]["text"]
        listed = (await client.get("/Communication", params={"status": "not-done", "_id": email_row})).json()
        assert listed["total"] == 1

        smtp_server.refuse = False
        resent = await client.post(f"/Communication/{email_row}/$resend")
        assert resent.status_code == 200
        assert resent.json()["status"] == "in-progress"
        await _wait_for_status(stack_engine, [email_row], "delivered")
        assert (await client.get(f"/Communication/{email_row}")).json()["status"] == "completed"
        again = await client.post(f"/Communication/{email_row}/$resend")
        assert again.status_code == 409
        stranger = await client.post(f"/Communication/{email_row}/$resend",
                                     headers=auth_headers("clinician", facility="Organization/otro"))
        assert stranger.status_code == 403
        anonymous = await client.post(f"/Communication/{email_row}/$resend", headers={"Authorization": ""})
        assert anonymous.status_code == 401
    assert list(k for k in smtp_server.inbox.accepted if email_row in k) == [f"<{email_row}@salud.gob.hn>"]
    async with stack_engine.connect() as conn:
        attempts = (await conn.execute(text("SELECT attempts FROM notification_outbox WHERE id = :id"),
                                       {"id": email_row})).scalar_one()
    assert attempts == 1  # the fresh attempt after $resend; the failed run had MAX_DELIVERY_ATTEMPTS
    assert MAX_DELIVERY_ATTEMPTS > 1


async def test_health_reports_database_broker_and_outbox(stack):
    async with httpx.AsyncClient(timeout=10) as client:
        answer = await client.get(stack.base.removesuffix("/fhir") + "/health")
    body = answer.json()
    assert answer.status_code == 200, body
    assert body["database"]["ok"] and body["broker"]["ok"]
    assert body["outbox"]["oldest_undelivered_age_seconds"] <= 300
    assert fhirjson.dumps(body)  # plain JSON
