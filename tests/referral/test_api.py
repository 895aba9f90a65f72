"""The referral loop through the FHIR API of a live server with the national profiles enforced on every national
type, each party with its own bearer token."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import httpx
import pytest

from ece import fhirjson
from fhir_profiles import catalog
from fhir_profiles import systems as s
from tests.conftest import RUN, auth_headers, serve_live
from tests.fhir_profiles import factories as national
from tests.referral import factories as f

ORIGIN_ID, DESTINATION_ID, NATIONAL_ID = (r.split("/")[1] for r in (f.ORIGIN, f.DESTINATION, f.NATIONAL_HOSPITAL))
ORIGIN_HEADERS = auth_headers("clinician", subject="dra.mejia", facility=f.ORIGIN, practitioner_role=f.ROLE)
DESTINATION_HEADERS = auth_headers("clinician", subject="dr.lopez", facility=f.DESTINATION)
OUTSIDER_HEADERS = auth_headers("clinician", subject="dra.rivera", facility=f.NATIONAL_HOSPITAL)
COORDINATOR_HEADERS = auth_headers("coordinator", subject="coord.intibuca", region="10")


def _facility(reference: str, name: str, code: str, region: str) -> dict:
    data = national.facility(code=code, name=name)
    data["id"] = reference.split("/")[1]
    data["extension"] = [{"url": s.EXT_HEALTH_REGION, "valueCoding": {"system": s.CS_HEALTH_REGION, "code": region}}]
    return data


@pytest.fixture(scope="session")
def referral_server(server_admin_url: str) -> Iterator[str]:
    servers = serve_live(server_admin_url, f"ece_referral_{RUN}",
                         {"ECE_ENFORCED_PROFILE_TYPES": ",".join(catalog.national_types())})
    base = next(servers)
    with httpx.Client(base_url=base, timeout=30, headers={**auth_headers(), "Content-Type": "application/fhir+json"}
                      ) as admin:
        for reference, name, code, region in ((f.ORIGIN, "UAPS La Esperanza", "HN-1001-0001", "10"),
                                              (f.DESTINATION, "Hospital de La Esperanza", "HN-1001-0002", "10"),
                                              (f.NATIONAL_HOSPITAL, "Hospital Escuela", "HN-0801-0001", "19")):
            _put(admin, reference, _facility(reference, name, code, region))
        role = {**national.practitioner_role(), "id": "medica-uaps", "organization": {"reference": f.ORIGIN},
                "practitioner": {"reference": "Practitioner/medica"}}
        _put(admin, f.ROLE, role)
        _put(admin, "Practitioner/medica", {**national.practitioner(), "id": "medica"})
        # Registered at the origin: a clinician refers patients already in their care (ece.access.guard).
        _put(admin, f.PATIENT, {**national.patient(), "id": f.PATIENT.split("/")[1],
                                "managingOrganization": {"reference": f.ORIGIN}})
    yield base
    servers.close()


def _put(client: httpx.Client, reference: str, data: dict) -> None:
    response = client.put(f"/{reference}", content=fhirjson.dumps(data))
    assert response.status_code in (200, 201), response.text


def _client(base: str, headers: dict) -> httpx.Client:
    return httpx.Client(base_url=base, timeout=30, headers={**headers, "Accept": "application/fhir+json",
                                                            "Content-Type": "application/fhir+json"})


@pytest.fixture
def origin(referral_server: str) -> Iterator[httpx.Client]:
    with _client(referral_server, ORIGIN_HEADERS) as client:
        yield client


@pytest.fixture
def destination(referral_server: str) -> Iterator[httpx.Client]:
    with _client(referral_server, DESTINATION_HEADERS) as client:
        yield client


@pytest.fixture
def outsider(referral_server: str) -> Iterator[httpx.Client]:
    with _client(referral_server, OUTSIDER_HEADERS) as client:
        yield client


@pytest.fixture
def coordinator(referral_server: str) -> Iterator[httpx.Client]:
    with _client(referral_server, COORDINATOR_HEADERS) as client:
        yield client


def _send(origin: httpx.Client, **kwargs) -> tuple[str, str]:
    created = origin.post("/ServiceRequest", content=fhirjson.dumps(f.referral(**kwargs)))
    assert created.status_code == 201, created.text
    sr_id = created.json()["id"]
    tasks = origin.get("/Task", params={"focus": f"ServiceRequest/{sr_id}"}).json()
    [task] = [e["resource"] for e in tasks["entry"]]
    return sr_id, task["id"]


def _op(client: httpx.Client, task_id: str, operation: str, *parameters: dict) -> httpx.Response:
    body = {"resourceType": "Parameters", "parameter": list(parameters)} if parameters else None
    return client.post(f"/Task/{task_id}/${operation}", content=fhirjson.dumps(body) if body else b"")


def _reason(system: str, code: str) -> dict:
    return {"name": "reason", "valueCodeableConcept": f.reason(system, code)}


def test_the_loop_closes_end_to_end_through_the_fhir_api(origin, destination):
    sr_id, task_id = _send(origin)
    assert _op(destination, task_id, "receive").json()["status"] == "received"
    assert _op(destination, task_id, "accept").json()["status"] == "accepted"
    booked = _op(destination, task_id, "schedule", {"name": "start", "valueDateTime": "2026-12-02T08:00:00-06:00"})
    assert booked.status_code == 200, booked.text
    assert _op(destination, task_id, "arrive").json()["status"] == "in-progress"
    answered = _op(destination, task_id, "respond", {"name": "response", "resource": f.response()})
    assert answered.status_code == 200, answered.text
    assert answered.json()["businessStatus"]["coding"][0]["code"] == "respondida"
    acknowledged = _op(origin, task_id, "acknowledge")
    assert acknowledged.json()["businessStatus"]["coding"][0]["code"] == "respuesta-recibida"
    assert origin.get(f"/ServiceRequest/{sr_id}").json()["status"] == "completed"
    response_ref = acknowledged.json()["output"][1]["valueReference"]["reference"]
    assert origin.get(f"/{response_ref}").json()["meta"]["profile"] == [national.profile_url(
        "hn-respuesta-referencia")]
    trail = origin.get("/Task", params={"_id": task_id, "_revinclude": "Provenance:target"}).json()
    activities = sorted(e["resource"]["activity"]["coding"][0]["code"] for e in trail["entry"]
                        if e["resource"]["resourceType"] == "Provenance")
    assert activities == sorted(["send", "receive", "accept", "schedule", "arrive", "respond", "acknowledge"])


def test_a_referral_in_a_transaction_bundle_gets_its_task_in_the_same_transaction(origin):
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": "urn:uuid:8c1f5a52-0f7e-4d7e-9a40-3c9f1f3b2a11", "resource": f.referral(),
         "request": {"method": "POST", "url": "ServiceRequest"}}]}
    answered = origin.post("", content=fhirjson.dumps(bundle))
    assert answered.status_code == 200, answered.text
    sr_ref = answered.json()["entry"][0]["response"]["location"].split("/_history")[0]
    tasks = origin.get("/Task", params={"focus": sr_ref}).json()
    assert len(tasks["entry"]) == 1


def test_a_client_may_send_the_referral_and_its_task_together(origin):
    task = national.referral_task()
    task.update(focus={"reference": "urn:uuid:5b0c7a3e-2f52-4a8e-8d1b-1c2f0e9d7a60"},
                **{"for": {"reference": f.PATIENT}}, requester={"reference": f.ORIGIN},
                owner={"reference": f.DESTINATION})
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": "urn:uuid:5b0c7a3e-2f52-4a8e-8d1b-1c2f0e9d7a60", "resource": f.referral(),
         "request": {"method": "POST", "url": "ServiceRequest"}},
        {"resource": task, "request": {"method": "POST", "url": "Task"}}]}
    answered = origin.post("", content=fhirjson.dumps(bundle))
    assert answered.status_code == 200, answered.text
    sr_ref = answered.json()["entry"][0]["response"]["location"].split("/_history")[0]
    assert len(origin.get("/Task", params={"focus": sr_ref}).json()["entry"]) == 1


def test_an_illegal_operation_answers_409_naming_the_allowed_events(origin, destination):
    _sr, task_id = _send(origin)
    refused = _op(destination, task_id, "arrive")
    assert refused.status_code == 409
    assert "$receive, $accept, $reject" in refused.json()["issue"][0]["diagnostics"]
    assert destination.get(f"/Task/{task_id}").json()["meta"]["versionId"] == "1"


def test_a_party_not_allowed_answers_403_and_nothing_changes(origin, outsider):
    _sr, task_id = _send(origin)
    assert _op(outsider, task_id, "accept").status_code == 403
    assert _op(origin, task_id, "accept").status_code == 403
    assert origin.get(f"/Task/{task_id}").json()["status"] == "requested"


def test_reject_without_reason_answers_400_and_with_a_coded_reason_rejects(origin, destination):
    _sr, task_id = _send(origin)
    assert _op(destination, task_id, "reject").status_code == 400
    rejected = _op(destination, task_id, "reject", _reason(s.CS_REJECTION_REASON, "sin-camas"))
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["statusReason"] == f.reason(s.CS_REJECTION_REASON, "sin-camas")


def test_a_malformed_parameters_body_answers_400(origin, destination):
    _sr, task_id = _send(origin)
    bad = destination.post(f"/Task/{task_id}/$reject", content=fhirjson.dumps({"resourceType": "Patient"}))
    assert bad.status_code == 400


def test_the_coordinator_of_the_region_redirects_to_another_facility(origin, coordinator, outsider):
    sr_id, task_id = _send(origin)
    moved = _op(coordinator, task_id, "redirect",
                {"name": "destination", "valueReference": {"reference": f.NATIONAL_HOSPITAL}})
    assert moved.status_code == 200, moved.text
    assert moved.json()["businessStatus"]["coding"][0]["code"] == "redirigida"
    replacement = outsider.get("/ServiceRequest", params={"replaces": f"ServiceRequest/{sr_id}"}).json()
    [new_referral] = [e["resource"] for e in replacement["entry"]]
    [new_task] = [e["resource"] for e in outsider.get("/Task", params={
        "focus": f"ServiceRequest/{new_referral['id']}"}).json()["entry"]]
    assert new_task["owner"] == {"reference": f.NATIONAL_HOSPITAL}
    assert _op(outsider, new_task["id"], "accept").status_code == 200


def test_a_put_that_changes_the_status_is_checked_as_the_operation(origin, destination, outsider):
    _sr, task_id = _send(origin)
    task = destination.get(f"/Task/{task_id}").json()
    assert outsider.put(f"/Task/{task_id}", content=fhirjson.dumps({**task, "status": "accepted"})).status_code == 403
    assert destination.put(f"/Task/{task_id}", content=fhirjson.dumps({**task, "status": "completed"})
                           ).status_code == 409
    accepted = destination.put(f"/Task/{task_id}", content=fhirjson.dumps({**task, "status": "accepted"}))
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["businessStatus"]["coding"][0]["code"] == "aceptada"
    trail = destination.get("/Provenance", params={"target": f"Task/{task_id}", "_count": "10"}).json()
    assert "accept" in [e["resource"]["activity"]["coding"][0]["code"] for e in trail["entry"]]


def test_a_put_cancel_needs_its_coded_reason(origin):
    _sr, task_id = _send(origin)
    task = origin.get(f"/Task/{task_id}").json()
    assert origin.put(f"/Task/{task_id}", content=fhirjson.dumps({**task, "status": "cancelled"})).status_code == 400
    cancelled = origin.put(f"/Task/{task_id}", content=fhirjson.dumps({
        **task, "status": "cancelled", "statusReason": f.reason(s.CS_CANCELLATION_REASON, "paciente-mejoro")}))
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["businessStatus"]["coding"][0]["code"] == "cancelada"


def test_a_patch_of_the_status_is_checked_too(origin, destination):
    _sr, task_id = _send(origin)
    patch = [{"op": "replace", "path": "/status", "value": "received"}]
    patched = destination.patch(f"/Task/{task_id}", content=fhirjson.dumps(patch),
                                headers={"Content-Type": "application/json-patch+json"})
    assert patched.status_code == 200, patched.text
    assert patched.json()["businessStatus"]["coding"][0]["code"] == "recibida"


def test_a_status_change_hidden_in_a_transaction_bundle_is_refused(origin, destination):
    _sr, task_id = _send(origin)
    patch = base64.b64encode(fhirjson.dumps([{"op": "replace", "path": "/status", "value": "accepted"},
                                             {"op": "replace", "path": "/businessStatus/coding/0/code",
                                              "value": "aceptada"}])).decode()
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": {"resourceType": "Binary", "contentType": "application/json-patch+json", "data": patch},
         "request": {"method": "PATCH", "url": f"Task/{task_id}"}}]}
    assert destination.post("", content=fhirjson.dumps(bundle)).status_code == 409
    assert destination.get(f"/Task/{task_id}").json()["status"] == "requested"


def test_the_destination_worklist_lists_the_most_urgent_deadline_first(origin, destination):
    _sr, routine = _send(origin, priority="routine")
    _sr, emergency = _send(origin, priority="stat")
    worklist = destination.get("/Task", params={"owner": f.DESTINATION, "status": "requested,received",
                                                "_sort": "plazo", "_count": "500"}).json()
    ids = [e["resource"]["id"] for e in worklist["entry"]]
    assert ids.index(emergency) < ids.index(routine)


def test_a_regions_referrals_are_found_by_tag(origin):
    _sr, task_id = _send(origin, performers=(f.NATIONAL_HOSPITAL,))
    found = origin.get("/Task", params={"_tag": f"{s.CS_HEALTH_REGION}|19", "_id": task_id}).json()
    assert [e["resource"]["id"] for e in found["entry"]] == [task_id]


def test_the_capability_statement_declares_the_lifecycle_operations(origin):
    statement = origin.get("/metadata").json()
    [task] = [r for r in statement["rest"][0]["resource"] if r["type"] == "Task"]
    assert {"accept", "reject", "respond", "acknowledge"} <= {o["name"] for o in task.get("operation", [])}


def test_a_plain_update_cannot_move_a_referral_to_another_facility(origin, destination):
    _sr, task_id = _send(origin)
    task = destination.get(f"/Task/{task_id}").json()
    moved = destination.put(f"/Task/{task_id}", content=fhirjson.dumps({**task, "owner": {
        "reference": f.NATIONAL_HOSPITAL}}))
    assert moved.status_code == 409 and moved.json()["issue"][0]["expression"] == ["Task.owner"]
    noted = destination.put(f"/Task/{task_id}", content=fhirjson.dumps({**task, "note": [{"text": "Llamar antes"}]}))
    assert noted.status_code == 200, noted.text


def test_a_status_change_by_put_cannot_also_change_the_patient(origin, destination):
    _sr, task_id = _send(origin)
    task = destination.get(f"/Task/{task_id}").json()
    moved = destination.put(f"/Task/{task_id}", content=fhirjson.dumps({**task, "status": "accepted", "for": {
        "reference": "Patient/otra-paciente"}}))
    assert moved.status_code == 409, moved.text
    assert moved.json()["issue"][0]["expression"] == ["Task.for"]
    stored = destination.get(f"/Task/{task_id}").json()
    assert (stored["status"], stored["for"], stored["meta"]["versionId"]) == (task["status"], task["for"],
                                                                             task["meta"]["versionId"])
