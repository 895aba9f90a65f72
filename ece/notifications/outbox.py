"""The transactional outbox: one row per notice and channel, written in the caller's transaction.

A row is the unit of delivery and its id is the idempotency key the receiver sees (``Idempotency-Key``
header, email ``Message-ID``, the id of the in-app Communication). After commit each row id is handed to
the broker; rows the broker never took are found again by the sweep (``ece.notifications.sweep``).

Row states: ``pending`` (waiting for a worker, possibly until ``next_attempt_at`` after a failure),
``sending`` (a worker is delivering it; a crash leaves it here and the redelivered task sends again with
the same key), ``delivered`` and ``failed`` (attempts exhausted; ``$resend`` makes it ``pending`` again).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, DateTime, Index, Integer, Table, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB

from ece import fhirjson
from ece.notifications import config
from ece.schema import metadata
from ece.tx import Transaction


class Channel(StrEnum):
    INBOX = "inbox"  # a FHIR Communication in the recipient's in-app inbox
    EMAIL = "email"
    SMS = "sms"
    REST_HOOK = "rest-hook"  # an R4 Subscription's endpoint


class RowStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    DELIVERED = "delivered"
    FAILED = "failed"


outbox = Table(
    "notification_outbox",
    metadata,
    Column("id", Text, primary_key=True),
    Column("event", Text, nullable=False),
    Column("recipient", Text, nullable=False),
    Column("about", Text, nullable=False),
    Column("channel", Text, nullable=False),
    # inbox: the recipient reference; email: the address; sms: the number; rest-hook: the endpoint URL.
    Column("address", Text, nullable=False),
    Column("language", Text, nullable=False),
    Column("title_es", Text, nullable=False),
    Column("text_es", Text, nullable=False),
    Column("title_en", Text, nullable=False),
    Column("text_en", Text, nullable=False),
    # meta.tag codings of the resource the notice is about (health regions), copied to the Communication.
    Column("tags", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    # SMS: the referral number shown instead of any clinical detail.
    Column("reference_number", Text, nullable=True),
    # rest-hook: the Subscription, and the version of the resource that matched its criteria.
    Column("subscription_id", Text, nullable=True),
    Column("resource_version", Integer, nullable=True),
    Column("status", Text, nullable=False),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("delivered_at", DateTime(timezone=True), nullable=True),
    Column("last_error", Text, nullable=True),
    # Delivered rows are most of the table and nobody looks for them: the index holds only the others.
    Index("ix_notification_outbox_open", "status", "next_attempt_at", postgresql_where=text("status <> 'delivered'")),
)


def new_row_id() -> str:
    return str(uuid.uuid4())


_INSERT = text(
    "INSERT INTO notification_outbox (id, event, recipient, about, channel, address, language, title_es, text_es, "
    "title_en, text_en, tags, reference_number, subscription_id, resource_version, status) "
    "SELECT e->>'id', e->>'event', e->>'recipient', e->>'about', e->>'channel', e->>'address', e->>'language', "
    "e->>'title_es', e->>'text_es', e->>'title_en', e->>'text_en', coalesce(e->'tags', '[]'::jsonb), "
    "e->>'reference_number', e->>'subscription_id', CAST(e->>'resource_version' AS int), 'pending' "
    "FROM jsonb_array_elements(CAST(:rows AS jsonb)) AS e"
)


async def insert_rows(tx: Transaction, rows: list[dict]) -> list[str]:
    """Write ``rows`` (dicts of the columns above, ``id`` included) and queue their ids after commit."""
    if not rows:
        return []
    await tx.conn.execute(_INSERT, {"rows": fhirjson.dumps(rows).decode()})
    ids = [r["id"] for r in rows]
    tx.after_commit(lambda: queue(ids))
    return ids


def queue(ids: Sequence[str]) -> None:
    """Hand row ids to the broker; with no broker configured they wait for the sweep."""
    send = config.STATE.queue
    if send is not None and ids:
        send(list(ids))


async def oldest_undelivered(conn) -> tuple[datetime | None, int, int]:
    """(creation time of the oldest pending or sending row, how many are undelivered, how many failed)."""
    row = (await conn.execute(text(
        "SELECT min(created_at) FILTER (WHERE status IN ('pending', 'sending')), "
        "count(*) FILTER (WHERE status IN ('pending', 'sending')), count(*) FILTER (WHERE status = 'failed') "
        "FROM notification_outbox WHERE status <> 'delivered'"))).one()  # the partial index serves it
    return row[0], row[1], row[2]
