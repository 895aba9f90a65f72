"""The lifecycle service on a real database: every transition, every refusal, and what each one writes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ece import fhirjson, reads, search, store
from ece.access import Forbidden
from ece.errors import BadRequest, Conflict, UnprocessableEntity
from fhir_profiles import systems as s
from referral import lifecycle, machine
from referral.inputs import Inputs
from referral.machine import Event
from tests.referral import factories as f

NOW = datetime(2026, 11, 29, 15, 0, tzinfo=UTC)


async def _read(tx, reference: str) -> dict:
    kind, rid = reference.split("/")
    return fhirjson.loads((await reads.read(tx.conn, resource_type=kind, resource_id=rid)).content)


async def _open(tx, **kwargs) -> tuple[str, list[str]]:
    await f.network(tx)
    created = await store.create(tx, data=f.referral(**kwargs))
    tasks = await search.matching_ids(tx.conn, resource_type="Task", query=f"focus=ServiceRequest/{created.id}",
                                      limit=10)
    return created.id, sorted(tasks)


async def _fire(tx, task_id: str, event: Event, actor=f.DESTINATION_CLINICIAN, **inputs):
    return await lifecycle.fire(tx, task_id=task_id, event=event, actor=actor, inputs=Inputs(**inputs), now=NOW)


def _business(task: dict) -> str:
    return task["businessStatus"]["coding"][0]["code"]


async def _provenances(tx, task_id: str) -> list[dict]:
    """The Task's trail in the order of the versions it wrote."""
    page = await search.search(tx.conn, resource_types=["Provenance"],
                               pairs=[("target", f"Task/{task_id}"), ("_count", "50")])
    trail = [fhirjson.loads(c) for _t, _i, c in page.matches]
    return sorted(trail, key=lambda p: int(p["target"][0]["reference"].rsplit("/", 1)[1]))


async def test_creating_a_referral_opens_its_task_with_parties_tags_and_deadline(tx):
    sr_id, [task_id] = await _open(tx)
    task = await _read(tx, f"Task/{task_id}")
    assert (task["status"], _business(task)) == ("requested", "enviada")
    assert task["requester"] == {"reference": f.ORIGIN} and task["owner"] == {"reference": f.DESTINATION}
    assert task["for"] == {"reference": f.PATIENT} and task["focus"] == {"reference": f"ServiceRequest/{sr_id}"}
    assert task["meta"]["tag"] == [{"system": s.CS_HEALTH_REGION, "code": "10"}]
    authored = datetime.fromisoformat(task["authoredOn"])
    deadline = datetime.fromisoformat(task["restriction"]["period"]["end"])
    assert deadline - authored == timedelta(hours=24)  # urgent: one day to accept by default
    referral = await _read(tx, f"ServiceRequest/{sr_id}")
    assert referral["meta"]["tag"] == [{"system": s.CS_HEALTH_REGION, "code": "10"}]
    summary = await _read(tx, referral["supportingInfo"][-1]["reference"])
    assert (summary["resourceType"], summary["type"]) == ("Bundle", "document")


async def test_a_referral_across_regions_is_tagged_with_both(tx):
    _sr, [task_id] = await _open(tx, performers=(f.NATIONAL_HOSPITAL,))
    task = await _read(tx, f"Task/{task_id}")
    assert [t["code"] for t in task["meta"]["tag"]] == ["10", "19"]
    found = await search.matching_ids(tx.conn, resource_type="Task", query=f"_tag={s.CS_HEALTH_REGION}|19", limit=5)
    assert found == [task_id]


async def test_the_whole_loop_receive_accept_schedule_arrive_respond_acknowledge(tx):
    sr_id, [task_id] = await _open(tx)
    await _fire(tx, task_id, Event.RECEIVE)
    await _fire(tx, task_id, Event.ACCEPT)
    scheduled = await _fire(tx, task_id, Event.SCHEDULE, start="2026-12-02T08:00:00-06:00")
    appointment = await _read(tx, scheduled.created[0])
    assert appointment["status"] == "booked" and appointment["basedOn"] == [{"reference": f"ServiceRequest/{sr_id}"}]
    await _fire(tx, task_id, Event.ARRIVE)
    answered = await _fire(tx, task_id, Event.RESPOND, response=f.response())
    composition = await _read(tx, answered.created[0])
    assert composition["event"] == [{"detail": [{"reference": f"ServiceRequest/{sr_id}"}]}]
    await _fire(tx, task_id, Event.ACKNOWLEDGE, actor=f.ORIGIN_CLINICIAN)
    task = await _read(tx, f"Task/{task_id}")
    assert (task["status"], _business(task)) == ("completed", "respuesta-recibida")
    assert [o["valueReference"]["reference"] for o in task["output"]] == [scheduled.created[0], answered.created[0]]
    assert (await _read(tx, f"ServiceRequest/{sr_id}"))["status"] == "completed"
    trail = await _provenances(tx, task_id)
    assert [p["activity"]["coding"][0]["code"] for p in trail] == [
        "send", "receive", "accept", "schedule", "arrive", "respond", "acknowledge"]


async def test_a_response_about_another_patient_answers_400_and_the_referral_stays_open(tx):
    _sr, [task_id] = await _open(tx)
    for event in (Event.RECEIVE, Event.ACCEPT, Event.ARRIVE):
        await _fire(tx, task_id, event)
    stranger = {**f.response(), "subject": {"reference": "Patient/otra-paciente"}}
    with pytest.raises(BadRequest):
        await _fire(tx, task_id, Event.RESPOND, response=stranger)
    assert (await _read(tx, f"Task/{task_id}"))["status"] == "in-progress"


async def test_the_stored_response_declares_the_national_response_profile(tx):
    _sr, [task_id] = await _open(tx)
    for event in (Event.RECEIVE, Event.ACCEPT, Event.ARRIVE):
        await _fire(tx, task_id, event)
    undeclared = {k: v for k, v in f.response().items() if k != "meta"}
    answered = await _fire(tx, task_id, Event.RESPOND, response=undeclared)
    composition = await _read(tx, answered.created[0])
    assert s.canonical("StructureDefinition", "hn-respuesta-referencia") in composition["meta"]["profile"]


async def test_each_transition_is_a_provenance_with_who_when_from_to_and_why(tx):
    sr_id, [task_id] = await _open(tx)
    fired = await _fire(tx, task_id, Event.REJECT, reason=f.reason(s.CS_REJECTION_REASON, "sin-camas"),
                        note="Sin camas en pediatría")
    provenance = await _read(tx, f"Provenance/{fired.provenance_id}")
    assert provenance["target"] == [{"reference": f"Task/{task_id}/_history/{fired.task.version_id}"},
                                    {"reference": f"ServiceRequest/{sr_id}"}, {"reference": f.PATIENT}]
    assert provenance["recorded"] == "2026-11-29T15:00:00.000Z"
    assert provenance["agent"][0]["who"]["reference"] == "PractitionerRole/pediatra-hospital"
    assert provenance["agent"][0]["onBehalfOf"] == {"reference": f.DESTINATION}
    assert provenance["reason"] == [f.reason(s.CS_REJECTION_REASON, "sin-camas")]
    steps = {e["url"]: e["valueCode"] if "valueCode" in e else e["valueString"]
             for e in provenance["extension"][0]["extension"]}
    assert steps == {"evento": "reject", "desde": "requested", "desde-estado-negocio": "enviada",
                     "hacia": "rejected", "hacia-estado-negocio": "rechazada", "nota": "Sin camas en pediatría"}
    task = await _read(tx, f"Task/{task_id}")
    assert task["statusReason"] == f.reason(s.CS_REJECTION_REASON, "sin-camas") and "restriction" not in task


async def test_an_illegal_transition_answers_409_naming_the_allowed_events_and_changes_nothing(tx):
    _sr, [task_id] = await _open(tx)
    before = await reads.read(tx.conn, resource_type="Task", resource_id=task_id)
    with pytest.raises(Conflict) as refused:
        await _fire(tx, task_id, Event.ARRIVE)
    assert "$receive, $accept, $reject" in str(refused.value)
    after = await reads.read(tx.conn, resource_type="Task", resource_id=task_id)
    assert after.version_id == before.version_id


async def test_a_party_not_allowed_answers_403(tx):
    _sr, [task_id] = await _open(tx)
    with pytest.raises(Forbidden):
        await _fire(tx, task_id, Event.ACCEPT, actor=f.ORIGIN_CLINICIAN)
    with pytest.raises(Forbidden):
        await _fire(tx, task_id, Event.CANCEL, actor=f.NATIONAL_CLINICIAN,
                    reason=f.reason(s.CS_CANCELLATION_REASON, "paciente-mejoro"))
    with pytest.raises(Forbidden):
        await _fire(tx, task_id, Event.CANCEL, actor=f.COORDINATOR_05,
                    reason=f.reason(s.CS_CANCELLATION_REASON, "paciente-mejoro"))
    with pytest.raises(Forbidden):
        await _fire(tx, task_id, Event.RECEIVE, actor=f.PATIENT_ACTOR)


async def test_reject_without_reason_answers_400(tx):
    _sr, [task_id] = await _open(tx)
    with pytest.raises(BadRequest):
        await _fire(tx, task_id, Event.REJECT)
    with pytest.raises(BadRequest):
        await _fire(tx, task_id, Event.REJECT, reason=f.reason(s.CS_REJECTION_REASON, "no-such-reason"))
    with pytest.raises(BadRequest):
        await _fire(tx, task_id, Event.REJECT, reason=f.reason(s.CS_CANCELLATION_REASON, "paciente-mejoro"))


async def test_cancel_by_the_origin_needs_a_coded_reason_and_revokes_the_referral(tx):
    sr_id, [task_id] = await _open(tx)
    with pytest.raises(BadRequest):
        await _fire(tx, task_id, Event.CANCEL, actor=f.ORIGIN_CLINICIAN)
    await _fire(tx, task_id, Event.CANCEL, actor=f.ORIGIN_CLINICIAN,
                reason=f.reason(s.CS_CANCELLATION_REASON, "paciente-mejoro"))
    task = await _read(tx, f"Task/{task_id}")
    assert (task["status"], _business(task)) == ("cancelled", "cancelada")
    assert (await _read(tx, f"ServiceRequest/{sr_id}"))["status"] == "revoked"


async def test_a_coordinator_of_the_region_may_cancel(tx):
    _sr, [task_id] = await _open(tx)
    await _fire(tx, task_id, Event.CANCEL, actor=f.COORDINATOR_10,
                reason=f.reason(s.CS_CANCELLATION_REASON, "atendido-en-otro-lugar"))
    assert (await _read(tx, f"Task/{task_id}"))["status"] == "cancelled"


async def test_hold_and_resume(tx):
    _sr, [task_id] = await _open(tx)
    await _fire(tx, task_id, Event.HOLD, note="Falta el hemograma")
    held = await _read(tx, f"Task/{task_id}")
    assert (held["status"], _business(held)) == ("on-hold", "en-espera") and "restriction" not in held
    await _fire(tx, task_id, Event.RESUME, actor=f.ORIGIN_CLINICIAN)
    resumed = await _read(tx, f"Task/{task_id}")
    assert (resumed["status"], _business(resumed)) == ("received", "recibida")
    assert resumed["restriction"]["period"]["end"] == "2026-11-30T15:00:00.000Z"


async def test_no_show_fails_the_task(tx):
    _sr, [task_id] = await _open(tx)
    await _fire(tx, task_id, Event.ACCEPT)
    await _fire(tx, task_id, Event.NO_SHOW)
    task = await _read(tx, f"Task/{task_id}")
    assert (task["status"], _business(task)) == ("failed", "no-se-presento")


async def test_schedule_without_a_date_answers_400(tx):
    _sr, [task_id] = await _open(tx)
    await _fire(tx, task_id, Event.ACCEPT)
    with pytest.raises(BadRequest):
        await _fire(tx, task_id, Event.SCHEDULE)


async def test_redirect_cancels_this_task_and_opens_a_new_referral_that_replaces_the_old(tx):
    sr_id, [task_id] = await _open(tx)
    await _fire(tx, task_id, Event.REJECT, reason=f.reason(s.CS_REJECTION_REASON, "nivel-equivocado"))
    fired = await _fire(tx, task_id, Event.REDIRECT, actor=f.ORIGIN_CLINICIAN, destination=f.NATIONAL_HOSPITAL)
    new_sr, new_task = fired.created
    old = await _read(tx, f"Task/{task_id}")
    assert (old["status"], _business(old)) == ("cancelled", "redirigida")
    assert (await _read(tx, f"ServiceRequest/{sr_id}"))["status"] == "revoked"
    replacement = await _read(tx, new_sr)
    assert replacement["replaces"] == [{"reference": f"ServiceRequest/{sr_id}"}]
    assert replacement["performer"] == [{"reference": f.NATIONAL_HOSPITAL}]
    opened = await _read(tx, new_task)
    assert opened["owner"] == {"reference": f.NATIONAL_HOSPITAL} and opened["status"] == "requested"


async def test_redirect_without_destination_answers_400(tx):
    _sr, [task_id] = await _open(tx)
    with pytest.raises(BadRequest):
        await _fire(tx, task_id, Event.REDIRECT, actor=f.COORDINATOR_10)


async def test_acknowledge_twice_is_illegal(tx):
    _sr, [task_id] = await _open(tx)
    for event in (Event.ACCEPT, Event.ARRIVE):
        await _fire(tx, task_id, event)
    await _fire(tx, task_id, Event.RESPOND, response=f.response())
    await _fire(tx, task_id, Event.ACKNOWLEDGE, actor=f.ORIGIN_CLINICIAN)
    with pytest.raises(Conflict):
        await _fire(tx, task_id, Event.ACKNOWLEDGE, actor=f.ORIGIN_CLINICIAN)


async def test_entered_in_error_by_the_origin(tx):
    sr_id, [task_id] = await _open(tx)
    await _fire(tx, task_id, Event.ENTERED_IN_ERROR, actor=f.ORIGIN_CLINICIAN)
    assert (await _read(tx, f"Task/{task_id}"))["status"] == "entered-in-error"
    assert (await _read(tx, f"ServiceRequest/{sr_id}"))["status"] == "entered-in-error"


async def test_a_draft_referral_opens_a_draft_task_sent_later_by_the_origin(tx):
    sr_id, [task_id] = await _open(tx, status="draft")
    draft = await _read(tx, f"Task/{task_id}")
    assert (draft["status"], _business(draft)) == ("draft", "borrador") and "restriction" not in draft
    await _fire(tx, task_id, Event.SEND, actor=f.ORIGIN_CLINICIAN)
    sent = await _read(tx, f"Task/{task_id}")
    assert (sent["status"], _business(sent)) == ("requested", "enviada")
    referral = await _read(tx, f"ServiceRequest/{sr_id}")
    assert referral["status"] == "active" and referral["supportingInfo"][-1]["reference"].startswith("Bundle/")


async def test_engine_events_are_refused_to_clinicians(tx):
    _sr, [task_id] = await _open(tx)
    with pytest.raises(Forbidden):
        await _fire(tx, task_id, Event.MARK_OVERDUE)


async def test_a_task_that_is_not_a_referral_answers_422(tx):
    created = await store.create(tx, data={"resourceType": "Task", "status": "requested", "intent": "order"})
    with pytest.raises(UnprocessableEntity):
        await _fire(tx, created.id, Event.ACCEPT)


def test_every_business_status_the_machine_sets_is_a_national_code_for_its_task_status():
    from fhir_profiles import catalog

    concepts = catalog.by_url()[s.CS_REFERRAL_STATUS]["concept"]
    allowed = {(c["code"], p["valueCode"]) for c in concepts for p in c.get("property", [])}
    for step in machine.TRANSITIONS:
        assert (str(step.business), str(step.target)) in allowed, step
    events = {c["code"] for c in catalog.by_url()[s.CS_REFERRAL_EVENT]["concept"]}
    assert events == {str(e) for e in Event}
