"""``Measure/[id]/$evaluate-measure`` over HTTP, and ``ece indicators report``."""

from __future__ import annotations

import json
import uuid

from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from app import cli as cli_module
from app import cli_common
from app.db import libpq_url
from ece import fhirjson
from fhir_profiles import systems as s
from referral.indicators import REPORT_ID_SYSTEM
from referral.indicators_measures import INDICATORS
from tests.conftest import RUN

FHIR_JSON = {"Content-Type": "application/fhir+json"}


def _put(http, resource: dict) -> None:
    response = http.put(f"/{resource['resourceType']}/{resource['id']}", content=fhirjson.dumps(resource),
                        headers=FHIR_JSON)
    assert response.status_code in (200, 201), response.text


def _rejected_referral(http, destination: str, task_id: str) -> None:
    _put(http, {"resourceType": "Task", "id": task_id, "status": "rejected", "intent": "order",
                "businessStatus": {"coding": [{"system": s.CS_REFERRAL_STATUS, "code": "rechazada"}]},
                "statusReason": {"coding": [{"system": s.CS_REJECTION_REASON, "code": "sin-camas"}]},
                "focus": {"reference": f"ServiceRequest/sr-{task_id}"}, "for": {"reference": "Patient/p1"},
                "authoredOn": "2025-03-10T08:00:00-06:00", "requester": {"reference": "Organization/origen"},
                "owner": {"reference": f"Organization/{destination}"}})


def test_evaluate_measure_answers_a_summary_measure_report(http):
    destination = f"hospital-{uuid.uuid4().hex[:8]}"
    _rejected_referral(http, destination, f"{destination}-t1")
    response = http.get("/Measure/rechazo/$evaluate-measure", params={
        "periodStart": "2025-03-01", "periodEnd": "2025-03-31", "subject": f"Organization/{destination}"})
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["resourceType"] == "MeasureReport"
    assert report["reporter"]["reference"] == f"Organization/{destination}"
    group = report["group"][0]
    assert group["measureScore"]["value"] == 1
    assert group["stratifier"][0]["stratum"][0]["value"]["coding"][0]["code"] == "sin-camas"


def test_evaluate_measure_by_post_with_parameters(http):
    destination = f"hospital-{uuid.uuid4().hex[:8]}"
    _rejected_referral(http, destination, f"{destination}-t1")
    body = {"resourceType": "Parameters", "parameter": [
        {"name": "periodStart", "valueDate": "2025-03-01"}, {"name": "periodEnd", "valueDate": "2025-03-31"},
        {"name": "subject", "valueString": f"Organization/{destination}"}]}
    response = http.post("/Measure/referencias-recibidas/$evaluate-measure", content=json.dumps(body),
                         headers=FHIR_JSON)
    assert response.status_code == 200, response.text
    assert response.json()["group"][0]["population"][0]["count"] == 1


def test_evaluate_measure_without_a_period_answers_400(http):
    response = http.get("/Measure/aceptacion/$evaluate-measure")
    assert response.status_code == 400 and response.json()["resourceType"] == "OperationOutcome"


def test_evaluate_an_unknown_measure_answers_404(http):
    response = http.get("/Measure/inventada/$evaluate-measure?periodStart=2025-03-01&periodEnd=2025-03-31")
    assert response.status_code == 404


def test_ece_indicators_report_stores_the_month(live_server, http, server_admin_url, monkeypatch):
    # The command in this process (typer's runner) on the live server's database (tests/conftest.py names it).
    url = libpq_url(str(make_url(server_admin_url).set(database=f"ece_live_{RUN}")))
    monkeypatch.setattr(cli_common, "database_url", lambda: url)
    reported = CliRunner().invoke(cli_module.cli, ["indicators", "report", "--month", "2024-02"])
    assert reported.exit_code == 0, reported.output
    # No referral in that month: one country-wide report per indicator.
    assert f"MeasureReport: {len(INDICATORS)} creados / created" in reported.output
    found = http.get("/MeasureReport", params={"identifier": f"{REPORT_ID_SYSTEM}|ciclo-cerrado:nacional:"
                                                              "2024-02-01:2024-03-01"}).json()
    assert found["total"] == 1
