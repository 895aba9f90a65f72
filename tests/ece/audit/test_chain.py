"""The hash chain of the audit trail: intact when written, broken on purpose and detected at the right link."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from ece import fhirjson
from ece.access import Actor, Role
from ece.audit import Access, Event, verify
from ece.audit.chain import append
from ece.audit.events import to_resource

CLINICIAN = Access(Actor(subject="dra-lopez", role=Role.CLINICIAN, facility="Organization/hosp-1"), "Dra. López",
                   "10.0.0.7")
MOMENT = datetime(2026, 11, 29, 13, 0, tzinfo=UTC)


def events(count: int) -> list[Event]:
    return [Event(CLINICIAN, "read", entities=[f"Observation/obs-{n}"], patients={f"pac-{n}"}, recorded=MOMENT)
            for n in range(count)]


async def test_appended_batches_make_one_intact_chain(tx):
    await append(tx.conn, events(3))
    await append(tx.conn, events(2))

    report = await verify(tx.conn)

    assert (report.intact, report.checked) == (True, 5)


async def test_each_event_is_stored_as_written_and_in_order(tx):
    """Quotes, backslashes, accents and control characters in an event survive the trip to the table."""
    tricky = [Event(CLINICIAN, "operation", outcome="4", description=text_, recorded=MOMENT) for text_ in
              ('comillas "dobles" y \\barra\\', "acentos: López, niño; tab\tsalto\nfin", "{llaves},[corchetes]")]

    await append(tx.conn, [*events(2), *tricky])

    stored = (await tx.conn.execute(text("SELECT content FROM audit_event ORDER BY seq"))).scalars().all()
    assert stored == [fhirjson.dumps(to_resource(e)).decode() for e in [*events(2), *tricky]]
    assert (await verify(tx.conn)).intact


async def test_the_application_cannot_update_or_delete_an_audit_row(tx):
    await append(tx.conn, events(1))

    with pytest.raises(DBAPIError, match="solo anexado"):
        async with tx.conn.begin_nested():
            await tx.conn.execute(text("UPDATE audit_event SET content = '{}' WHERE seq = 1"))
    with pytest.raises(DBAPIError, match="solo anexado"):
        async with tx.conn.begin_nested():
            await tx.conn.execute(text("DELETE FROM audit_event WHERE seq = 1"))


async def _bypassing_the_trigger(tx, statement: str) -> None:
    """What a superuser could do: switch the triggers off and edit the table."""
    await tx.conn.execute(text("SET LOCAL session_replication_role = replica"))
    await tx.conn.execute(text(statement))
    await tx.conn.execute(text("SET LOCAL session_replication_role = origin"))


async def test_an_edited_row_is_named_as_the_first_broken_link(tx):
    await append(tx.conn, events(5))
    await _bypassing_the_trigger(tx, "UPDATE audit_event SET content = replace(content, 'dra-lopez', 'otra') "
                                     "WHERE seq = 3")

    report = await verify(tx.conn)

    assert (report.intact, report.broken_at, report.checked) == (False, 3, 2)
    assert "alterado" in report.reason


async def test_a_row_removed_from_the_middle_is_detected(tx):
    await append(tx.conn, events(4))
    await _bypassing_the_trigger(tx, "DELETE FROM audit_event WHERE seq = 2")

    report = await verify(tx.conn)

    assert (report.broken_at, report.checked) == (2, 1)


async def test_rows_removed_from_the_end_are_detected_by_the_head(tx):
    await append(tx.conn, events(4))
    await _bypassing_the_trigger(tx, "DELETE FROM audit_event WHERE seq = 4")

    report = await verify(tx.conn)

    assert not report.intact and report.broken_at == 4


async def test_a_hidden_patient_is_detected(tx):
    """Removing a patient from a row would hide the access from their log: the hash covers the patients too."""
    await append(tx.conn, events(2))
    await _bypassing_the_trigger(tx, "UPDATE audit_event SET patients = '{}' WHERE seq = 1")

    assert (await verify(tx.conn)).broken_at == 1
