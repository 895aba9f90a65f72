"""What each event does besides moving the Task: deadlines, the ServiceRequest's status and destination, the
Appointment of ``$schedule``, the response of ``$respond``, the new referral of ``$redirect``, withdrawn offers.

Each action edits ``context.task`` (and, through ``context.change_referral``, the ServiceRequest) and writes the
resources the event creates through ``ece.store``; ``referral.lifecycle`` writes the Task and records the step.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

from ece import fhirjson, search, store
from ece.dates import date_range
from ece.errors import BadRequest, Issue
from fhir_profiles import systems
from referral import intake, policy, records
from referral.lifecycle import Context, fire
from referral.machine import Event

RESPONSE_PROFILE = systems.canonical("StructureDefinition", "hn-respuesta-referencia")

Action = Callable[[Context], Awaitable[None]]
DEFAULT_APPOINTMENT_MINUTES = 30
OUTPUT_APPOINTMENT = {"text": "Cita / appointment"}
OUTPUT_RESPONSE = {"text": "Respuesta a la referencia / referral response"}


def _set_deadline(context: Context, within: timedelta | None) -> None:
    context.task = records.with_deadline(context.task, None if within is None else context.now + within)


async def _priority(context: Context) -> str | None:
    return (await context.referral()).get("priority")


def _add_output(context: Context, kind: dict, reference: str) -> None:
    outputs = list(context.task.get("output") or [])
    outputs.append({"type": kind, "valueReference": {"reference": reference}})
    context.task["output"] = outputs


async def _nothing(context: Context) -> None:
    return None


async def _clear_deadline(context: Context) -> None:
    _set_deadline(context, None)


async def _accept_deadline(context: Context) -> None:
    _set_deadline(context, policy.current().accept_within(await _priority(context)))


async def send(context: Context) -> None:
    destination = context.inputs.destination or records.reference_of(context.task.get("owner"))
    if destination is None:
        raise BadRequest([Issue("required", "Una referencia sin destino se envía con el parámetro destination / a "
                                            "draft without a destination needs the destination parameter",
                                ("Parameters.parameter.where(name = 'destination')",))])
    await _route_to(context, destination)
    referral = await context.referral()
    if referral.get("status") == "draft":
        await context.change_referral(status="active")
        await context.change_referral(**await intake.with_summary(context.tx, await context.referral(),
                                                                  now=context.now))
    await _accept_deadline(context)


async def _route_to(context: Context, destination: str) -> None:
    """Make ``destination`` the Task's owner and the referral's performer, with the region tags of both ends."""
    await records.load(context.tx, destination)  # 404 for a destination that does not exist
    context.task["owner"] = {"reference": destination}
    origin = records.reference_of(context.task.get("requester"))
    regions = {r for r in (await records.region_of(context.tx, origin),
                           await records.region_of(context.tx, destination)) if r}
    context.task = records.with_region_tags(context.task, regions)
    referral = await context.referral()
    await context.change_referral(**records.with_region_tags({**referral, "performer": [{"reference": destination}]},
                                                             regions))


async def accept(context: Context) -> None:
    _set_deadline(context, policy.current().attend_within(await _priority(context)))
    owner = records.reference_of(context.task.get("owner"))
    referral = await context.referral()
    if owner and [records.reference_of(p) for p in referral.get("performer", [])] != [owner]:
        await context.change_referral(performer=[{"reference": owner}])
    await _withdraw_other_offers(context)


async def _withdraw_other_offers(context: Context) -> None:
    """An emergency offered to several facilities: the first to accept takes it, the others are withdrawn."""
    if context.service_request_ref is None:
        return
    others = await search.matching_ids(context.tx.conn, resource_type="Task",
                                       query=f"focus={context.service_request_ref}&status=requested,received",
                                       limit=100)
    for other in others:
        if other != context.task_id:
            await fire(context.tx, task_id=other, event=Event.WITHDRAW, actor=None, now=context.now)


async def redirect(context: Context) -> None:
    """This Task is cancelled; a new ServiceRequest that ``replaces`` this one goes to the new destination, and
    the engine opens its Task as for any new referral (referral.intake)."""
    _set_deadline(context, None)
    old = await context.referral()
    new = {k: v for k, v in old.items() if k not in ("id", "meta", "performer", "replaces")}
    profiles = (old.get("meta") or {}).get("profile")
    if profiles:
        new["meta"] = {"profile": profiles}
    new["status"] = "active"
    new["performer"] = [{"reference": context.inputs.destination}]
    new["replaces"] = [{"reference": context.service_request_ref}]
    await records.load(context.tx, context.inputs.destination or "")
    await context.change_referral(status="revoked")
    created = await store.create(context.tx, data=new)
    replacement = f"ServiceRequest/{created.id}"
    context.created.append(replacement)
    tasks = await search.matching_ids(context.tx.conn, resource_type="Task", query=f"focus={replacement}", limit=10)
    context.created.extend(f"Task/{t}" for t in tasks)


async def assign(context: Context) -> None:
    await _route_to(context, context.inputs.destination or "")
    await _accept_deadline(context)


async def schedule(context: Context) -> None:
    start = context.inputs.start or ""
    low = date_range(start)
    if low is None or (context.inputs.end and date_range(context.inputs.end) is None):
        raise BadRequest([Issue("invalid", "start/end deben ser fechas y horas / must be dateTimes")])
    end = context.inputs.end or fhirjson.instant(low[0] + timedelta(minutes=DEFAULT_APPOINTMENT_MINUTES))
    patient = records.reference_of(context.task.get("for"))
    appointment = {
        "resourceType": "Appointment", "status": "booked", "start": start, "end": end,
        "basedOn": [{"reference": context.service_request_ref}],
        "participant": [{"actor": {"reference": patient}, "status": "accepted"}],
        "description": "Cita de la referencia / referral appointment",
    }
    if context.actor and context.actor.practitioner_role:
        appointment["participant"].append({"actor": {"reference": context.actor.practitioner_role},
                                           "status": "accepted"})
    created = await store.create(context.tx, data=appointment)
    context.appointment = appointment
    reference = f"Appointment/{created.id}"
    context.created.append(reference)
    _add_output(context, OUTPUT_APPOINTMENT, reference)


async def arrive(context: Context) -> None:
    _set_deadline(context, None)
    context.task["executionPeriod"] = {**(context.task.get("executionPeriod") or {}),
                                       "start": fhirjson.instant(context.now)}


async def respond(context: Context) -> None:
    """Store the response Composition (hn-respuesta-referencia), link it from Task.output, complete the
    ServiceRequest (R4 task.html#Task.output)."""
    composition = dict(context.inputs.response or {})
    composition.pop("id", None)
    patient = records.reference_of(context.task.get("for"))
    given = records.reference_of(composition.get("subject"))
    if given and patient and given != patient:
        raise BadRequest([Issue("invalid", f"La respuesta es de {given[:80]}, la referencia de {patient} / the "
                                           f"response is about {given[:80]}, the referral about {patient}",
                                ("Parameters.parameter.where(name = 'response').resource.subject",))])
    if not given and context.task.get("for"):
        composition["subject"] = context.task["for"]
    # Declared, the national response profile is checked whatever the deployment enforces by default.
    meta = dict(composition.get("meta") or {})
    if RESPONSE_PROFILE not in meta.get("profile", []):
        meta["profile"] = [*meta.get("profile", []), RESPONSE_PROFILE]
    composition["meta"] = meta
    if not composition.get("event"):
        composition["event"] = [{"detail": [{"reference": context.service_request_ref}]}]
    created = await store.create(context.tx, data=composition)
    reference = f"Composition/{created.id}"
    context.created.append(reference)
    _add_output(context, OUTPUT_RESPONSE, reference)
    context.task["executionPeriod"] = {**(context.task.get("executionPeriod") or {}),
                                       "end": fhirjson.instant(context.now)}
    await context.change_referral(status="completed")


async def cancel(context: Context) -> None:
    _set_deadline(context, None)
    await context.change_referral(status="revoked")


async def entered_in_error(context: Context) -> None:
    _set_deadline(context, None)
    await context.change_referral(status="entered-in-error")


ACTIONS: dict[Event, Action] = {
    Event.SEND: send,
    Event.RECEIVE: _nothing,
    Event.ACCEPT: accept,
    Event.REJECT: _clear_deadline,
    Event.REDIRECT: redirect,
    Event.ASSIGN: assign,
    Event.HOLD: _clear_deadline,
    Event.RESUME: _accept_deadline,
    Event.SCHEDULE: schedule,
    Event.ARRIVE: arrive,
    Event.NO_SHOW: _clear_deadline,
    Event.RESPOND: respond,
    Event.ACKNOWLEDGE: _nothing,
    Event.CANCEL: cancel,
    Event.WITHDRAW: _clear_deadline,
    Event.MARK_OVERDUE: _nothing,
    Event.ENTERED_IN_ERROR: entered_in_error,
}
