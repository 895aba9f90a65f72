"""Deadlines with a frozen clock: every sweep is given its ``now``, relative to when the referral was sent."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from ece import fhirjson, reads, store
from referral import deadlines, intake, lifecycle, policy
from referral.machine import Event
from tests.referral import factories as f
from tests.referral.test_lifecycle import NOW, _business, _open, _provenances, _read


async def _sent_at(tx, task_id: str) -> datetime:
    return datetime.fromisoformat((await _read(tx, f"Task/{task_id}"))["authoredOn"])


@pytest.fixture
def ranker():
    """A ranking that always proposes the national hospital, then the regional one."""
    async def rank(tx, service_request, limit):
        return [f.NATIONAL_HOSPITAL, f.DESTINATION][:limit]

    wired = intake._ranker  # the app's ranking (referral.routing), put back afterwards
    intake.use_ranker(rank)
    yield rank
    intake.use_ranker(wired)


async def test_a_referral_is_overdue_only_after_its_acceptance_deadline(tx):
    _sr, [task_id] = await _open(tx, priority="urgent")
    sent = await _sent_at(tx, task_id)
    assert task_id not in await deadlines.overdue(tx, now=sent + timedelta(hours=23, minutes=59))
    assert task_id in await deadlines.overdue(tx, now=sent + timedelta(hours=24, minutes=1))


async def test_an_emergency_has_thirty_minutes_to_be_accepted(tx):
    _sr, [task_id] = await _open(tx, priority="stat")
    sent = await _sent_at(tx, task_id)
    assert task_id not in await deadlines.overdue(tx, now=sent + timedelta(minutes=29))
    assert task_id in await deadlines.overdue(tx, now=sent + timedelta(minutes=31))


async def test_marking_overdue_keeps_the_status_records_it_and_happens_once(tx):
    _sr, [task_id] = await _open(tx)
    late = await _sent_at(tx, task_id) + timedelta(days=2)
    assert await deadlines.mark_overdue(tx, task_id=task_id, now=late)
    task = await _read(tx, f"Task/{task_id}")
    assert (task["status"], _business(task)) == ("requested", "aceptacion-vencida")
    trail = await _provenances(tx, task_id)
    assert trail[-1]["activity"]["coding"][0]["code"] == "mark-overdue"
    assert trail[-1]["agent"][0]["who"]["display"].startswith("Motor de referencia")
    assert task_id not in await deadlines.overdue(tx, now=late)
    assert not await deadlines.mark_overdue(tx, task_id=task_id, now=late)


async def test_an_overdue_referral_can_still_be_accepted(tx):
    _sr, [task_id] = await _open(tx)
    await deadlines.mark_overdue(tx, task_id=task_id, now=await _sent_at(tx, task_id) + timedelta(days=2))
    await lifecycle.fire(tx, task_id=task_id, event=Event.ACCEPT, actor=f.DESTINATION_CLINICIAN)
    assert (await _read(tx, f"Task/{task_id}"))["status"] == "accepted"


async def test_an_accepted_referral_not_attended_in_time_is_marked_attention_overdue(tx):
    _sr, [task_id] = await _open(tx, priority="urgent")
    accepted = await lifecycle.fire(tx, task_id=task_id, event=Event.ACCEPT, actor=f.DESTINATION_CLINICIAN, now=NOW)
    deadline = datetime.fromisoformat(fhirjson.loads(accepted.task.content)["restriction"]["period"]["end"])
    assert deadline == NOW + timedelta(days=3)
    assert task_id not in await deadlines.overdue(tx, now=deadline - timedelta(minutes=1))
    [found] = await deadlines.overdue(tx, now=deadline + timedelta(minutes=1))
    assert await deadlines.mark_overdue(tx, task_id=found, now=deadline + timedelta(minutes=1))
    task = await _read(tx, f"Task/{task_id}")
    assert (task["status"], _business(task)) == ("accepted", "atencion-vencida")


async def test_a_referral_answered_in_time_is_never_overdue(tx):
    _sr, [task_id] = await _open(tx)
    for event in (Event.ACCEPT, Event.ARRIVE):
        await lifecycle.fire(tx, task_id=task_id, event=event, actor=f.DESTINATION_CLINICIAN)
    assert task_id not in await deadlines.overdue(tx, now=store.now() + timedelta(days=365))


async def test_the_policy_may_redirect_an_unaccepted_referral_to_the_next_candidate(tx, ranker):
    policy.configure(policy.Policy(redirect_when_overdue=True))
    sr_id, [task_id] = await _open(tx)
    await deadlines.mark_overdue(tx, task_id=task_id, now=await _sent_at(tx, task_id) + timedelta(days=2))
    old = await _read(tx, f"Task/{task_id}")
    assert (old["status"], _business(old)) == ("cancelled", "redirigida")
    trail = await _provenances(tx, task_id)
    assert [p["activity"]["coding"][0]["code"] for p in trail] == ["send", "mark-overdue", "redirect"]
    replaced = await _read(tx, f"ServiceRequest/{sr_id}")
    assert replaced["status"] == "revoked"


async def test_without_the_policy_an_overdue_referral_stays_with_its_destination(tx, ranker):
    _sr, [task_id] = await _open(tx)
    await deadlines.mark_overdue(tx, task_id=task_id, now=await _sent_at(tx, task_id) + timedelta(days=2))
    assert (await _read(tx, f"Task/{task_id}"))["owner"] == {"reference": f.DESTINATION}


async def test_the_sweep_query_lists_the_most_overdue_first(tx):
    _sr, [first] = await _open(tx, priority="routine")
    _sr, [second] = await _open(tx, priority="stat")
    later = store.now() + timedelta(days=4)
    found = await deadlines.overdue(tx, now=later)
    assert found.index(second) < found.index(first)
    assert (await reads.read(tx.conn, resource_type="Task", resource_id=first)).version_id == 1  # a search only
