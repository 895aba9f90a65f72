"""``ServiceRequest/[id]/$route`` over HTTP against a live server: a Parameters of ranked candidates."""

from __future__ import annotations

import json
import uuid

from ece import fhirjson
from referral.routing_operation import ROUTE_URL
from tests.conftest import auth_headers
from tests.referral.network import location, organization, service, service_request

FHIR_JSON = {"Content-Type": "application/fhir+json"}


def _put(http, resource: dict) -> None:
    body = fhirjson.dumps(resource)
    response = http.put(f"/{resource['resourceType']}/{resource['id']}", content=body, headers=FHIR_JSON)
    assert response.status_code in (200, 201), response.text


def _network(http) -> tuple[str, str, str]:
    """An origin UAPS and two hospitals offering neonatology; ids unique to the test (the database is shared)."""
    tag = uuid.uuid4().hex[:8]
    origin, near, far = f"uaps-{tag}", f"hg-cerca-{tag}", f"hg-lejos-{tag}"
    for org, kind, at in ((origin, "UAPS", (14.150, -86.983)), (near, "HG", (14.240, -86.983)),
                          (far, "HG", (15.050, -86.983))):
        _put(http, organization(org, name=f"Establecimiento {org}", kind=kind, region="08"))
        _put(http, location(f"{org}-sede", organization=org, latitude=at[0], longitude=at[1]))
    for org in (near, far):
        _put(http, service(f"{org}-neo", organization=org, specialty="neonatologia"))
    return origin, near, far


def _candidates(body: dict) -> list[dict]:
    return [{p["name"]: next(v for k, v in p.items() if k.startswith("value")) for p in c["part"]
             if p["name"] != "reason"} | {"reasons": [p["valueString"] for p in c["part"] if p["name"] == "reason"]}
            for c in body["parameter"]]


def test_route_answers_ranked_candidates_with_reasons(http):
    origin, near, far = _network(http)
    created = http.post("/ServiceRequest", content=fhirjson.dumps(service_request(
        requester=f"Organization/{origin}", specialty="neonatologia")), headers=FHIR_JSON)
    assert created.status_code == 201, created.text
    response = http.get(f"/ServiceRequest/{created.json()['id']}/$route")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["resourceType"] == "Parameters"
    ranked = [c for c in _candidates(body) if c["organization"]["reference"] in
              (f"Organization/{near}", f"Organization/{far}")]
    assert [c["organization"]["reference"] for c in ranked] == [f"Organization/{near}", f"Organization/{far}"]
    assert ranked[0]["rank"] < ranked[1]["rank"]
    assert ranked[0]["distance"]["code"] == "km" and 9 < ranked[0]["distance"]["value"] < 11
    assert any("Acepta referencias" in r for r in ranked[0]["reasons"])


def test_route_by_post_honours_count(http):
    origin, _near, _far = _network(http)
    created = http.post("/ServiceRequest", content=fhirjson.dumps(service_request(
        requester=f"Organization/{origin}", specialty="neonatologia")), headers=FHIR_JSON)
    parameters = {"resourceType": "Parameters", "parameter": [{"name": "count", "valueInteger": 1}]}
    response = http.post(f"/ServiceRequest/{created.json()['id']}/$route", content=json.dumps(parameters),
                         headers=FHIR_JSON)
    assert response.status_code == 200, response.text
    assert len(response.json()["parameter"]) == 1


def test_route_is_for_the_referring_facility_its_region_and_admins(http):
    origin, near, _far = _network(http)
    created = http.post("/ServiceRequest", content=fhirjson.dumps(service_request(
        requester=f"Organization/{origin}", specialty="neonatologia")), headers=FHIR_JSON)
    path = f"/ServiceRequest/{created.json()['id']}/$route"
    allowed = [auth_headers("clinician", facility=f"Organization/{origin}"), auth_headers("coordinator", region="08"),
               auth_headers("admin")]
    refused = [auth_headers("clinician", facility=f"Organization/{near}"), auth_headers("coordinator", region="19"),
               auth_headers("patient", patient="Patient/p1")]
    assert [http.get(path, headers=h).status_code for h in allowed] == [200, 200, 200]
    assert [http.get(path, headers=h).status_code for h in refused] == [403, 403, 403]


def test_route_of_an_unknown_referral_answers_404(http):
    response = http.get(f"/ServiceRequest/{uuid.uuid4()}/$route")
    assert response.status_code == 404
    assert response.json()["resourceType"] == "OperationOutcome"


def test_route_with_a_bad_count_answers_400(http):
    response = http.get(f"/ServiceRequest/{uuid.uuid4()}/$route?count=0")
    assert response.status_code == 400


def test_capability_statement_lists_route_and_evaluate_measure(http):
    resources = {r["type"]: r for r in http.get("/metadata").json()["rest"][0]["resource"]}
    assert {"name": "route", "definition": ROUTE_URL} in resources["ServiceRequest"]["operation"]
    assert "evaluate-measure" in {o["name"] for o in resources["Measure"]["operation"]}
