"""Each transition notifies the party that must act or know, in the same transaction (outbox rows)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text

from ece.errors import Conflict
from fhir_profiles import systems as s
from referral import deadlines, lifecycle
from referral.inputs import Inputs
from referral.machine import Event
from tests.referral import factories as f
from tests.referral.test_deadlines import _sent_at
from tests.referral.test_lifecycle import _open


async def _notices(tx, task_id: str) -> list[tuple[str, str, str]]:
    rows = await tx.conn.execute(text("SELECT DISTINCT event, recipient, text_es FROM notification_outbox "
                                      "WHERE about = :about ORDER BY event, recipient"), {"about": f"Task/{task_id}"})
    return [tuple(r) for r in rows]


async def test_the_destination_hears_of_a_new_referral(tx):
    _sr, [task_id] = await _open(tx)
    assert await _notices(tx, task_id) == [
        ("referral.received", f.DESTINATION, "Llegó la referencia REF-2026-000123 de UAPS La Esperanza.")]


async def test_the_origin_hears_of_acceptance_rejection_and_the_response(tx):
    _sr, [task_id] = await _open(tx)
    await lifecycle.fire(tx, task_id=task_id, event=Event.ACCEPT, actor=f.DESTINATION_CLINICIAN)
    await lifecycle.fire(tx, task_id=task_id, event=Event.ARRIVE, actor=f.DESTINATION_CLINICIAN)
    await lifecycle.fire(tx, task_id=task_id, event=Event.RESPOND, actor=f.DESTINATION_CLINICIAN,
                         inputs=Inputs(response=f.response()))
    to_origin = [n for n in await _notices(tx, task_id) if n[1] == f.ORIGIN]
    assert [n[0] for n in to_origin] == ["referral.accepted", "referral.answered"]
    _sr, [other] = await _open(tx)
    await lifecycle.fire(tx, task_id=other, event=Event.REJECT, actor=f.DESTINATION_CLINICIAN,
                         inputs=Inputs(reason=f.reason(s.CS_REJECTION_REASON, "sin-camas")))
    assert ("referral.rejected", f.ORIGIN) in [n[:2] for n in await _notices(tx, other)]


async def test_the_patient_hears_of_the_appointment_without_clinical_detail(tx):
    _sr, [task_id] = await _open(tx)
    await lifecycle.fire(tx, task_id=task_id, event=Event.ACCEPT, actor=f.DESTINATION_CLINICIAN)
    await lifecycle.fire(tx, task_id=task_id, event=Event.SCHEDULE, actor=f.DESTINATION_CLINICIAN,
                         inputs=Inputs(start="2026-12-02T08:00:00-06:00"))
    [appointment] = [n for n in await _notices(tx, task_id) if n[1] == f.PATIENT]
    assert appointment == ("referral.appointment", f.PATIENT, "Tiene una cita en Hospital Regional de La Esperanza "
                                                              "el 2026-12-02 08:00. Lleve su DNI.")


async def test_the_coordinators_of_the_region_hear_of_a_missed_deadline(tx):
    _sr, [task_id] = await _open(tx, performers=(f.NATIONAL_HOSPITAL,))
    await deadlines.mark_overdue(tx, task_id=task_id, now=await _sent_at(tx, task_id) + timedelta(days=2))
    overdue = sorted(n[1] for n in await _notices(tx, task_id) if n[0] == "referral.overdue")
    assert overdue == ["region:10", "region:19"]


async def test_a_referral_without_destination_is_announced_to_the_region(tx):
    _sr, [task_id] = await _open(tx, performers=())
    assert [n[:2] for n in await _notices(tx, task_id)] == [("referral.unassigned", "region:10")]


async def test_a_cancellation_reaches_the_destination(tx):
    _sr, [task_id] = await _open(tx)
    await lifecycle.fire(tx, task_id=task_id, event=Event.CANCEL, actor=f.ORIGIN_CLINICIAN,
                         inputs=Inputs(reason=f.reason(s.CS_CANCELLATION_REASON, "paciente-mejoro")))
    assert ("referral.cancelled", f.DESTINATION) in [n[:2] for n in await _notices(tx, task_id)]


async def test_a_refused_transition_notifies_nobody(tx):
    _sr, [task_id] = await _open(tx)
    before = await _notices(tx, task_id)
    with pytest.raises(Conflict):
        await lifecycle.fire(tx, task_id=task_id, event=Event.ARRIVE, actor=f.DESTINATION_CLINICIAN)
    assert await _notices(tx, task_id) == before
