"""Delivering one outbox row: the service behind the Celery task (the task only calls ``deliver``).

The in-app inbox is written in the same transaction that marks the row delivered, under the row's lock: it
happens exactly once. External channels (email, SMS, rest-hook) are sent between two transactions: the first
marks the row ``sending`` and counts the attempt, the second records the result. A worker that dies in between
leaves the row ``sending``; the broker (or the sweep) hands it out again and it is sent again with the same
idempotency key, which the receiver uses to drop the copy.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from ece import reads
from ece.errors import FhirError, Gone, NotFound
from ece.notifications import channels, inbox, subscriptions
from ece.notifications.channels import DeliveryError
from ece.notifications.config import Config, current
from ece.notifications.outbox import Channel, RowStatus
from ece.tx import Transaction, unit_of_work

MAX_DELIVERY_ATTEMPTS = 8
"""Attempts per row before it is ``failed``. The waits between attempts double from ECE_NOTIFY_RETRY_BASE_SECONDS
(default 10 s): 10 + 20 + 40 + 80 + 160 + 320 + 640 s = 1,270 s, about 21 minutes from first to last attempt."""


def retry_delay_seconds(attempts: int, base_seconds: float) -> float:
    """The wait after the ``attempts``-th failed attempt: base, 2 × base, 4 × base..."""
    return base_seconds * 2 ** (attempts - 1)


@dataclass(frozen=True)
class Outcome:
    state: str  # "delivered", "retry", "failed" or "skipped" (already delivered, failed, or unknown)
    retry_in_seconds: float | None = None


@dataclass
class Runtime:
    """What a delivering process holds: the database and one HTTP client (connection reuse)."""

    engine: AsyncEngine
    http: httpx.AsyncClient


_LOCK_ROW = text("SELECT * FROM notification_outbox WHERE id = :id FOR UPDATE")
_START = text("UPDATE notification_outbox SET status = 'sending', attempts = attempts + 1, "
              "next_attempt_at = now() + make_interval(secs => :lease) WHERE id = :id")
_DELIVERED = text("UPDATE notification_outbox SET status = 'delivered', delivered_at = :at WHERE id = :id")
_RETRY = text("UPDATE notification_outbox SET status = 'pending', attempts = :attempts, last_error = :error, "
              "next_attempt_at = now() + make_interval(secs => :delay) WHERE id = :id")
_FAILED = text("UPDATE notification_outbox SET status = 'failed', attempts = :attempts, last_error = :error "
               "WHERE id = :id")


async def lock_row(tx: Transaction, row_id: str) -> dict | None:
    row = (await tx.conn.execute(_LOCK_ROW, {"id": row_id})).mappings().first()
    return dict(row) if row is not None else None


async def deliver(runtime: Runtime, *, row_id: str) -> Outcome:
    config = current()
    async with unit_of_work(runtime.engine) as tx:
        row = await lock_row(tx, row_id)
        if row is None or row["status"] in (RowStatus.DELIVERED, RowStatus.FAILED):
            return Outcome("skipped")
        if row["channel"] == Channel.INBOX:
            return await _deliver_to_inbox(tx, row, config)
        # The lease: a row left "sending" by a dead worker is due for the sweep once the attempt's time is up.
        await tx.conn.execute(_START, {"id": row_id, "lease": config.timeout_seconds + config.sweep_grace_seconds})
        row["attempts"] += 1
        try:
            send = await _prepare(tx, row, config, runtime.http)
        except DeliveryError as error:  # nothing to send to any more (subscription gone): no retries
            await _fail(tx, row, str(error), write_record=False)
            return Outcome("failed")
    try:
        await send()
    except DeliveryError as error:
        async with unit_of_work(runtime.engine) as tx:
            return await _failed_attempt(tx, row_id, str(error), config)
    async with unit_of_work(runtime.engine) as tx:
        row = await lock_row(tx, row_id)
        if row is None or row["status"] != RowStatus.SENDING:
            return Outcome("skipped")
        await _delivered(tx, row)
    return Outcome("delivered")


async def _deliver_to_inbox(tx: Transaction, row: dict, config: Config) -> Outcome:
    try:
        async with tx.conn.begin_nested():
            await inbox.write(tx, row, status=inbox.UNREAD, received=datetime.now(UTC))
    except FhirError as error:  # the store refused the Communication: counted as a failed attempt
        row["attempts"] += 1
        return await _after_failure(tx, row, str(error), config)
    await tx.conn.execute(_DELIVERED, {"id": row["id"], "at": datetime.now(UTC)})
    return Outcome("delivered")


async def _prepare(tx: Transaction, row: dict, config: Config, http: httpx.AsyncClient):
    """The send of this row as a no-argument coroutine function, everything it needs read now."""
    if row["channel"] == Channel.EMAIL:
        return lambda: channels.send_email(row, config)
    if row["channel"] == Channel.SMS:
        return lambda: channels.send_sms(row, config, http)
    subscription = await subscriptions.current(tx, row["subscription_id"])
    if subscription is None or subscription.get("status") not in ("active", "error"):
        raise DeliveryError("La suscripción ya no está activa / the subscription is no longer active")
    channel = subscription.get("channel") or {}
    payload = channel.get("payload")
    body = b""
    if payload:
        kind, _, ident = row["about"].partition("/")
        try:
            version = await reads.vread(tx.conn, resource_type=kind, resource_id=ident,
                                        version_id=str(row["resource_version"]))
            body = version.content or b""
        except (NotFound, Gone):
            body = b""
    return lambda: channels.send_rest_hook(
        row, endpoint=channel.get("endpoint", row["address"]), headers=subscriptions.headers_of(subscription),
        body=body, content_type=payload.split(";")[0] if payload else None,
        secret=subscriptions.secret_of(subscription), config=config, client=http)


async def _delivered(tx: Transaction, row: dict) -> None:
    moment = datetime.now(UTC)
    await tx.conn.execute(_DELIVERED, {"id": row["id"], "at": moment})
    if row["last_error"] is not None and await inbox.exists(tx, row["id"]):  # a re-sent row: close its record
        await inbox.write(tx, row, status=inbox.READ, received=moment)
    if row["channel"] == Channel.REST_HOOK:
        await subscriptions.clear_error(tx, row["subscription_id"])


async def _failed_attempt(tx: Transaction, row_id: str, error: str, config: Config) -> Outcome:
    row = await lock_row(tx, row_id)
    if row is None or row["status"] != RowStatus.SENDING:
        return Outcome("skipped")
    return await _after_failure(tx, row, error, config)


async def _after_failure(tx: Transaction, row: dict, error: str, config: Config) -> Outcome:
    if row["attempts"] >= MAX_DELIVERY_ATTEMPTS:
        await _fail(tx, row, error, write_record=True)
        return Outcome("failed")
    delay = retry_delay_seconds(row["attempts"], config.retry_base_seconds)
    await tx.conn.execute(_RETRY, {"id": row["id"], "attempts": row["attempts"], "error": error, "delay": delay})
    if row["channel"] == Channel.REST_HOOK:
        await subscriptions.record_error(tx, row["subscription_id"], error, final=False)
    return Outcome("retry", delay)


async def _fail(tx: Transaction, row: dict, error: str, *, write_record: bool) -> None:
    """The row is ``failed``; coordinators find it as Communication/<row id> with status ``not-done``."""
    await tx.conn.execute(_FAILED, {"id": row["id"], "attempts": row["attempts"], "error": error})
    if not write_record:
        return
    if row["channel"] != Channel.INBOX:
        await inbox.write(tx, row, status=inbox.FAILED, received=None, reason=error)
    if row["channel"] == Channel.REST_HOOK:
        await subscriptions.record_error(tx, row["subscription_id"], error, final=True)
