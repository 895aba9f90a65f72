"""Routing ranks the facilities that offer the requested service (issue 7 §2): simplest level first, same
network and region first, then distance, accepting now, and load; each candidate says why."""

from __future__ import annotations

import pytest

from ece import fhirjson, reads, search, store
from ece.errors import UnprocessableEntity
from fhir_profiles import systems as s
from referral import policy, routing
from referral.directory import haversine_km
from referral.routing_operation import install_route_operation
from tests.referral.network import facility, put, service_request

ORIGIN_AT = (14.150, -86.983)  # Villa de San Francisco, Francisco Morazán
KM_NORTH = 1 / 111.2  # degrees of latitude per km


def north(km: float) -> tuple[float, float]:
    return ORIGIN_AT[0] + km * KM_NORTH, ORIGIN_AT[1]


async def origin(tx, *, network: str | None = "red-oriente") -> str:
    return await facility(tx, "uaps-origen", kind="UAPS", region="08", at=ORIGIN_AT, network=network,
                          specialties=("medicina-general",))


async def ranked(tx, requester: str, **request) -> list[routing.Candidate]:
    return await routing.rank_candidates(tx, service_request=service_request(requester=requester, **request))


async def test_only_facilities_offering_the_requested_specialty_are_candidates(tx):
    requester = await origin(tx)
    await facility(tx, "cis-pediatria", kind="CIS", region="08", at=north(20))
    await facility(tx, "cis-sin-pediatria", kind="CIS", region="08", at=north(5), specialties=("odontologia",))
    candidates = await ranked(tx, requester)
    assert [c.organization for c in candidates] == ["Organization/cis-pediatria"]
    assert candidates[0].healthcare_service == "HealthcareService/cis-pediatria-pediatria"
    assert candidates[0].location == "Location/cis-pediatria-sede"


async def test_service_types_must_include_the_requested_service_when_declared(tx):
    requester = await origin(tx)
    await facility(tx, "hg-solo-emergencia", kind="HG", region="08", at=north(10), services=("emergencia",))
    await facility(tx, "hg-consulta", kind="HG", region="08", at=north(40), services=("consulta-externa",))
    await facility(tx, "hg-todo", kind="HG", region="08", at=north(60))  # no service types: all of its specialty
    candidates = await ranked(tx, requester, service="consulta-externa")
    assert {c.organization for c in candidates} == {"Organization/hg-consulta", "Organization/hg-todo"}


async def test_the_simplest_facility_type_that_resolves_it_comes_first(tx):
    requester = await origin(tx)
    await facility(tx, "he-nacional", kind="HE", region="08", at=north(20), network="red-oriente")
    await facility(tx, "cis-cercano", kind="CIS", region="08", at=north(20), network="red-oriente")
    candidates = await ranked(tx, requester)
    assert [c.organization for c in candidates] == ["Organization/cis-cercano", "Organization/he-nacional"]
    assert candidates[1].score == candidates[0].score - 4 * routing.POINTS_PER_COMPLEXITY_STEP
    assert any("más complejo" in r and "4" in r for r in candidates[1].reasons)


async def test_same_network_then_same_region_come_first(tx):
    requester = await origin(tx)
    await facility(tx, "hg-otra-region", kind="HG", region="07", at=north(30))
    await facility(tx, "hg-misma-region", kind="HG", region="08", at=north(30))
    await facility(tx, "hg-misma-red", kind="HG", region="08", at=north(30), network="red-oriente")
    candidates = await ranked(tx, requester)
    assert [c.organization for c in candidates] == ["Organization/hg-misma-red", "Organization/hg-misma-region",
                                                    "Organization/hg-otra-region"]
    assert any("Misma red" in r for r in candidates[0].reasons)
    assert any("Otra región sanitaria (07)" in r for r in candidates[2].reasons)


async def test_nearer_facility_comes_first_and_reports_its_distance(tx):
    requester = await origin(tx)
    await facility(tx, "hg-lejos", kind="HG", region="08", at=north(120))
    await facility(tx, "hg-cerca", kind="HG", region="08", at=north(15))
    candidates = await ranked(tx, requester)
    assert [c.organization for c in candidates] == ["Organization/hg-cerca", "Organization/hg-lejos"]
    assert candidates[0].distance_km == pytest.approx(15, abs=0.2)
    assert candidates[1].distance_km == pytest.approx(120, abs=0.5)


async def test_emergencies_weigh_distance_more_than_the_level(tx):
    requester = await origin(tx)
    await facility(tx, "cis-lejano", kind="CIS", region="08", at=north(150))
    await facility(tx, "hg-cercano", kind="HG", region="08", at=north(10))
    routine = await ranked(tx, requester, priority="routine")
    stat = await ranked(tx, requester, priority="stat")
    assert routine[0].organization == "Organization/cis-lejano"
    assert stat[0].organization == "Organization/hg-cercano"


async def test_a_service_not_accepting_referrals_ranks_after_those_that_accept(tx):
    requester = await origin(tx)
    await facility(tx, "cis-lleno", kind="CIS", region="08", at=north(5), network="red-oriente", accepting=False)
    await facility(tx, "hg-disponible", kind="HG", region="07", at=north(80))
    candidates = await ranked(tx, requester)
    assert [c.organization for c in candidates] == ["Organization/hg-disponible", "Organization/cis-lleno"]
    assert not candidates[1].accepting
    assert any("No acepta referencias ahora" in r for r in candidates[1].reasons)
    # The simplest level is judged among facilities that accept: the general hospital loses no level points.
    assert any("Nivel más sencillo" in r for r in candidates[0].reasons)


async def test_open_referrals_of_a_facility_lower_its_rank(tx):
    requester = await origin(tx)
    await facility(tx, "hg-a", kind="HG", region="08", at=north(30))
    await facility(tx, "hg-b", kind="HG", region="08", at=north(30))
    for n, status in enumerate(("requested", "accepted", "in-progress", "completed")):
        await put(tx, {"resourceType": "Task", "id": f"carga-{n}", "status": status, "intent": "order",
                       "owner": {"reference": "Organization/hg-a"}})
    candidates = await ranked(tx, requester)
    assert [c.organization for c in candidates] == ["Organization/hg-b", "Organization/hg-a"]
    assert candidates[1].open_referrals == 3  # the completed Task is not load
    assert candidates[0].score - candidates[1].score == pytest.approx(3 * routing.POINTS_PER_OPEN_REFERRAL)


async def test_origin_and_inactive_facilities_are_never_candidates(tx):
    requester = await facility(tx, "hg-origen", kind="HG", region="08", at=ORIGIN_AT)
    await facility(tx, "hg-cerrado", kind="HG", region="08", at=north(5), active=False)
    await facility(tx, "he-activo", kind="HE", region="19", at=north(50))
    candidates = await ranked(tx, requester)
    assert [c.organization for c in candidates] == ["Organization/he-activo"]


async def test_a_practitioner_role_requester_routes_from_its_organization(tx):
    await origin(tx)
    await put(tx, {"resourceType": "PractitionerRole", "id": "rol-1", "active": True,
                   "organization": {"reference": "Organization/uaps-origen"}})
    await facility(tx, "hg-cerca", kind="HG", region="08", at=north(15))
    candidates = await ranked(tx, "PractitionerRole/rol-1")
    assert candidates[0].distance_km == pytest.approx(15, abs=0.2)


async def test_facility_without_coordinates_gets_an_unknown_distance_reason(tx):
    requester = await origin(tx)
    await facility(tx, "hg-sin-gps", kind="HG", region="08", at=None)
    [candidate] = await ranked(tx, requester)
    assert candidate.distance_km is None and candidate.location is None
    assert any("Distancia desconocida" in r for r in candidate.reasons)


async def test_limit_caps_the_number_of_candidates(tx):
    requester = await origin(tx)
    for km in (10, 20, 30):
        await facility(tx, f"hg-{km}", kind="HG", region="08", at=north(km))
    candidates = await routing.rank_candidates(tx, service_request=service_request(requester=requester), limit=2)
    assert [c.organization for c in candidates] == ["Organization/hg-10", "Organization/hg-20"]


async def test_no_facility_offering_the_specialty_gives_no_candidates(tx):
    requester = await origin(tx)
    await facility(tx, "cis-dental", kind="CIS", region="08", at=north(5), specialties=("odontologia",))
    assert await ranked(tx, requester, specialty="neurocirugia") == []


async def test_a_referral_naming_no_service_or_specialty_is_refused(tx):
    requester = await origin(tx)
    with pytest.raises(UnprocessableEntity):
        await ranked(tx, requester, specialty=None, service=None)


def test_haversine_matches_a_known_distance():
    tegucigalpa, san_pedro_sula = (14.0723, -87.1921), (15.5042, -88.0250)
    assert haversine_km(tegucigalpa, san_pedro_sula) == pytest.approx(180, abs=5)


async def test_auto_route_sends_a_referral_without_destination_to_the_best_accepting_candidate(tx):
    policy.configure(policy.Policy(unassigned=policy.Unassigned.AUTO_ROUTE))
    requester = await origin(tx)
    await facility(tx, "cis-lleno", kind="CIS", region="08", at=north(5), network="red-oriente", accepting=False)
    await facility(tx, "hg-disponible", kind="HG", region="08", at=north(40))
    referral = {**service_request(requester=requester), "category": [{"coding": [
        {"system": s.CS_REQUEST_CATEGORY, "code": "referencia"}]}]}
    created = await store.create(tx, data=referral)
    page = await search.search(tx.conn, resource_types=["Task"], pairs=[("focus", f"ServiceRequest/{created.id}")])
    [(_type, _id, content)] = page.matches
    assert fhirjson.loads(content)["owner"] == {"reference": "Organization/hg-disponible"}


async def test_no_accepting_candidate_leaves_the_referral_for_the_region(tx):
    requester = await origin(tx)
    await facility(tx, "cis-lleno", kind="CIS", region="08", at=north(5), accepting=False)
    destinations = await routing.ranked_destinations(tx, service_request(requester=requester), 3)
    assert destinations == []
    assert await routing.ranked_destinations(tx, service_request(requester=requester, service=None,
                                                                 specialty=None), 3) == []


async def test_the_route_operation_definition_installs_once(tx):
    assert await install_route_operation(tx) is True
    assert await install_route_operation(tx) is False
    stored = fhirjson.loads((await reads.read(tx.conn, resource_type="OperationDefinition",
                                              resource_id="ServiceRequest-route")).content)
    assert stored["code"] == "route" and stored["instance"] is True


async def test_load_is_counted_only_for_candidates_that_can_still_reach_the_top(tx, monkeypatch):
    requester = await origin(tx)
    await facility(tx, "hg-cerca", kind="HG", region="08", at=north(5))  # best before load
    await facility(tx, "hg-medio", kind="HG", region="08", at=north(100))  # 9.5 points behind: within reach
    await facility(tx, "hg-lejos", kind="HG", region="08", at=north(300))  # 29.5 behind: out of reach
    for n in range(40):  # the full load penalty (20 points) on the nearest one
        await put(tx, {"resourceType": "Task", "id": f"carga-{n}", "status": "requested", "intent": "order",
                       "owner": {"reference": "Organization/hg-cerca"}})
    counted = []
    real = routing.directory.open_referrals

    async def counting(tx, *, organization):
        counted.append(organization)
        return await real(tx, organization=organization)

    monkeypatch.setattr(routing.directory, "open_referrals", counting)
    [best] = await routing.rank_candidates(tx, service_request=service_request(requester=requester), limit=1)
    assert best.organization == "Organization/hg-medio"
    assert sorted(counted) == ["Organization/hg-cerca", "Organization/hg-medio"]
