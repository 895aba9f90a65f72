"""Redis as the Celery broker (ECE_BROKER_URL=redis://...): a real ``ece worker`` and ``ece serve`` on the machine's
Redis (ECE_REDIS_URL), on a queue of this run's own, take what ``notify()`` queues and deliver it once."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator

import httpx
import pytest
import redis
from celery import Celery
from sqlalchemy import text

from app.db import libpq_url
from ece import fhirjson, reads
from ece.notifications import Config, SmsGateway, Smtp, config, inbox, install, notify
from ece.notifications.tasks import BrokerQueue
from ece.tx import unit_of_work
from tests.conftest import RUN
from tests.ece.notifications.factories import create_patient, notice
from tests.ece.notifications.receivers import free_port
from tests.ece.notifications.stack import Stack

REDIS_URL = os.environ.get("ECE_REDIS_URL")
QUEUE = f"ece_redis_{RUN}"
pytestmark = pytest.mark.skipif(not REDIS_URL, reason="ECE_REDIS_URL no está definida: esta prueba necesita un Redis "
                                "real (.ci/run la define) / ECE_REDIS_URL is not set: this test needs a real Redis "
                                "(.ci/run sets it)")
DELIVERY_TIMEOUT_SECONDS = 10
UNACKED_KEY = "unacked"  # kombu's Redis transport: taken, not yet acknowledged messages, by delivery tag


def _forget_queue(client: redis.Redis) -> None:
    """Remove every key and exchange binding kombu created for this run's queue and worker (whose node and pidbox
    queue are named after it), leaving the rest of the shared database alone."""
    for key in client.scan_iter(match=f"*{QUEUE}*"):
        client.delete(key)
    for binding in client.scan_iter(match="_kombu.binding.*"):
        stale = [m for m in client.smembers(binding) if QUEUE.encode() in m]
        if stale:
            client.srem(binding, *stale)


@pytest.fixture(scope="module")
def redis_stack(notify_database_url, tmp_path_factory) -> Iterator[Stack]:
    logs = tmp_path_factory.mktemp("redis-stack")
    port = free_port()
    settings = {"ECE_DATABASE_URL": libpq_url(notify_database_url), "ECE_BROKER_URL": REDIS_URL or "",
                "ECE_TASK_QUEUE": QUEUE, "ECE_DATA_DIR": str(logs), "ECE_HOST": "127.0.0.1", "ECE_PORT": str(port),
                "ECE_WORKERS": "1", "ECE_ENFORCED_PROFILE_TYPES": ""}
    running = Stack(env={**os.environ, **settings}, logs=logs, base=f"http://127.0.0.1:{port}/fhir",
                    database_url=notify_database_url)
    client = redis.Redis.from_url(REDIS_URL or "")
    try:
        running.start("api", "serve")
        running.start("worker", "worker", "--concurrency", "2", "--name", f"r.{QUEUE}")
        running.wait_until_ready()
        yield running
    finally:
        running.stop()
        _forget_queue(client)
        assert not list(client.scan_iter(match=f"*{QUEUE}*"))
        client.close()


@pytest.fixture
def redis_producer() -> Iterator[BrokerQueue]:
    """This process writes events as the API would, queuing on the stack's Redis queue."""
    saved = (config.STATE.config, config.STATE.queue)
    app = Celery(f"producer-{RUN}", broker=REDIS_URL, set_as_current=False)
    app.conf.update(task_default_queue=QUEUE, task_default_exchange=QUEUE, task_default_routing_key=QUEUE,
                    broker_connection_timeout=2, task_serializer="json")
    queue = BrokerQueue(app)
    install(Config(smtp=Smtp(host="smtp.invalid"), sms=SmsGateway(url="http://sms.invalid/")), queue=queue)
    yield queue
    config.STATE.config, config.STATE.queue = saved


async def _outbox(engine, ids: list[str]) -> dict[str, tuple[str, str]]:
    async with engine.connect() as conn:
        rows = await conn.execute(text("SELECT id, channel, status FROM notification_outbox WHERE id = ANY(:ids)"),
                                  {"ids": ids})
    return {row_id: (channel, status) for row_id, channel, status in rows}


async def test_a_notice_queued_on_redis_is_delivered_once_to_the_inbox(redis_stack, notify_engine, redis_producer):
    async with unit_of_work(notify_engine) as tx:
        patient = await create_patient(tx, patient_id=f"redis-{RUN}".replace("_", "-"))
        ids = await notify(tx, [notice(recipient=patient, about=patient, event="referral.booked")])
    redis_producer.flush()
    deadline = time.monotonic() + DELIVERY_TIMEOUT_SECONDS
    while (rows := await _outbox(notify_engine, ids)) and any(status != "delivered" for _, status in rows.values()):
        assert time.monotonic() < deadline, f"not delivered within {DELIVERY_TIMEOUT_SECONDS} s: {rows}"
        await asyncio.sleep(0.1)
    assert [(channel, status) for channel, status in rows.values()] == [("inbox", "delivered")]
    async with notify_engine.connect() as conn:
        record = await reads.read(conn, resource_type="Communication", resource_id=ids[0])
    assert fhirjson.loads(record.content)["status"] == inbox.UNREAD  # in the patient's inbox, not yet read
    assert record.version_id == 1  # written once
    # Acknowledged: nothing left on the queue, and no copy parked in kombu's "unacked" hash, which Redis would
    # hand out again after the visibility timeout.
    client = redis.Redis.from_url(REDIS_URL or "")
    while client.llen(QUEUE) or any(ids[0].encode() in m for m in client.hvals(UNACKED_KEY)):
        assert time.monotonic() < deadline, "the delivery task was never acknowledged"
        await asyncio.sleep(0.05)
    client.close()


async def test_health_pings_the_redis_broker(redis_stack):
    async with httpx.AsyncClient(timeout=10) as client:
        answer = await client.get(redis_stack.base.removesuffix("/fhir") + "/health")
    body = answer.json()
    assert answer.status_code == 200, body
    assert body["broker"]["ok"], body
