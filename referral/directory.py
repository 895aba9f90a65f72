"""The facility directory, read from the record store: who offers what, where, at which level, and whether
they take referrals now.

A facility is an Organization (national profile hn-establecimiento: region, network, level and type), its
Locations (hn-ubicacion, with ``position`` for distances) and its HealthcareServices (hn-servicio: the
specialties in ``specialty``, the referral services in ``type`` with codes of servicio-referencia, and the
extension acepta-referencias). Everything comes through ``ece.search`` and ``ece.reads``; nothing here writes.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from decimal import Decimal

from ece import fhirjson, reads, search
from ece.errors import FhirError, Issue, UnprocessableEntity
from ece.references import local_reference
from ece.tx import Transaction
from fhir_profiles import systems

PAGE_SIZE = 500
# Task.status values of a referral that still weighs on its owner (R4 task.html#statemachine).
OPEN_TASK_STATUSES = ("requested", "received", "accepted", "ready", "in-progress", "on-hold")
# Facility types from the simplest to the most complex (tipo-establecimiento, CodeSystem order); a
# referral should go to the simplest facility that can resolve it.
FACILITY_TYPE_ORDER = ("UAPS", "CIS", "POLI", "HB", "HG", "HE")
EARTH_RADIUS_KM = 6371.0088  # mean Earth radius (IUGG)


@dataclass(frozen=True)
class Facility:
    reference: str  # "Organization/<id>"
    name: str
    active: bool
    level: str | None  # nivel-atencion code
    kind: str | None  # tipo-establecimiento code
    region: str | None  # region-sanitaria code
    network: str | None  # the red-servicios Organization, as a local reference
    location: str | None  # "Location/<id>" with coordinates, when it has one
    position: tuple[float, float] | None  # (latitude, longitude) in degrees (WGS84, R4 location.html)

    @property
    def complexity(self) -> int:
        """Rank of the facility's type (0 = UAPS ... 5 = national hospital); unknown types rank by level."""
        if self.kind in FACILITY_TYPE_ORDER:
            return FACILITY_TYPE_ORDER.index(self.kind)
        return 3 if self.level == "2" else len(FACILITY_TYPE_ORDER)


@dataclass(frozen=True)
class Service:
    reference: str  # "HealthcareService/<id>"
    facility: str  # "Organization/<id>" (providedBy)
    name: str
    specialties: frozenset[str]  # especialidad codes
    services: frozenset[str]  # servicio-referencia codes; empty means every service of its specialties
    accepting: bool  # acepta-referencias; a service that does not say is taken as not accepting
    locations: tuple[str, ...]

    def offers(self, *, specialty: str | None, service: str | None) -> bool:
        if specialty is not None and specialty not in self.specialties:
            return False
        return service is None or not self.services or service in self.services


def haversine_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance between two (latitude, longitude) points in degrees."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


async def search_all(tx: Transaction, resource_type: str, pairs: list[tuple[str, str]]) -> AsyncIterator[dict]:
    """Every match of a search, page after page (the store's cursor paging), parsed."""
    cursor: str | None = None
    while True:
        page_pairs = [*pairs, ("_count", str(PAGE_SIZE)), ("_total", "none")] + ([("_cursor", cursor)] if cursor
                                                                                 else [])
        page = await search.search(tx.conn, resource_types=[resource_type], pairs=page_pairs, strict=True)
        for _type, _id, content in page.matches:
            yield fhirjson.loads(content)
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


async def count(tx: Transaction, resource_type: str, pairs: list[tuple[str, str]]) -> int:
    page = await search.search(tx.conn, resource_types=[resource_type],
                               pairs=[*pairs, ("_summary", "count"), ("_total", "accurate")], strict=True)
    return page.total or 0


async def read_resource(tx: Transaction, reference: str, *, expected: str | None = None) -> dict:
    """The current version of a local reference ("Type/id"); 422 when it is not one."""
    key = local_reference(reference)
    if key is None or (expected is not None and key[0] != expected):
        kind = expected or "local"
        raise UnprocessableEntity([Issue("invalid", f"'{reference[:80]}' no es una referencia a {kind} de este "
                                                    f"servidor / is not a local {kind} reference")])
    version = await reads.read(tx.conn, resource_type=key[0], resource_id=key[1])
    return fhirjson.loads(version.content or b"{}")


def _codes(concepts: Iterable[dict] | None, system: str) -> list[str]:
    return [c["code"] for concept in concepts or () for c in concept.get("coding") or ()
            if c.get("system") == system and c.get("code")]


def _extension(resource: dict, url: str) -> dict | None:
    return next((e for e in resource.get("extension") or () if e.get("url") == url), None)


def _position(location: dict) -> tuple[float, float] | None:
    position = location.get("position") or {}
    latitude, longitude = position.get("latitude"), position.get("longitude")
    if isinstance(latitude, int | Decimal) and isinstance(longitude, int | Decimal):  # fhirjson keeps decimals exact
        return float(latitude), float(longitude)
    return None


def facility_of(organization: dict, locations: Iterable[dict]) -> Facility:
    region = _extension(organization, systems.EXT_HEALTH_REGION)
    network = _extension(organization, systems.EXT_HEALTH_NETWORK)
    network_ref = ((network or {}).get("valueReference") or {}).get("reference")
    placed = [loc for loc in locations if loc.get("status", "active") == "active" and _position(loc)]
    placed.sort(key=lambda loc: loc["id"])  # deterministic choice when a facility has several sites
    levels = _codes(organization.get("type"), systems.CS_FACILITY_LEVEL)
    kinds = _codes(organization.get("type"), systems.CS_FACILITY_TYPE)
    return Facility(
        reference=f"Organization/{organization['id']}",
        name=organization.get("name", ""),
        active=organization.get("active", True) is not False,
        level=levels[0] if levels else None,
        kind=kinds[0] if kinds else None,
        region=((region or {}).get("valueCoding") or {}).get("code"),
        network=_local(network_ref),
        location=f"Location/{placed[0]['id']}" if placed else None,
        position=_position(placed[0]) if placed else None,
    )


def _local(reference: str | None) -> str | None:
    key = local_reference(reference) if reference else None
    return f"{key[0]}/{key[1]}" if key else None


def service_of(resource: dict) -> Service | None:
    provider = _local((resource.get("providedBy") or {}).get("reference"))
    if provider is None or not provider.startswith("Organization/"):
        return None
    accepting = _extension(resource, systems.EXT_ACCEPTING_REFERRALS)
    return Service(
        reference=f"HealthcareService/{resource['id']}",
        facility=provider,
        name=resource.get("name", ""),
        specialties=frozenset(_codes(resource.get("specialty"), systems.CS_SPECIALTY)),
        services=frozenset(_codes(resource.get("type"), systems.CS_REFERRAL_SERVICE)),
        accepting=(accepting or {}).get("valueBoolean") is True,
        locations=tuple(r for r in (_local(loc.get("reference")) for loc in resource.get("location") or ()) if r),
    )


async def services_offering(tx: Transaction, *, specialty: str | None, service: str | None) -> list[Service]:
    """Active HealthcareServices that offer the specialty and the service (by the rule of ``Service.offers``)."""
    pairs = [("active", "true")]
    if specialty is not None:
        pairs.append(("specialty", f"{systems.CS_SPECIALTY}|{specialty}"))
    found = []
    async for resource in search_all(tx, "HealthcareService", pairs):
        offered = service_of(resource)
        if offered is not None and offered.offers(specialty=specialty, service=service):
            found.append(offered)
    return found


async def facilities(tx: Transaction, *, organizations: Iterable[str]) -> dict[str, Facility]:
    """The directory entries of the given "Organization/<id>" references (unknown or deleted ones are left out)."""
    ids = sorted({ref.split("/", 1)[1] for ref in organizations if ref.startswith("Organization/")})
    out: dict[str, Facility] = {}
    for start in range(0, len(ids), PAGE_SIZE):
        chunk = ids[start:start + PAGE_SIZE]
        sites: dict[str, list[dict]] = {}
        owners = ",".join(f"Organization/{i}" for i in chunk)
        async for location in search_all(tx, "Location", [("organization", owners)]):
            owner = _local((location.get("managingOrganization") or {}).get("reference"))
            if owner is not None:
                sites.setdefault(owner, []).append(location)
        async for organization in search_all(tx, "Organization", [("_id", ",".join(chunk))]):
            entry = facility_of(organization, sites.get(f"Organization/{organization['id']}", ()))
            out[entry.reference] = entry
    return out


async def facility(tx: Transaction, *, organization: str) -> Facility:
    found = await facilities(tx, organizations=[organization])
    if organization not in found:
        raise FhirError([Issue("not-found", f"{organization[:80]} no está en el directorio / is not in the "
                                            "directory")], 404)
    return found[organization]


async def open_referrals(tx: Transaction, *, organization: str) -> int:
    """Referral Tasks owned by the facility that are not finished yet: its current load."""
    return await count(tx, "Task", [("owner", organization), ("status", ",".join(OPEN_TASK_STATUSES))])


async def origin_facility(tx: Transaction, *, requester: str) -> str:
    """The referring facility of a requester: the Organization itself, or a PractitionerRole's organization."""
    key = local_reference(requester)
    if key is not None and key[0] == "Organization":
        return f"Organization/{key[1]}"
    if key is not None and key[0] == "PractitionerRole":
        role = await read_resource(tx, requester, expected="PractitionerRole")
        organization = _local((role.get("organization") or {}).get("reference"))
        if organization is not None and organization.startswith("Organization/"):
            return organization
    raise UnprocessableEntity([Issue("invalid", "El solicitante debe ser un establecimiento o un rol profesional con "
                                                "establecimiento / the requester must be an Organization or a "
                                                "PractitionerRole with an organization",
                                     ("ServiceRequest.requester",))])
