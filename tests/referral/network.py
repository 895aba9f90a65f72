"""Explicit facility-network factories for the routing, summary and indicator tests: Organizations,
Locations and HealthcareServices shaped like the national profiles (hn-establecimiento, hn-ubicacion,
hn-servicio), written through the store with fixed ids."""

from __future__ import annotations

from decimal import Decimal

from ece import store
from ece.tx import Transaction
from fhir_profiles import systems as s


async def put(tx: Transaction, resource: dict) -> dict:
    """Write ``resource`` with its own id (update-as-create, R4 http.html#upsert)."""
    await store.update(tx, resource_type=resource["resourceType"], resource_id=resource["id"], data=resource)
    return resource


def organization(id: str, *, name: str, kind: str, region: str, network: str | None = None,
                 active: bool = True) -> dict:
    level = "1" if kind in ("UAPS", "CIS", "POLI") else "2"
    extension = [{"url": s.EXT_HEALTH_REGION, "valueCoding": {"system": s.CS_HEALTH_REGION, "code": region}}]
    if network:
        extension.append({"url": s.EXT_HEALTH_NETWORK, "valueReference": {"reference": f"Organization/{network}"}})
    return {"resourceType": "Organization", "id": id, "extension": extension,
            "identifier": [{"system": s.FACILITY_CODE, "value": id.upper()}], "active": active,
            "type": [{"coding": [{"system": s.CS_FACILITY_LEVEL, "code": level}]},
                     {"coding": [{"system": s.CS_FACILITY_TYPE, "code": kind}]}],
            "name": name,
            "address": [{"extension": [{"url": s.EXT_DEPARTMENT, "valueCoding": {"system": s.CS_DEPARTMENT,
                                                                                "code": region[:2]}}],
                         "country": "HN"}]}


def network(id: str, *, name: str) -> dict:
    return {"resourceType": "Organization", "id": id, "active": True, "name": name}


def location(id: str, *, organization: str, latitude: float | None, longitude: float | None) -> dict:
    resource = {"resourceType": "Location", "id": id, "status": "active", "name": f"Sede {id}",
                "managingOrganization": {"reference": f"Organization/{organization}"}}
    if latitude is not None and longitude is not None:
        resource["position"] = {"latitude": Decimal(f"{latitude:.6f}"), "longitude": Decimal(f"{longitude:.6f}")}
    return resource


def service(id: str, *, organization: str, specialty: str, services: tuple[str, ...] = (), accepting: bool = True,
            active: bool = True) -> dict:
    resource = {"resourceType": "HealthcareService", "id": id,
                "extension": [{"url": s.EXT_ACCEPTING_REFERRALS, "valueBoolean": accepting}],
                "active": active, "providedBy": {"reference": f"Organization/{organization}"},
                "specialty": [{"coding": [{"system": s.CS_SPECIALTY, "code": specialty}]}],
                "name": f"{specialty} ({organization})"}
    if services:
        resource["type"] = [{"coding": [{"system": s.CS_REFERRAL_SERVICE, "code": code}]} for code in services]
    return resource


def service_request(*, requester: str, specialty: str | None = "pediatria", service: str | None = "consulta-externa",
                    priority: str = "routine", patient: str = "Patient/p1") -> dict:
    resource: dict = {"resourceType": "ServiceRequest", "status": "active", "intent": "order",
                      "priority": priority, "subject": {"reference": patient},
                      "requester": {"reference": requester}, "authoredOn": "2026-11-02T08:00:00-06:00"}
    if service:
        resource["code"] = {"coding": [{"system": s.CS_REFERRAL_SERVICE, "code": service}]}
    if specialty:
        resource["performerType"] = {"coding": [{"system": s.CS_SPECIALTY, "code": specialty}]}
    return resource


async def facility(tx: Transaction, id: str, *, kind: str, region: str, at: tuple[float, float] | None,
                   network: str | None = None, specialties: tuple[str, ...] = ("pediatria",),
                   accepting: bool = True, active: bool = True, services: tuple[str, ...] = ()) -> str:
    """An Organization with one Location and one HealthcareService per specialty; answers its reference."""
    await put(tx, organization(id, name=f"Establecimiento {id}", kind=kind, region=region, network=network,
                               active=active))
    await put(tx, location(f"{id}-sede", organization=id, latitude=at[0] if at else None,
                           longitude=at[1] if at else None))
    for specialty in specialties:
        await put(tx, service(f"{id}-{specialty}", organization=id, specialty=specialty, accepting=accepting,
                              services=services))
    return f"Organization/{id}"
