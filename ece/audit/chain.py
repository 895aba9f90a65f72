"""The append-only audit table and its hash chain.

Each row's hash is SHA-256 over the previous row's hash, its sequence number, the patients it concerns and
its AuditEvent JSON; ``audit_chain_head`` holds the last link. Appending (the ``audit_append`` function of
the migration, one round trip) takes the head row's lock, so links are made one transaction at a time, and
only for as long as the batch insert and the commit take.
An edited, deleted or inserted row breaks every link from it on; ``verify`` names the first one.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from ece import fhirjson
from ece.audit.events import Event, to_resource

# The contents travel as one JSON array of strings, unpacked in order by PostgreSQL: as a text[] parameter psycopg
# would write an array literal, escaping each of an AuditEvent's ~150 quotes through a regex callback (~0.1 ms of
# CPU per audited request, bench/api_cpu.py).
_APPEND = text("SELECT audit_append(CAST(:recorded AS timestamptz[]), CAST(:patients AS text[]), "
               "ARRAY(SELECT c FROM json_array_elements_text(CAST(:contents AS json)) WITH ORDINALITY AS e(c, n) "
               "ORDER BY n), :async_commit)")


def link(previous: str, seq: int, patients: str, content: str) -> str:
    """The hash of one link, as the migration's ``audit_append`` computes it in the database."""
    return hashlib.sha256(f"{previous}\n{seq}\n{patients}\n{content}".encode()).hexdigest()


async def append(conn: AsyncConnection, events: list[Event], *, async_commit: bool = False) -> None:
    """One statement: the database links the batch under the head row's lock. The AuditEvent's id is its
    sequence number, added when it is read (it is not known before the lock is taken)."""
    await conn.execute(_APPEND, {
        "recorded": [e.recorded for e in events],
        "patients": [",".join(sorted(e.patients)) for e in events],
        "contents": orjson.dumps([fhirjson.dumps(to_resource(e)).decode() for e in events]).decode(),
        "async_commit": async_commit,
    })


@dataclass(frozen=True)
class ChainReport:
    checked: int
    broken_at: int | None  # the seq of the first broken link
    reason: str | None

    @property
    def intact(self) -> bool:
        return self.broken_at is None


async def verify(conn: AsyncConnection) -> ChainReport:
    """Walk the chain from the first row; stop at the first row whose link does not hold."""
    previous, expected, checked = "", 1, 0
    result = await conn.stream(text("SELECT seq, patients, content, hash FROM audit_event ORDER BY seq"))
    async for seq, row_patients, content, stored in result:
        if seq != expected:
            return ChainReport(checked, expected, f"falta el eslabón {expected} / link {expected} is missing")
        if link(previous, seq, ",".join(row_patients), content) != stored:
            return ChainReport(checked, seq, f"el eslabón {seq} fue alterado / link {seq} was altered")
        previous, expected, checked = stored, seq + 1, checked + 1
    head_seq, head_hash = (await conn.execute(text("SELECT seq, hash FROM audit_chain_head WHERE id = 1"))).one()
    if head_seq != checked or head_hash != previous:
        return ChainReport(checked, checked + 1 if head_seq > checked else checked,
                           f"la cabeza de la cadena ({head_seq}) no es el último eslabón ({checked}) / the chain "
                           "head is not the last link (rows removed at the end?)")
    return ChainReport(checked, None, None)
