"""R4 rest-hook Subscriptions: activation by the server, matching at write time, signed delivery, errors shown."""

from __future__ import annotations

import hashlib
import hmac
import json

from sqlalchemy import text

from ece import fhirjson, reads, store
from ece.notifications.delivery import deliver
from ece.notifications.subscriptions import SECRET_EXTENSION
from ece.tx import unit_of_work
from tests.ece.notifications.factories import create_task


def subscription(*, criteria: str, endpoint: str, channel_type: str = "rest-hook") -> dict:
    return {"resourceType": "Subscription", "status": "requested", "reason": "Referencias del hospital",
            "criteria": criteria,
            "channel": {"type": channel_type, "endpoint": endpoint, "payload": "application/fhir+json",
                        "header": ["Authorization: Bearer token-del-receptor"]}}


async def _create(engine, data: dict) -> dict:
    async with unit_of_work(engine) as tx:
        created = await store.create(tx, data=data)
    async with engine.connect() as conn:
        return fhirjson.loads((await reads.read(conn, resource_type="Subscription", resource_id=created.id)).content)


async def _hook_rows(engine, subscription_id: str) -> list[dict]:
    async with engine.connect() as conn:
        rows = await conn.execute(text("SELECT * FROM notification_outbox WHERE subscription_id = :s "
                                       "ORDER BY created_at"), {"s": subscription_id})
        return [dict(r) for r in rows.mappings()]


async def test_requested_subscription_is_activated_with_a_signing_secret(notify_engine, queued, gateway):
    active = await _create(notify_engine, subscription(criteria="Task?owner=Organization/s-hosp-0",
                                                       endpoint=f"{gateway.url}/hook"))
    assert active["status"] == "active"
    assert active["meta"]["versionId"] == "2"
    assert [e["url"] for e in active["extension"]] == [SECRET_EXTENSION]
    assert "error" not in active


async def test_subscription_with_unknown_search_parameter_is_set_to_error_with_reason(notify_engine, queued):
    refused = await _create(notify_engine, subscription(criteria="Task?color=rojo", endpoint="http://127.0.0.1:9/x"))
    assert refused["status"] == "error"
    assert "color" in refused["error"]


async def test_subscription_on_another_channel_type_is_set_to_error(notify_engine, queued):
    refused = await _create(notify_engine, subscription(criteria="Task", endpoint="mailto:a@b.hn",
                                                        channel_type="email"))
    assert refused["status"] == "error"
    assert "rest-hook" in refused["error"]


async def test_matching_write_is_delivered_signed_with_the_matched_version(notify_engine, queued, runtime, gateway):
    active = await _create(notify_engine, subscription(criteria="Task?owner=Organization/s-hosp-1",
                                                       endpoint=f"{gateway.url}/hook"))
    async with unit_of_work(notify_engine) as tx:
        await create_task(tx, task_id="s-ref-1", owner="Organization/s-hosp-1")
        await create_task(tx, task_id="s-ref-2", owner="Organization/otro")
    (row,) = await _hook_rows(notify_engine, active["id"])
    assert (row["about"], row["resource_version"], row["channel"]) == ("Task/s-ref-1", 1, "rest-hook")
    assert queued[-1] == [row["id"]]

    assert (await deliver(runtime, row_id=row["id"])).state == "delivered"
    arrival = gateway.inbox.accepted[row["id"]]
    secret = active["extension"][0]["valueString"]
    expected = "sha256=" + hmac.new(secret.encode(), arrival.body, hashlib.sha256).hexdigest()
    assert arrival.headers["X-ECE-Signature"] == expected
    assert arrival.headers["Authorization"] == "Bearer token-del-receptor"
    assert arrival.headers["Content-Type"] == "application/fhir+json"
    assert json.loads(arrival.body)["id"] == "s-ref-1"


async def test_failed_delivery_shows_on_the_subscription_until_a_success(notify_engine, queued, runtime, gateway):
    active = await _create(notify_engine, subscription(criteria="Task?owner=Organization/s-hosp-2",
                                                       endpoint=f"{gateway.url}/hook"))
    async with unit_of_work(notify_engine) as tx:
        await create_task(tx, task_id="s-ref-3", owner="Organization/s-hosp-2")
    (row,) = await _hook_rows(notify_engine, active["id"])
    gateway.status = 503
    assert (await deliver(runtime, row_id=row["id"])).state == "retry"
    async with notify_engine.connect() as conn:
        shown = fhirjson.loads((await reads.read(conn, resource_type="Subscription", resource_id=active["id"])).content)
    assert shown["status"] == "active"
    assert "HTTP 503" in shown["error"]

    gateway.status = 200
    assert (await deliver(runtime, row_id=row["id"])).state == "delivered"
    async with notify_engine.connect() as conn:
        cleared = fhirjson.loads((await reads.read(conn, resource_type="Subscription", resource_id=active["id"])
                                  ).content)
    assert "error" not in cleared


def test_a_subscription_created_through_the_api_reads_back_active(http):
    created = http.post("/Subscription", headers={"Content-Type": "application/fhir+json"}, content=fhirjson.dumps(
        subscription(criteria="Task?status=requested", endpoint="https://receptor.example.hn/fhir-hook")))
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "requested"  # the version the client wrote
    current = http.get(f"/Subscription/{created.json()['id']}").json()
    assert (current["status"], current["meta"]["versionId"]) == ("active", "2")
    refused = http.post("/Subscription", headers={"Content-Type": "application/fhir+json"}, content=fhirjson.dumps(
        subscription(criteria="Task?status=requested", endpoint="ftp://receptor.example.hn/")))
    assert http.get(f"/Subscription/{refused.json()['id']}").json()["status"] == "error"
