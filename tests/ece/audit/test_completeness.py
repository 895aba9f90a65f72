"""Audit completeness on the live server: every response that carried a patient's data has its AuditEvent,
with the ids it returned, and ``ece audit verify`` finds the chain intact."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app.db import libpq_url
from tests.conftest import ROOT, RUN
from tests.ece.access.network import FHIR_JSON, Network


def access_log(live_server: str, net: Network, patient: str) -> list[dict]:
    with httpx.Client(base_url=live_server, timeout=30, headers=net.patient(patient)) as own:
        response = own.get(f"/Patient/{net.patients[patient]}/$access-log")
    assert response.status_code == 200, response.text
    return [e["resource"] for e in response.json()["entry"]]


def test_every_response_with_patient_data_has_its_audit_event(live_server, net):
    patient, observation = net.patients["registered"], net.observations["registered"]
    with httpx.Client(base_url=live_server, timeout=30, headers=net.clinician_a()) as client:
        responses = {
            "read": client.get(f"/Patient/{patient}"),
            "vread": client.get(f"/Observation/{observation}/_history/1"),
            "history": client.get(f"/Observation/{observation}/_history"),
            "search": client.get("/Observation", params={"subject": f"Patient/{patient}"}),
            "create": client.post("/Observation", json={"resourceType": "Observation", "status": "final",
                                                        "code": {"text": "peso"},
                                                        "subject": {"reference": f"Patient/{patient}"}},
                                  headers=FHIR_JSON),
        }
    assert all(r.status_code in (200, 201) for r in responses.values())

    events = [e for e in access_log(live_server, net, "registered") if e["agent"][0]["altId"] == f"dra-a-"
              f"{net.suffix}"]

    assert {e["subtype"][0]["code"] for e in events} >= set(responses)
    search_event = next(e for e in events if e["subtype"][0]["code"] == "search")
    returned = {e["what"]["reference"] for e in search_event["entity"] if "what" in e}
    assert f"Observation/{observation}" in returned
    query = next(e["query"] for e in search_event["entity"] if "query" in e)
    assert f"subject=Patient%2F{patient}" in base64.b64decode(query).decode()
    read_event = next(e for e in events if e["subtype"][0]["code"] == "read")
    assert read_event["agent"][0]["who"]["display"] == "Dra. Ana Aguilar"
    assert read_event["agent"][1]["who"]["reference"] == f"Organization/{net.facility_a}"
    assert read_event["purposeOfEvent"][0]["coding"][0]["code"] == "TREAT"
    assert read_event["source"]["observer"]["display"]


def test_a_count_about_a_named_patient_is_audited_for_that_patient(live_server, net):
    """``_summary=count`` returns no row, but tells how many Observations the patient has."""
    patient = net.patients["registered"]
    with httpx.Client(base_url=live_server, timeout=30, headers=net.clinician_a()) as client:
        counted = client.get("/Observation", params={"subject": f"Patient/{patient}", "_summary": "count"})
    assert counted.status_code == 200 and counted.json()["total"] >= 1

    queries = [base64.b64decode(entity["query"]).decode() for event in access_log(live_server, net, "registered")
               if event["subtype"][0]["code"] == "search" for entity in event["entity"] if "query" in entity]

    assert any("_summary=count" in query for query in queries)


def test_refused_attempts_are_audited_for_the_patient_they_concerned(live_server, net):
    with httpx.Client(base_url=live_server, timeout=30, headers=net.clinician_b()) as client:
        assert client.get(f"/Observation/{net.observations['stranger']}").status_code == 403

    refused = [e for e in access_log(live_server, net, "stranger") if e["outcome"] == "4"]

    assert [e["agent"][0]["altId"] for e in refused] == [f"dr-b-{net.suffix}"]


def test_audit_chain_of_the_live_server_verifies(live_server, server_admin_url, net):
    with httpx.Client(base_url=live_server, timeout=30, headers=net.clinician_a()) as client:
        client.get(f"/Patient/{net.patients['registered']}")
    url = make_url(server_admin_url).set(database=f"ece_live_{RUN}").render_as_string(hide_password=False)

    result = subprocess.run([sys.executable, "-m", "app", "audit", "verify"], cwd=ROOT, capture_output=True,
                            text=True, timeout=60, env={**os.environ, "ECE_DATABASE_URL": libpq_url(url)})

    assert result.returncode == 0, result.stdout + result.stderr
    assert "Cadena íntegra" in result.stdout


def test_a_refusal_raised_outside_the_guard_is_audited_too(live_server, server_admin_url, net):
    """$route's own rule (the referring facility, its region's coordinators) refuses a patient: recorded."""
    with httpx.Client(base_url=live_server, timeout=30, headers=net.patient("referred")) as client:
        assert client.get(f"/ServiceRequest/{net.service_request}/$route").status_code == 403
    url = make_url(server_admin_url).set(database=f"ece_live_{RUN}").render_as_string(hide_password=False)
    engine = create_engine(url)
    with engine.connect() as conn:
        contents = conn.execute(text("SELECT content FROM audit_event WHERE content LIKE :path"),
                                {"path": f"%/fhir/ServiceRequest/{net.service_request}/$route%"}).scalars().all()
    engine.dispose()
    refusals = [json.loads(c) for c in contents]
    assert [(r["outcome"], r["agent"][0]["altId"]) for r in refusals] == [("4", f"pac-referred-{net.suffix}")]
