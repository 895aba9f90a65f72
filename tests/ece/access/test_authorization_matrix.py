"""The authorisation matrix: each role against each read path and each relationship to the patient.

Every cell asserts both directions: what the actor may see is shown, and what it may not is neither shown
nor counted (0 leaks), whichever path asks: read, vread, history, search, totals, compartment, ``_has``,
chains, ``_include``/``_revinclude``, system search, batch and transaction GETs.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from tests.conftest import auth_headers
from tests.ece.access.network import PATIENTS, Network

# Which of the network's patients each actor may see.
EXPECTED = {
    "clinician_a": {"registered", "referred"},
    "clinician_b": {"encountered", "referred"},
    "patient_registered": {"registered"},
    "system_read": set(PATIENTS),
}


def headers_of(net: Network, actor: str) -> dict[str, str]:
    return {"clinician_a": net.clinician_a, "clinician_b": net.clinician_b,
            "patient_registered": lambda: net.patient("registered"),
            "system_read": lambda: auth_headers("system", scopes="system/*.read")}[actor]()


def total(response: httpx.Response) -> int:
    assert response.status_code == 200, response.text
    return response.json().get("total", len(response.json().get("entry", [])))


def ids(response: httpx.Response) -> set[str]:
    if response.status_code == 403:
        return set()
    assert response.status_code == 200, response.text
    return {e["resource"]["id"] for e in response.json().get("entry", []) if "resource" in e}


# Each path answers whether the response revealed the patient (or its Observation).
PATHS: dict[str, Callable[[httpx.Client, Network, str], bool]] = {
    "read Patient": lambda c, n, p: c.get(f"/Patient/{n.patients[p]}").status_code == 200,
    "read Observation": lambda c, n, p: c.get(f"/Observation/{n.observations[p]}").status_code == 200,
    "vread Observation": lambda c, n, p: c.get(f"/Observation/{n.observations[p]}/_history/1").status_code == 200,
    "instance history": lambda c, n, p: c.get(f"/Observation/{n.observations[p]}/_history").status_code == 200,
    "search by code": lambda c, n, p: bool(ids(c.get("/Observation", params={"code": n.codes[p]}))),
    "search by family": lambda c, n, p: bool(ids(c.get("/Patient", params={"family": n.families[p]}))),
    "total by family": lambda c, n, p: total(c.get("/Patient", params={
        "family": n.families[p], "_total": "accurate"})) > 0,
    "sorted by date": lambda c, n, p: n.observations[p] in ids(c.get("/Observation", params={
        "code": ",".join(n.codes.values()), "_sort": "-date", "_count": "50"})),
    "sorted by birthdate": lambda c, n, p: bool(ids(c.get("/Patient", params={
        "family": n.families[p], "_sort": "birthdate"}))),
    "sorted by an absent date": lambda c, n, p: bool(ids(c.get("/Patient", params={
        "family": n.families[p], "_sort": "-death-date"}))),
    "count by subject": lambda c, n, p: total(c.get("/Observation", params={
        "subject": f"Patient/{n.patients[p]}", "_summary": "count"})) > 0,
    "total by _id": lambda c, n, p: total(c.get("/Observation", params={
        "_id": n.observations[p], "_total": "accurate"})) > 0,
    "compartment": lambda c, n, p: bool(ids(c.get(f"/Patient/{n.patients[p]}/Observation"))),
    "_has": lambda c, n, p: bool(ids(c.get("/Patient", params={"_has:Observation:subject:code": n.codes[p]}))),
    "chain": lambda c, n, p: bool(ids(c.get("/Observation", params={"subject:Patient.family": n.families[p]}))),
    "_include": lambda c, n, p: n.patients[p] in ids(c.get("/Observation", params={
        "code": ",".join(n.codes.values()), "_include": "Observation:subject", "_count": "50"})),
    "_revinclude": lambda c, n, p: n.observations[p] in ids(c.get("/Organization", params={
        "_id": n.facility_a, "_revinclude": "Patient:organization"})) | ids(c.get("/Patient", params={
            "_id": n.patients[p], "_revinclude": "Observation:subject"})),
    "system search": lambda c, n, p: n.observations[p] in ids(c.get("/", params={
        "_type": "Observation,Patient", "_id": f"{n.observations[p]},{n.patients[p]}"})),
    "type history": lambda c, n, p: n.observations[p] in {e["resource"]["id"] for e in c.get(
        "/Observation/_history", params={"_count": "1000"}).json().get("entry", []) if "resource" in e},
    "batch GET": lambda c, n, p: c.post("", json={"resourceType": "Bundle", "type": "batch", "entry": [
        {"request": {"method": "GET", "url": f"Observation/{n.observations[p]}"}}]},
        headers={"Content-Type": "application/fhir+json"}).json()["entry"][0]["response"]["status"].startswith("200"),
    "transaction search": lambda c, n, p: bool(c.post("", json={"resourceType": "Bundle", "type": "transaction",
                                                             "entry": [{"request": {"method": "GET", "url":
                                                                        f"Observation?code={n.codes[p]}"}}]},
                                                      headers={"Content-Type": "application/fhir+json"}
                                                      ).json()["entry"][0]["resource"]["entry"]),
}


@pytest.mark.parametrize("path", sorted(PATHS))
@pytest.mark.parametrize("actor", sorted(EXPECTED))
def test_each_path_shows_exactly_the_patients_of_the_actor(live_server, net, actor, path):
    with httpx.Client(base_url=live_server, timeout=30, headers=headers_of(net, actor)) as client:
        seen = {p for p in PATIENTS if PATHS[path](client, net, p)}

    assert seen == EXPECTED[actor]


def test_coordinator_sees_the_region_referral_and_the_minimum_of_its_patient(live_server, net):
    with httpx.Client(base_url=live_server, timeout=30, headers=net.coordinator("08")) as client:
        task = client.get(f"/Task/{net.task}")
        patient = client.get(f"/Patient/{net.patients['referred']}")
        other_patient = client.get(f"/Patient/{net.patients['registered']}")
        observation = client.get(f"/Observation/{net.observations['referred']}")
        tasks = ids(client.get("/Task", params={"_id": net.task, "_include": "Task:patient"}))

    assert task.status_code == 200
    assert patient.status_code == 200 and "telecom" not in patient.json()
    assert patient.json()["name"][0]["family"] == net.families["referred"]
    assert other_patient.status_code == 403
    assert observation.status_code == 403
    assert tasks == {net.task, net.patients["referred"]}


def test_coordinator_of_another_region_sees_no_referral(live_server, net):
    with httpx.Client(base_url=live_server, timeout=30, headers=net.coordinator("11")) as client:
        assert client.get(f"/Task/{net.task}").status_code == 403
        assert total(client.get("/Task", params={"_id": net.task, "_total": "accurate"})) == 0


def test_admin_manages_the_directory_but_reads_no_patient_data(live_server, net):
    with httpx.Client(base_url=live_server, timeout=30, headers=auth_headers("admin", subject="admin-1")) as c:
        created = c.post("/Organization", json={"resourceType": "Organization", "name": "Centro nuevo"},
                         headers={"Content-Type": "application/fhir+json"})
        directory = c.get(f"/Organization/{net.facility_a}")
        patient = c.get(f"/Patient/{net.patients['registered']}")
        patients = c.get("/Patient", params={"_id": net.patients["registered"]})
        everything = ids(c.get("/", params={"_id": f"{net.patients['registered']},{net.facility_a}"}))

    assert created.status_code == 201 and directory.status_code == 200
    assert patient.status_code == 403 and patients.status_code == 403
    assert everything == {net.facility_a}


@pytest.mark.parametrize(("scopes", "readable", "refused"), [
    ("system/Observation.rs", "Observation", "Patient"),  # SMART v2
    ("system/Patient.read", "Patient", "Observation"),  # SMART v1
])
def test_system_client_reads_only_the_types_of_its_scopes(live_server, net, scopes, readable, refused):
    targets = {"Observation": net.observations["stranger"], "Patient": net.patients["stranger"]}
    with httpx.Client(base_url=live_server, timeout=30, headers=auth_headers("system", scopes=scopes)) as c:
        assert c.get(f"/{readable}/{targets[readable]}").status_code == 200
        assert c.get(f"/{refused}/{targets[refused]}").status_code == 403
        assert c.post(f"/{readable}", json={"resourceType": readable},
                      headers={"Content-Type": "application/fhir+json"}).status_code == 403


def test_user_scopes_narrow_what_a_clinician_may_read(live_server, net):
    with httpx.Client(base_url=live_server, timeout=30,
                      headers=net.clinician_a(scopes="user/Observation.read")) as client:
        assert client.get(f"/Observation/{net.observations['registered']}").status_code == 200
        assert client.get(f"/Patient/{net.patients['registered']}").status_code == 403
