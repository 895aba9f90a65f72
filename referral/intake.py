"""A new referral opens its Task(s) in the same transaction (called from the store's flush hook, referral.hooks).

The ServiceRequest's requester gives the origin facility (Task.requester); each performer is a destination
(Task.owner) and gets its own Task: several performers are alternatives (an emergency offered to several
facilities; the first to accept takes it). Without a performer the deployment policy decides: the best candidate
of ``referral.routing`` (auto-route) or no owner, waiting in the regional coordinator's worklist. Task and
ServiceRequest carry the region-sanitaria tags of both ends; the Task carries its acceptance deadline.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from ece import fhirjson, store
from ece.errors import Issue, UnprocessableEntity
from ece.tx import Transaction
from referral import policy, provenance, records
from referral.machine import Business, Event, Status

# Ranks candidate destinations: (tx, service_request, limit) -> ["Organization/<id>", ...] best first.
# Set by the app wiring to referral.routing's ranking; without one, auto-route leaves referrals unassigned.
CandidateRanker = Callable[[Transaction, dict, int], Awaitable[list[str]]]
_ranker: CandidateRanker | None = None


def use_ranker(ranker: CandidateRanker | None) -> None:
    global _ranker
    _ranker = ranker


async def _parties(tx: Transaction, references: list[str | None]) -> list[str]:
    """The facilities behind requester or performer references. The store keeps references it cannot resolve
    (R4 does not require referential integrity), so such a reference stands for itself."""
    found = []
    for reference in references:
        if not reference:
            continue
        facility = await records.facility_of(tx, reference) or reference
        if facility not in found:
            found.append(facility)
    return found


async def rank(tx: Transaction, service_request: dict, *, limit: int) -> list[str]:
    """Candidate destinations, best first; none without a ranker."""
    if _ranker is None:
        return []
    return (await _ranker(tx, service_request, limit))[:limit]


async def _routed(tx: Transaction, service_request: dict) -> list[str]:
    rules = policy.current()
    if rules.unassigned != policy.Unassigned.AUTO_ROUTE:
        return []
    return await rank(tx, service_request, limit=rules.stat_offers if service_request.get("priority") == "stat"
                      else 1)


async def open_referral(tx: Transaction, *, service_request: dict, now: datetime | None = None) -> list[str]:
    """Create the Task(s) of a newly written referral ServiceRequest; answers their references."""
    if service_request.get("status") not in ("draft", "active"):
        return []
    moment = now or store.now()
    reference = f"ServiceRequest/{service_request['id']}"
    origins = await _parties(tx, [records.reference_of(service_request.get("requester"))])
    if not origins:
        raise UnprocessableEntity([Issue("required", "La referencia necesita requester / a referral needs its "
                                                     "requester", ("ServiceRequest.requester",))])
    origin = origins[0]
    destinations = await _parties(tx, [records.reference_of(p) for p in service_request.get("performer") or []])
    routed = not destinations and service_request.get("status") == "active"
    if routed:
        destinations = await _routed(tx, service_request)
    origin_region = await records.region_of(tx, origin)
    regions_of = {d: await records.region_of(tx, d) for d in destinations}
    all_regions = {r for r in (origin_region, *regions_of.values()) if r}
    draft = service_request.get("status") == "draft"
    deadline = moment + policy.current().accept_within(service_request.get("priority"))
    created = []
    for destination in destinations or [None]:
        business = Business.DRAFT if draft else (Business.SENT if destination else Business.UNASSIGNED)
        task: dict = {
            "resourceType": "Task", "meta": {"profile": [records.TASK_PROFILE]},
            "status": str(Status.DRAFT if draft else Status.REQUESTED), "intent": "order",
            "businessStatus": records.business_status(business),
            "priority": service_request.get("priority") or "routine",
            "focus": {"reference": reference}, "for": service_request.get("subject"),
            "authoredOn": fhirjson.instant(moment), "lastModified": fhirjson.instant(moment),
            "requester": {"reference": origin},
        }
        if destination:
            task["owner"] = {"reference": destination}
        regions = {r for r in (origin_region, regions_of.get(destination) if destination else None) if r}
        if not destination:
            regions = all_regions
        task = records.with_region_tags(task, regions)
        if not draft:
            task = records.with_deadline(task, deadline)
        result = await store.create(tx, data=task)
        created.append(f"Task/{result.id}")
        step = provenance.Step(str(Event.SEND), f"Task/{result.id}", result.version_id, reference, None,
                               (task["status"], str(business)), moment)
        agent = {"type": {"coding": [{"system": provenance.PARTICIPANT_TYPE, "code": "author"}]},
                 "who": service_request.get("requester"), "onBehalfOf": {"reference": origin}}
        await store.create(tx, data=provenance.provenance(step, agent))
    tagged = records.with_region_tags(service_request, all_regions)
    if routed and destinations:
        tagged["performer"] = [{"reference": d} for d in destinations]
    if tagged != service_request:
        await store.update(tx, resource_type="ServiceRequest", resource_id=service_request["id"], data=tagged)
    return created
