"""Two kinds of resource that carry other people's data outside the Patient compartment: a document Bundle
(the clinical summary a referral carries) is its patient's data, and a rest-hook Subscription, which would
deliver anything its criteria match to an address of its author's choosing, is for trusted back-ends only."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import auth_headers
from tests.ece.access.network import Network, build

FHIR_JSON = {"Content-Type": "application/fhir+json"}


@pytest.fixture(scope="module")
def documents(live_server: str) -> tuple[Network, dict[str, str]]:
    """A summary document for the registered patient (in care at A) and one for the stranger."""
    with httpx.Client(base_url=live_server, timeout=30, headers=auth_headers()) as system:
        net = build(system)
        ids = {}
        for name in ("registered", "stranger"):
            subject = {"reference": f"Patient/{net.patients[name]}"}
            created = system.post("/Bundle", headers=FHIR_JSON, json={
                "resourceType": "Bundle", "type": "document", "timestamp": "2026-11-29T13:00:00Z",
                "identifier": {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{net.suffix}{len(ids)}"},
                "entry": [{"fullUrl": f"urn:uuid:0e0e0e0e-0000-4000-8000-00000000000{len(ids)}", "resource": {
                    "resourceType": "Composition", "status": "final", "subject": subject,
                    "type": {"coding": [{"system": "http://loinc.org", "code": "60591-5"}]},
                    "date": "2026-11-29T13:00:00Z", "author": [{"display": "Dra. Prueba"}],
                    "title": "Resumen clínico / patient summary"}}]})
            assert created.status_code == 201, created.text
            ids[name] = created.json()["id"]
        return net, ids


@pytest.mark.parametrize(("actor", "visible"), [
    ("clinician_a", {"registered"}),
    ("clinician_b", set()),
    ("admin", set()),
    ("patient_registered", {"registered"}),
    ("system", {"registered", "stranger"}),
])
def test_a_document_bundle_is_seen_only_by_who_may_see_its_patient(live_server, documents, actor, visible):
    net, ids = documents
    headers = {"clinician_a": net.clinician_a, "clinician_b": net.clinician_b,
               "admin": lambda: auth_headers("admin"), "patient_registered": lambda: net.patient("registered"),
               "system": auth_headers}[actor]()
    with httpx.Client(base_url=live_server, timeout=30, headers=headers) as client:
        read = {name for name, bundle_id in ids.items() if client.get(f"/Bundle/{bundle_id}").status_code == 200}
        found = client.get("/Bundle", params={"_id": ",".join(ids.values()), "_total": "accurate"})
        listed = {e["resource"]["id"] for e in found.json().get("entry", [])} if found.status_code == 200 else set()
    assert read == visible
    assert listed == {ids[name] for name in visible}


SUBSCRIPTION = {"resourceType": "Subscription", "status": "requested", "reason": "Integración / integration",
                "criteria": "Observation?code=http://loinc.org|8867-4",
                "channel": {"type": "rest-hook", "endpoint": "https://integracion.example.org/hook",
                            "payload": "application/fhir+json"}}


@pytest.mark.parametrize(("role", "scopes", "status"), [
    ("clinician", "", 403),
    ("admin", "", 403),
    ("coordinator", "", 403),
    ("system", "system/Subscription.cruds system/Task.rs", 403),  # would read Observations it may not
    ("system", "system/*.rs system/Subscription.cruds", 201),
])
def test_only_a_back_end_that_reads_everything_may_subscribe(live_server, role, scopes, status):
    headers = auth_headers(role, facility="Organization/a" if role == "clinician" else None,
                           region="08" if role == "coordinator" else None, scopes=scopes)
    with httpx.Client(base_url=live_server, timeout=30, headers=headers) as client:
        created = client.post("/Subscription", headers=FHIR_JSON, json=SUBSCRIPTION)
        assert created.status_code == status, created.text
        if status == 201:
            assert client.get(f"/Subscription/{created.json()['id']}").status_code == 200
