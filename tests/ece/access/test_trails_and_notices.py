"""Two ways into a row besides the patient's compartment: a Provenance is seen with the resource it is about
(the referral trail targets the Task), and a Communication by the recipients it names. Neither leaks to
anybody else, by read or by count."""

from __future__ import annotations

import httpx
import pytest

from ece.access.policy import REGION_SYSTEM
from tests.conftest import auth_headers
from tests.ece.access.network import Network, build

FHIR_JSON = {"Content-Type": "application/fhir+json"}


@pytest.fixture(scope="module")
def trail(live_server: str) -> tuple[Network, str, str]:
    with httpx.Client(base_url=live_server, timeout=30, headers=auth_headers()) as system:
        net = build(system)
        provenance = system.post("/Provenance", headers=FHIR_JSON, json={
            "resourceType": "Provenance", "target": [{"reference": f"Task/{net.task}/_history/1"}],
            "recorded": "2026-11-29T13:00:00Z",
            "agent": [{"who": {"reference": f"Organization/{net.facility_b}"}}]})
        assert provenance.status_code == 201, provenance.text
        notice = system.post("/Communication", headers=FHIR_JSON, json={
            "resourceType": "Communication", "status": "in-progress",
            "meta": {"tag": [{"system": REGION_SYSTEM, "code": "05"}]},
            "recipient": [{"reference": f"Organization/{net.facility_b}"}],
            "about": [{"reference": f"Task/{net.task}"}],
            "payload": [{"contentString": "Referencia recibida / referral received"}]})
        assert notice.status_code == 201, notice.text
        return net, provenance.json()["id"], notice.json()["id"]


def _seen(client: httpx.Client, resource_type: str, resource_id: str) -> tuple[int, int]:
    """(read status, search total) of one resource for this client."""
    read = client.get(f"/{resource_type}/{resource_id}").status_code
    found = client.get(f"/{resource_type}", params={"_id": resource_id, "_total": "accurate"})
    assert found.status_code in (200, 403), found.text
    return read, found.json().get("total", 0) if found.status_code == 200 else 0


@pytest.mark.parametrize(("actor", "sees"), [
    ("clinician_a", True),  # the referring facility (Task.requester)
    ("clinician_b", True),  # the receiving facility (Task.owner)
    ("clinician_c", False),
    ("coordinator_05", True),
    ("coordinator_10", False),
])
def test_a_referral_trail_is_seen_by_whoever_sees_its_task_and_by_nobody_else(live_server, trail, actor, sees):
    net, provenance, _notice = trail
    headers = {"clinician_a": net.clinician_a, "clinician_b": net.clinician_b,
               "clinician_c": lambda: auth_headers("clinician", facility="Organization/ninguna"),
               "coordinator_05": lambda: net.coordinator("05"),
               "coordinator_10": lambda: net.coordinator("10")}[actor]()
    with httpx.Client(base_url=live_server, timeout=30, headers=headers) as client:
        assert _seen(client, "Provenance", provenance) == ((200, 1) if sees else (403, 0))


@pytest.mark.parametrize(("actor", "sees"), [
    ("clinician_b", True),  # the recipient
    ("clinician_a", False),
    ("coordinator_05", True),  # the region the notice is tagged with
    ("coordinator_08", False),
])
def test_a_notice_is_seen_by_its_recipient_and_its_regions_coordinators_only(live_server, trail, actor, sees):
    net, _provenance, notice = trail
    headers = {"clinician_a": net.clinician_a, "clinician_b": net.clinician_b,
               "coordinator_05": lambda: net.coordinator("05"),
               "coordinator_08": lambda: net.coordinator("08")}[actor]()
    with httpx.Client(base_url=live_server, timeout=30, headers=headers) as client:
        assert _seen(client, "Communication", notice) == ((200, 1) if sees else (403, 0))
