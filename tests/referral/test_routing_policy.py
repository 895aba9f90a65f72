"""Referrals sent without a destination (regional worklist or auto-route) and emergencies offered to several
facilities at once: the first to accept takes it, the others are withdrawn."""

from __future__ import annotations

import asyncio

import pytest

from ece import search, store
from ece.access import Actor, Forbidden, Role
from ece.errors import Conflict
from fhir_profiles import systems as s
from referral import intake, lifecycle, policy
from referral.inputs import Inputs
from referral.machine import Event
from tests.referral import factories as f
from tests.referral.test_lifecycle import NOW, _business, _open, _provenances, _read

THIRD = "Organization/hospital-gracias"


@pytest.fixture
def ranker():
    """Ranks the regional hospital, then the national one, then a third."""
    async def rank(tx, service_request, limit):
        return [f.DESTINATION, f.NATIONAL_HOSPITAL, THIRD][:limit]

    intake.use_ranker(rank)
    yield rank
    intake.use_ranker(None)


async def test_without_a_destination_the_referral_waits_in_the_regional_worklist(tx):
    sr_id, [task_id] = await _open(tx, performers=())
    task = await _read(tx, f"Task/{task_id}")
    assert (task["status"], _business(task)) == ("requested", "pendiente-asignacion") and "owner" not in task
    assert task["meta"]["tag"] == [{"system": s.CS_HEALTH_REGION, "code": "10"}]
    with pytest.raises(Forbidden):
        await lifecycle.fire(tx, task_id=task_id, event=Event.ASSIGN, actor=f.COORDINATOR_05,
                             inputs=Inputs(destination=f.NATIONAL_HOSPITAL))
    await lifecycle.fire(tx, task_id=task_id, event=Event.ASSIGN, actor=f.COORDINATOR_10,
                         inputs=Inputs(destination=f.NATIONAL_HOSPITAL), now=NOW)
    assigned = await _read(tx, f"Task/{task_id}")
    assert (assigned["status"], _business(assigned)) == ("requested", "enviada")
    assert assigned["owner"] == {"reference": f.NATIONAL_HOSPITAL}
    assert [t["code"] for t in assigned["meta"]["tag"]] == ["10", "19"]
    referral = await _read(tx, f"ServiceRequest/{sr_id}")
    assert referral["performer"] == [{"reference": f.NATIONAL_HOSPITAL}]


async def test_auto_route_sends_to_the_best_candidate(tx, ranker):
    policy.configure(policy.Policy(unassigned=policy.Unassigned.AUTO_ROUTE))
    sr_id, [task_id] = await _open(tx, performers=())
    task = await _read(tx, f"Task/{task_id}")
    assert task["owner"] == {"reference": f.DESTINATION} and _business(task) == "enviada"
    assert (await _read(tx, f"ServiceRequest/{sr_id}"))["performer"] == [{"reference": f.DESTINATION}]


async def test_without_destination_a_routine_referral_is_not_routed_under_the_regional_worklist(tx, ranker):
    _sr, [task_id] = await _open(tx, performers=(), priority="routine")
    assert "owner" not in await _read(tx, f"Task/{task_id}")


async def test_auto_route_without_candidates_leaves_it_to_the_region(tx):
    policy.configure(policy.Policy(unassigned=policy.Unassigned.AUTO_ROUTE))
    _sr, [task_id] = await _open(tx, performers=())
    assert _business(await _read(tx, f"Task/{task_id}")) == "pendiente-asignacion"


async def test_an_emergency_is_offered_to_several_and_the_first_to_accept_takes_it(tx, ranker):
    policy.configure(policy.Policy(unassigned=policy.Unassigned.REGIONAL_WORKLIST, stat_offers=2))
    await store.update(tx, resource_type="Organization", resource_id="hospital-gracias", data={
        "resourceType": "Organization", "id": "hospital-gracias", "name": "Hospital de Gracias"})
    sr_id, tasks = await _open(tx, performers=(), priority="stat")
    assert len(tasks) == 2
    owners = {(await _read(tx, f"Task/{t}"))["owner"]["reference"]: t for t in tasks}
    assert set(owners) == {f.DESTINATION, f.NATIONAL_HOSPITAL}
    await lifecycle.fire(tx, task_id=owners[f.NATIONAL_HOSPITAL], event=Event.ACCEPT, actor=f.NATIONAL_CLINICIAN)
    withdrawn = await _read(tx, f"Task/{owners[f.DESTINATION]}")
    assert (withdrawn["status"], _business(withdrawn)) == ("cancelled", "retirada")
    assert (await _provenances(tx, owners[f.DESTINATION]))[-1]["activity"]["coding"][0]["code"] == "withdraw"
    assert (await _read(tx, f"ServiceRequest/{sr_id}"))["performer"] == [{"reference": f.NATIONAL_HOSPITAL}]
    with pytest.raises(Conflict):
        await lifecycle.fire(tx, task_id=owners[f.DESTINATION], event=Event.ACCEPT, actor=f.DESTINATION_CLINICIAN)


async def test_a_referral_with_several_destinations_is_offered_to_each(tx):
    _sr, tasks = await _open(tx, performers=(f.DESTINATION, f.NATIONAL_HOSPITAL), priority="stat")
    assert len(tasks) == 2
    for task_id in tasks:
        task = await _read(tx, f"Task/{task_id}")
        assert task["status"] == "requested" and len(task["meta"]["tag"]) in (1, 2)


async def test_two_facilities_accepting_offers_of_one_referral_at_once_are_serialised(engine):
    """Committed data (separate connections): one acceptance wins, the other answers 409, no deadlock."""
    from ece.tx import unit_of_work

    async with unit_of_work(engine) as tx:
        await f.network(tx)
        await store.update(tx, resource_type="Organization", resource_id="hospital-gracias", data={
            "resourceType": "Organization", "id": "hospital-gracias", "name": "Hospital de Gracias"})
        created = await store.create(tx, data=f.referral(performers=(f.DESTINATION, THIRD), priority="routine"))
        tasks = await search.matching_ids(tx.conn, resource_type="Task", query=f"focus=ServiceRequest/{created.id}",
                                          limit=5)
    by_owner = {}
    async with unit_of_work(engine) as tx:
        for task_id in tasks:
            by_owner[(await _read(tx, f"Task/{task_id}"))["owner"]["reference"]] = task_id
    third = Actor(subject="dr.gracias", role=Role.CLINICIAN, facility=THIRD)

    async def accept(task_id, actor):
        async with unit_of_work(engine) as tx:
            await lifecycle.fire(tx, task_id=task_id, event=Event.ACCEPT, actor=actor)

    outcomes = await asyncio.gather(accept(by_owner[f.DESTINATION], f.DESTINATION_CLINICIAN),
                                    accept(by_owner[THIRD], third), return_exceptions=True)
    assert sorted(type(o).__name__ for o in outcomes) == ["Conflict", "NoneType"]
    async with unit_of_work(engine) as tx:
        statuses = sorted([(await _read(tx, f"Task/{t}"))["status"] for t in tasks])
    assert statuses == ["accepted", "cancelled"]
