"""The audit trail through the FHIR API (ece.access.audit_routes) on the live server: who reads which
AuditEvents, search by patient, date, outcome and agent, keyset paging, and the refusal of every write."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from tests.conftest import auth_headers
from tests.ece.access.network import FHIR_JSON


def client(live_server: str, headers: dict[str, str]) -> httpx.Client:
    return httpx.Client(base_url=live_server, timeout=30, headers=headers)


def instant(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def events(response: httpx.Response) -> list[dict]:
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["resourceType"] == "Bundle" and body["type"] == "searchset"
    return [e["resource"] for e in body.get("entry", [])]


def patients_of(event: dict) -> set[str]:
    return {e["what"]["reference"] for e in event["entity"] if e.get("role", {}).get("code") == "1"}


def test_system_finds_the_audit_event_of_its_own_read_by_patient_and_date(live_server, net):
    backend = auth_headers(subject=f"backend-{net.suffix}")
    patient = f"Patient/{net.patients['registered']}"
    started = datetime.now(UTC)
    with client(live_server, backend) as system:
        assert system.get(f"/{patient}").status_code == 200
        since = events(system.get("/AuditEvent", params={"patient": patient, "date": f"ge{instant(started)}"}))
        before = events(system.get("/AuditEvent", params={"patient": patient, "date": f"lt{instant(started)}"}))
        own = events(system.get("/AuditEvent", params={"altid": f"backend-{net.suffix}"}))
        read_back = system.get(f"/AuditEvent/{since[0]['id']}")

    assert [(e["subtype"][0]["code"], e["agent"][0]["altId"]) for e in since] == [("read", f"backend-{net.suffix}")]
    assert patients_of(since[0]) == {patient}
    assert before and all(e["subtype"][0]["code"] == "create" for e in before)  # the network's writes
    assert [e["id"] for e in own] == [since[0]["id"]]  # the searches of the trail added nothing to it
    assert read_back.status_code == 200 and read_back.json() == since[0]
    assert read_back.json()["meta"]["versionId"] == "1"


def test_patient_sees_only_the_events_about_themselves(live_server, net):
    own, other = f"Patient/{net.patients['encountered']}", f"Patient/{net.patients['stranger']}"
    with client(live_server, auth_headers()) as system:
        stranger_event = events(system.get("/AuditEvent", params={"patient": other, "_count": "1"}))[0]
    with client(live_server, net.patient("encountered")) as patient:
        assert patient.get(f"/{own}").status_code == 200
        everything = events(patient.get("/AuditEvent", params={"_count": "1000"}))
        asked_for_other = events(patient.get("/AuditEvent", params={"patient": other}))
        other_read = patient.get(f"/AuditEvent/{stranger_event['id']}")

    assert everything and all(own in patients_of(e) for e in everything)
    assert any(e["agent"][0]["altId"] == f"pac-encountered-{net.suffix}" for e in everything)
    assert asked_for_other == []
    assert other_read.status_code == 404


def test_admin_sees_only_the_events_about_no_patient(live_server, net):
    anonymous = httpx.get(f"{live_server}/Patient/{net.patients['registered']}", timeout=30)
    assert anonymous.status_code == 401
    with client(live_server, auth_headers()) as system:
        patient_event = events(system.get("/AuditEvent", params={"patient": f"Patient/{net.patients['registered']}",
                                                                 "_count": "1"}))[0]
    with client(live_server, auth_headers("admin", subject=f"admin-{net.suffix}")) as admin:
        refused = events(admin.get("/AuditEvent", params={"outcome": "4", "_count": "1000"}))
        everything = events(admin.get("/AuditEvent", params={"_count": "1000"}))
        patient_read = admin.get(f"/AuditEvent/{patient_event['id']}")

    assert any("unauthenticated" in e["agent"][0]["altId"] and e["outcome"] == "4" for e in refused)
    assert all(e["outcome"] == "4" for e in refused)
    assert everything and all(not patients_of(e) for e in everything)
    assert patient_read.status_code == 404


@pytest.mark.parametrize("role", ["clinician", "coordinator"])
def test_clinical_roles_may_not_read_the_trail(live_server, net, role):
    headers = net.clinician_a() if role == "clinician" else net.coordinator()
    with client(live_server, headers) as reader:
        search = reader.get("/AuditEvent")
        read = reader.get("/AuditEvent/1")
    with client(live_server, auth_headers("admin", subject=f"admin-{net.suffix}")) as admin:
        recorded = events(admin.get("/AuditEvent", params={"outcome": "4", "entity": "AuditEvent/1"}))

    assert (search.status_code, read.status_code) == (403, 403)
    assert search.json()["resourceType"] == "OperationOutcome"
    assert role in {e["agent"][0]["type"]["text"] for e in recorded}  # refused attempts are recorded


def test_backend_without_audit_scope_is_refused(live_server, net):
    with client(live_server, auth_headers(scopes="system/Patient.read")) as backend:
        assert backend.get("/AuditEvent").status_code == 403
    with client(live_server, auth_headers(scopes="system/AuditEvent.rs")) as auditor:
        assert auditor.get("/AuditEvent", params={"_count": "1"}).status_code == 200


@pytest.mark.parametrize(("method", "path"), [("POST", "/AuditEvent"), ("PUT", "/AuditEvent/1"),
                                              ("DELETE", "/AuditEvent/1"), ("PATCH", "/AuditEvent/1"),
                                              ("DELETE", "/AuditEvent"), ("GET", "/AuditEvent/1/_history")])
def test_writes_to_the_trail_answer_405(live_server, net, method, path):
    body = {"resourceType": "AuditEvent", "recorded": "2026-01-01T00:00:00Z"}
    with client(live_server, auth_headers()) as system:
        response = system.request(method, path, json=body if method in ("POST", "PUT") else None,
                                  headers=FHIR_JSON)

    assert response.status_code == 405
    assert response.json()["resourceType"] == "OperationOutcome"


def test_audit_event_in_a_transaction_is_refused(live_server, net):
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [{
        "resource": {"resourceType": "AuditEvent", "type": {"code": "rest"}, "recorded": "2026-01-01T00:00:00Z",
                     "agent": [{"requestor": True}], "source": {"observer": {"display": "x"}}},
        "request": {"method": "POST", "url": "AuditEvent"}}]}
    with client(live_server, auth_headers()) as system:
        response = system.post("", json=bundle, headers=FHIR_JSON)

    assert response.status_code == 403


def test_paging_is_keyed_on_the_sequence_and_stable_while_the_trail_grows(live_server, net):
    patient = f"Patient/{net.patients['referred']}"
    with client(live_server, auth_headers()) as system:
        whole = [e["id"] for e in events(system.get("/AuditEvent", params={"patient": patient, "_count": "1000"}))]
        first = system.get("/AuditEvent", params={"patient": patient, "_count": "2"}).json()
        assert system.get(f"/{patient}").status_code == 200  # a newer event, while paging
        seen = [e["resource"]["id"] for e in first["entry"]]
        page = first
        while next_link := next((link["url"] for link in page["link"] if link["relation"] == "next"), None):
            page = system.get(next_link).json()
            seen += [e["resource"]["id"] for e in page["entry"]]

    assert len(whole) > 2
    assert seen == whole
    assert [int(i) for i in seen] == sorted((int(i) for i in seen), reverse=True)


def test_invalid_date_answers_400(live_server, net):
    with client(live_server, auth_headers()) as system:
        assert system.get("/AuditEvent", params={"date": "ge-yesterday"}).status_code == 400


def test_capability_statement_lists_audit_event_read_and_search_only(live_server):
    statement = httpx.get(f"{live_server}/metadata", timeout=30).json()
    audit_event = next(r for r in statement["rest"][0]["resource"] if r["type"] == "AuditEvent")

    assert {i["code"] for i in audit_event["interaction"]} == {"read", "search-type"}
    assert {"patient", "date", "outcome", "agent", "altid"} <= {p["name"] for p in audit_event["searchParam"]}
