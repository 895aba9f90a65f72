"""A new referral opens its Task(s) in the same transaction (called from the store's flush hook, referral.hooks).

The ServiceRequest's requester gives the origin facility (Task.requester); each performer is a destination
(Task.owner) and gets its own Task: several performers are alternatives (an emergency offered to several
facilities; the first to accept takes it). Without a performer the deployment policy decides: the best candidate
of ``referral.routing`` (auto-route) or no owner, waiting in the regional coordinator's worklist; an emergency
(``stat``) is offered to the best few candidates whatever the setting. Task and
ServiceRequest carry the region-sanitaria tags of both ends; the Task carries its acceptance deadline.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from ece import fhirjson, store
from ece.errors import Gone, Issue, NotFound, UnprocessableEntity
from ece.tx import Transaction
from referral import notifications, policy, provenance, records, routing, summary
from referral.machine import Business, Event, Status

log = logging.getLogger(__name__)
SUMMARY_DISPLAY = "Resumen clínico del paciente / patient clinical summary"

# Ranks candidate destinations: (tx, service_request, limit) -> ["Organization/<id>", ...] best first.
CandidateRanker = Callable[[Transaction, dict, int], Awaitable[list[str]]]


async def directory_ranking(tx: Transaction, service_request: dict, limit: int) -> list[str]:
    """referral.routing's ranking of the directory, accepting facilities only. A referral it cannot rank (its
    origin is not a facility of the directory) has no candidates: policy then leaves it to the region's
    coordinators."""
    try:
        async with tx.conn.begin_nested():
            return await routing.ranked_destinations(tx, service_request, limit)
    except (NotFound, Gone, UnprocessableEntity) as refused:
        log.info("no candidates for ServiceRequest/%s: %s", service_request.get("id"), refused)
        return []


_ranker: CandidateRanker = directory_ranking


def use_ranker(ranker: CandidateRanker | None) -> None:
    """Replace the ranking (tests, deployments with their own); None restores the directory's."""
    global _ranker
    _ranker = ranker or directory_ranking


async def with_summary(tx: Transaction, service_request: dict, *, now: datetime | None = None) -> dict:
    """``service_request`` with the patient's clinical summary (referral.summary, a document Bundle) added to its
    supportingInfo. Without a stored patient or referring facility there is nothing to summarise."""
    patient = records.reference_of(service_request.get("subject"))
    requester = records.reference_of(service_request.get("requester"))
    if not patient or not requester:
        return service_request
    try:
        async with tx.conn.begin_nested():
            document = await summary.compile_summary(tx, patient=patient, requester=requester, at=now)
    except (NotFound, Gone, UnprocessableEntity) as refused:
        log.info("no summary for ServiceRequest/%s: %s", service_request.get("id"), refused)
        return service_request
    supporting = [*service_request.get("supportingInfo", []),
                  {"reference": f"Bundle/{document.id}", "display": SUMMARY_DISPLAY}]
    return {**service_request, "supportingInfo": supporting}


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
    """Candidate destinations, best first."""
    return (await _ranker(tx, service_request, limit))[:limit]


async def _routed(tx: Transaction, service_request: dict) -> list[str]:
    """Destinations for a referral sent without one. An emergency cannot wait for a coordinator: it is offered to
    the best ``stat_offers`` candidates whatever the setting; others go to the best candidate under auto-route."""
    rules = policy.current()
    if service_request.get("priority") == "stat":
        return await rank(tx, service_request, limit=rules.stat_offers)
    if rules.unassigned == policy.Unassigned.AUTO_ROUTE:
        return await rank(tx, service_request, limit=1)
    return []


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
        await notifications.opened(tx, task={**task, "id": result.id}, service_request=service_request)
        step = provenance.Step(str(Event.SEND), f"Task/{result.id}", result.version_id, reference, None,
                               (task["status"], str(business)), moment,
                               patient=records.reference_of(service_request.get("subject")))
        agent = {"type": {"coding": [{"system": provenance.PARTICIPANT_TYPE, "code": "author"}]},
                 "who": service_request.get("requester"), "onBehalfOf": {"reference": origin}}
        await store.create(tx, data=provenance.provenance(step, agent))
    tagged = records.with_region_tags(service_request, all_regions)
    if routed and destinations:
        tagged["performer"] = [{"reference": d} for d in destinations]
    if not draft:
        tagged = await with_summary(tx, tagged, now=moment)
    if tagged != service_request:
        await store.update(tx, resource_type="ServiceRequest", resource_id=service_request["id"], data=tagged)
    return created
