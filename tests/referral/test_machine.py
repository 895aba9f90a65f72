"""The declared machine itself: its table, its guards (pure functions of actor and Task)."""

from __future__ import annotations

from ece.access import Actor, Role
from fhir_profiles import systems as s
from referral import machine
from referral.machine import Event, Party, Status
from tests.referral import factories as f

TASK = {"resourceType": "Task", "status": "requested", "requester": {"reference": f.ORIGIN},
        "owner": {"reference": f.DESTINATION},
        "meta": {"tag": [{"system": s.CS_HEALTH_REGION, "code": "10"}]}}


def test_every_event_has_a_rule_and_at_least_one_transition():
    assert set(machine.RULES) == set(Event)
    assert {t.event for t in machine.TRANSITIONS} == set(Event)


def test_one_transition_per_event_and_state():
    keys = [(t.event, t.source, t.only_from) for t in machine.TRANSITIONS]
    assert len(keys) == len(set(keys))


def test_terminal_states_only_allow_what_the_lifecycle_says():
    assert machine.allowed_events("cancelled", "cancelada") == []
    assert machine.allowed_events("completed", "respondida") == [Event.ACKNOWLEDGE]
    assert machine.allowed_events("completed", "respuesta-recibida") == []


def test_the_parties_of_clinicians_follow_requester_and_owner():
    assert machine.parties(f.ORIGIN_CLINICIAN, TASK) == {Party.ORIGIN}
    assert machine.parties(f.DESTINATION_CLINICIAN, TASK) == {Party.DESTINATION}
    assert machine.parties(f.NATIONAL_CLINICIAN, TASK) == set()


def test_a_coordinator_is_a_party_only_in_the_regions_of_the_referral():
    assert machine.parties(f.COORDINATOR_10, TASK) == {Party.COORDINATOR}
    assert machine.parties(f.COORDINATOR_05, TASK) == set()


def test_patients_and_admins_fire_nothing_and_system_clients_act_as_any_party():
    admin = Actor(subject="admin", role=Role.ADMIN)
    system = Actor(subject="integracion", role=Role.SYSTEM, scopes=frozenset({"system/*.*"}))
    assert machine.parties(f.PATIENT_ACTOR, TASK) == set() and machine.parties(admin, TASK) == set()
    assert machine.may_fire(system, Event.ACCEPT, TASK) and machine.may_fire(system, Event.CANCEL, TASK)


def test_a_put_from_requested_to_cancelled_may_mean_three_events():
    assert machine.events_between(Status.REQUESTED, Status.CANCELLED, "enviada") == [
        Event.REDIRECT, Event.CANCEL, Event.WITHDRAW]


def test_the_provenance_transition_extension_is_the_one_the_national_guide_defines():
    from datetime import UTC, datetime

    from fhir_profiles import catalog
    from referral import provenance

    definition = catalog.by_url()[provenance.EXT_TRANSITION]
    slices = {e["sliceName"] for e in definition["differential"]["element"] if e.get("sliceName")}
    step = provenance.Step("reject", "Task/t1", 2, "ServiceRequest/s1", ("requested", "enviada"),
                           ("rejected", "rechazada"), datetime(2026, 11, 29, tzinfo=UTC), note="Sin camas")
    written = provenance.provenance(step, provenance.agent_of(None))["extension"][0]["extension"]
    assert {part["url"] for part in written} == slices


def test_every_lifecycle_operation_has_its_operation_definition():
    from fhir_profiles import catalog

    defined = {r["code"]: r for r in catalog.of_type("OperationDefinition") if r["resource"] == ["Task"]}
    assert set(defined) == {str(e) for e in Event}
    reject = {p["name"]: p["min"] for p in defined["reject"]["parameter"] if p["use"] == "in"}
    assert reject == {"reason": 1, "note": 0}
