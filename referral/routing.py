"""Routing a referral: which facilities could take it, best first, and why (issue 7 §2, ``ServiceRequest/$route``).

Only active services that offer what the ServiceRequest asks for are candidates: the specialty in
``performerType`` (especialidad) and the service in ``code`` (servicio-referencia). Each candidate starts from
``BASE_POINTS`` and gains or loses named amounts, every one of them stated in its reasons (Spanish / English):

- the simplest facility type that can resolve it first: ``POINTS_PER_COMPLEXITY_STEP`` lost per type step above
  the simplest type among the candidates (UAPS < CIS < policlínico < hospital básico < general < nacional);
- the origin's network (red-servicios) and then its health region first;
- distance from the origin facility's Location (haversine), weighted more for emergencies;
- accepting referrals now (acepta-referencias): one that is not loses ``POINTS_NOT_ACCEPTING``;
- current load: open referral Tasks owned by the facility.

Ties are broken by the Organization id, so the same data always ranks the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from ece.access import Actor, Forbidden, Role
from ece.errors import BadRequest, Issue, UnprocessableEntity
from ece.tx import Transaction
from fhir_profiles import systems
from referral import directory
from referral.directory import Facility, Service

BASE_POINTS = 100.0
POINTS_PER_COMPLEXITY_STEP = 12.0
POINTS_SAME_NETWORK = 15.0
POINTS_SAME_REGION = 10.0
POINTS_LOST_PER_10_KM = 1.0  # routine and urgent referrals
EMERGENCY_DISTANCE_FACTOR = 4.0  # asap and stat: every 10 km costs four times as much
POINTS_UNKNOWN_DISTANCE = 10.0  # a facility without coordinates counts as ~100 km away
POINTS_NOT_ACCEPTING = 60.0
POINTS_PER_OPEN_REFERRAL = 0.5
MAX_LOAD_PENALTY_POINTS = 20.0
EMERGENCY_PRIORITIES = frozenset({"asap", "stat"})


@dataclass(frozen=True)
class Candidate:
    organization: str  # "Organization/<id>"
    location: str | None  # "Location/<id>"
    healthcare_service: str  # "HealthcareService/<id>"
    score: float
    reasons: list[str] = field(default_factory=list)  # "Spanish / English"
    name: str = ""
    distance_km: float | None = None
    open_referrals: int = 0
    accepting: bool = True


@dataclass(frozen=True)
class Request:
    """What a ServiceRequest asks for, as routing needs it."""

    specialty: str | None
    service: str | None
    priority: str
    requester: str

    @classmethod
    def of(cls, service_request: dict) -> Request:
        specialties = _codes(service_request.get("performerType"), systems.CS_SPECIALTY)
        services = _codes(service_request.get("code"), systems.CS_REFERRAL_SERVICE)
        requester = (service_request.get("requester") or {}).get("reference")
        if not specialties and not services:
            raise UnprocessableEntity([Issue("required", "La referencia no dice qué servicio o especialidad pide / "
                                                         "the referral names no service or specialty",
                                             ("ServiceRequest.code", "ServiceRequest.performerType"))])
        if not requester:
            raise UnprocessableEntity([Issue("required", "La referencia no tiene solicitante / the referral has no "
                                                         "requester", ("ServiceRequest.requester",))])
        return cls(specialties[0] if specialties else None, services[0] if services else None,
                   service_request.get("priority", "routine"), requester)


def _codes(concept: dict | list | None, system: str) -> list[str]:
    concepts = concept if isinstance(concept, list) else [concept] if concept else []
    return [c["code"] for item in concepts for c in item.get("coding") or ()
            if c.get("system") == system and c.get("code")]


async def rank_candidates(tx: Transaction, *, service_request: dict, limit: int = 10) -> list[Candidate]:
    """The facilities that could take the referral, best first, at most ``limit`` (one per facility)."""
    wanted = Request.of(service_request)
    origin_ref = await directory.origin_facility(tx, requester=wanted.requester)
    offering = [s for s in await directory.services_offering(tx, specialty=wanted.specialty, service=wanted.service)
                if s.facility != origin_ref]
    known = await directory.facilities(tx, organizations=[origin_ref, *(s.facility for s in offering)])
    origin = known.get(origin_ref)
    by_facility = _best_service_per_facility([s for s in offering if s.facility in known
                                              and known[s.facility].active])
    if not by_facility or limit <= 0:
        return []
    accepting = [f for f, s in by_facility.items() if s.accepting]
    simplest = min(known[f].complexity for f in accepting or by_facility)
    emergency = wanted.priority in EMERGENCY_PRIORITIES
    unloaded = sorted((_score(known[ref], service, origin, simplest=simplest, load=0, emergency=emergency)
                       for ref, service in by_facility.items()), key=lambda c: (-c.score, c.organization))
    # Load costs at most MAX_LOAD_PENALTY_POINTS: a candidate scoring less than the limit-th best minus that
    # cannot reach the top ``limit``, so its load is never counted (one count query per candidate saved).
    bar = unloaded[min(limit, len(unloaded)) - 1].score - MAX_LOAD_PENALTY_POINTS
    candidates = []
    for first in (c for c in unloaded if c.score >= bar):
        load = await directory.open_referrals(tx, organization=first.organization)
        candidates.append(_score(known[first.organization], by_facility[first.organization], origin,
                                 simplest=simplest, load=load, emergency=emergency))
    candidates.sort(key=lambda c: (-c.score, c.organization))
    return candidates[:limit]


def _best_service_per_facility(services: list[Service]) -> dict[str, Service]:
    """One service per facility: an accepting one over one that is not, then the lowest id."""
    best: dict[str, Service] = {}
    for service in sorted(services, key=lambda s: (not s.accepting, s.reference)):
        best.setdefault(service.facility, service)
    return best


def _score(candidate: Facility, service: Service, origin: Facility | None, *, simplest: int, load: int,
           emergency: bool) -> Candidate:
    score = BASE_POINTS
    reasons = [f"Ofrece {service.name or 'el servicio'} / offers {service.name or 'the service'}"]
    steps = max(candidate.complexity - simplest, 0)
    if steps == 0:
        reasons.append("Nivel más sencillo que lo resuelve / simplest level that can resolve it")
    else:
        lost = steps * POINTS_PER_COMPLEXITY_STEP
        score -= lost
        reasons.append(f"Establecimiento más complejo de lo necesario ({steps} escalón/es, -{lost:g}) / more complex "
                       f"than needed ({steps} step(s), -{lost:g})")
    if origin is not None and origin.network and candidate.network == origin.network:
        score += POINTS_SAME_NETWORK
        reasons.append(f"Misma red de servicios (+{POINTS_SAME_NETWORK:g}) / same services network")
    if origin is not None and origin.region and candidate.region == origin.region:
        score += POINTS_SAME_REGION
        reasons.append(f"Misma región sanitaria {origin.region} (+{POINTS_SAME_REGION:g}) / same health region")
    elif candidate.region:
        reasons.append(f"Otra región sanitaria ({candidate.region}) / another health region")
    distance = None
    factor = EMERGENCY_DISTANCE_FACTOR if emergency else 1.0
    if origin is not None and origin.position and candidate.position:
        distance = directory.haversine_km(origin.position, candidate.position)
        lost = distance / 10 * POINTS_LOST_PER_10_KM * factor
        score -= lost
        reasons.append(f"A {distance:.0f} km (-{lost:.1f}) / {distance:.0f} km away")
    else:
        lost = POINTS_UNKNOWN_DISTANCE * factor
        score -= lost
        reasons.append(f"Distancia desconocida, sin coordenadas (-{lost:g}) / unknown distance, no coordinates")
    if service.accepting:
        reasons.append("Acepta referencias ahora / accepting referrals now")
    else:
        score -= POINTS_NOT_ACCEPTING
        reasons.append(f"No acepta referencias ahora (-{POINTS_NOT_ACCEPTING:g}) / not accepting referrals now")
    load_penalty = min(load * POINTS_PER_OPEN_REFERRAL, MAX_LOAD_PENALTY_POINTS)
    score -= load_penalty
    reasons.append(f"{load} referencias abiertas (-{load_penalty:g}) / {load} open referrals")
    return Candidate(organization=candidate.reference, location=candidate.location,
                     healthcare_service=service.reference, score=round(score, 2), reasons=reasons,
                     name=candidate.name, distance_km=None if distance is None else round(distance, 1),
                     open_referrals=load, accepting=service.accepting)


async def ranked_destinations(tx: Transaction, service_request: dict, limit: int) -> list[str]:
    """The referral engine's ranker (``referral.intake.use_ranker``, wired by the app): the best candidates that
    accept referrals now, at most ``limit``. A referral that names no service or specialty cannot be routed and
    gets none, so it waits in the regional coordinator's worklist."""
    try:
        candidates = await rank_candidates(tx, service_request=service_request, limit=MAX_ROUTE_COUNT)
    except UnprocessableEntity:
        return []
    return [c.organization for c in candidates if c.accepting][:limit]


DEFAULT_ROUTE_COUNT = 10
MAX_ROUTE_COUNT = 50


async def route(tx: Transaction, *, service_request_id: str, actor: Actor, count: int = DEFAULT_ROUTE_COUNT
                ) -> dict:
    """``ServiceRequest/[id]/$route``: the ranked candidates of a stored referral as a Parameters resource,
    one ``candidate`` parameter per facility with its rank, references, score, distance, load and reasons.

    Asked by the referring facility's staff, a coordinator of its region, an admin or a system client."""
    if not 1 <= count <= MAX_ROUTE_COUNT:
        raise BadRequest([Issue("invalid", f"count debe estar entre 1 y {MAX_ROUTE_COUNT} / count must be between 1 "
                                           f"and {MAX_ROUTE_COUNT}", ("count",))])
    if actor.role not in ROUTING_ROLES:  # before anything is read: the referral's existence is not theirs to learn
        raise _may_not_route(f"ServiceRequest/{service_request_id}")
    service_request = await directory.read_resource(tx, f"ServiceRequest/{service_request_id}",
                                                    expected="ServiceRequest")
    await _check_may_route(tx, actor, Request.of(service_request).requester, f"ServiceRequest/{service_request_id}")
    candidates = await rank_candidates(tx, service_request=service_request, limit=count)
    return {"resourceType": "Parameters",
            "parameter": [{"name": "candidate", "part": _parts(rank, c)} for rank, c in enumerate(candidates, 1)]}


async def _check_may_route(tx: Transaction, actor: Actor, requester: str, target: str) -> None:
    if actor.role in (Role.ADMIN, Role.SYSTEM):
        return
    if actor.role in (Role.CLINICIAN, Role.COORDINATOR):
        origin = await directory.origin_facility(tx, requester=requester)
        if actor.role == Role.CLINICIAN and actor.facility == origin:
            return
        if actor.role == Role.COORDINATOR and actor.region and \
                (await directory.facility(tx, organization=origin)).region == actor.region:
            return
    raise _may_not_route(target)


ROUTING_ROLES = frozenset({Role.ADMIN, Role.SYSTEM, Role.CLINICIAN, Role.COORDINATOR})


def _may_not_route(target: str) -> Forbidden:
    return Forbidden("solo el establecimiento que refiere, la coordinación de su región o un administrador "
                     "enrutan la referencia / only the referring facility, its region's coordinators or an admin "
                     "may route it", target=target)


def _parts(rank: int, candidate: Candidate) -> list[dict]:
    parts: list[dict] = [
        {"name": "rank", "valueInteger": rank},
        {"name": "organization", "valueReference": {"reference": candidate.organization, "display": candidate.name}},
        {"name": "healthcareService", "valueReference": {"reference": candidate.healthcare_service}},
    ]
    if candidate.location:
        parts.append({"name": "location", "valueReference": {"reference": candidate.location}})
    parts.append({"name": "score", "valueDecimal": Decimal(str(candidate.score))})
    if candidate.distance_km is not None:
        parts.append({"name": "distance", "valueQuantity": {"value": Decimal(str(candidate.distance_km)),
                                                            "unit": "km", "system": systems.UCUM, "code": "km"}})
    parts.append({"name": "openReferrals", "valueInteger": candidate.open_referrals})
    parts.append({"name": "acceptingReferrals", "valueBoolean": candidate.accepting})
    parts.extend({"name": "reason", "valueString": reason} for reason in candidate.reasons)
    return parts
