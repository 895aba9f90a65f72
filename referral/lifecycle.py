"""The one service that moves a referral: ``fire(tx, task_id=..., event=..., actor=...)``.

Order of checks, none of which writes anything: the Task exists and is a referral Task (404/410/422), the event
is allowed from its state (409, naming the allowed events), the caller plays a party allowed to fire it (403),
the coded reason and required inputs are there (400). Then the event's action (``referral.actions``) edits the
Task and writes what the event implies, the Task is written through ``ece.store`` with its new status and
businessStatus, the transition is recorded as a Provenance, and the parties are notified
(``referral.notifications``) in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from weakref import WeakKeyDictionary

from ece import fhirjson, reads, store
from ece.access import Actor, Forbidden
from ece.errors import BadRequest, Conflict, Issue, UnprocessableEntity
from ece.tx import Transaction
from referral import machine, notifications, provenance, records, terminology
from referral.inputs import Inputs
from referral.machine import Event, Party

# Task writes this engine has checked against the machine, per transaction: the store hook lets them through
# and refuses any other change of a referral Task's status (referral.hooks).
_checked: WeakKeyDictionary[Transaction, set[str]] = WeakKeyDictionary()

# The elements that say whose referral a Task is and what it asks: only $assign and $redirect change them.
PARTIES = ("requester", "owner", "focus", "for")


def mark_checked(tx: Transaction, reference: str) -> None:
    _checked.setdefault(tx, set()).add(reference)


def was_checked(tx: Transaction, reference: str) -> bool:
    return reference in _checked.get(tx, ())


@dataclass
class Context:
    """What an action sees and edits. ``task`` is the Task's next content (status set after the action)."""

    tx: Transaction
    actor: Actor | None
    inputs: Inputs
    now: datetime
    transition: machine.Transition
    task_id: str
    task: dict
    service_request_ref: str | None
    service_request: dict | None = None
    service_request_changed: bool = False
    created: list[str] = field(default_factory=list)
    appointment: dict | None = None  # booked by $schedule, for the patient's notice

    async def referral(self) -> dict:
        """The ServiceRequest in focus (loaded once)."""
        if self.service_request is None:
            if self.service_request_ref is None:
                raise UnprocessableEntity([Issue("invalid", "La tarea no tiene focus / the Task has no focus",
                                                 ("Task.focus",))])
            self.service_request, _ = await records.load(self.tx, self.service_request_ref)
        return self.service_request

    async def change_referral(self, **changes: object) -> dict:
        data = {**(await self.referral()), **changes}
        self.service_request = data
        self.service_request_changed = True
        return data


@dataclass(frozen=True)
class Fired:
    event: Event
    task: store.WriteResult
    provenance_id: str
    created: list[str]


def _conflict(event: Event, status: str, business: str | None) -> Conflict:
    allowed = machine.allowed_events(status, business)
    names = ", ".join(f"${e}" for e in allowed) or "ninguno / none"
    return Conflict([Issue("business-rule", f"${event} no es posible en el estado {status} ({business}); "
                                            f"eventos permitidos: {names} / ${event} is not allowed from "
                                            f"{status} ({business}); allowed events: {names}")])


def _check_reason(rule: machine.EventRule, inputs: Inputs) -> None:
    if rule.reason_system is None:
        return
    codes = [c for c in (inputs.reason or {}).get("coding", []) if c.get("system") == rule.reason_system]
    if not codes:
        if rule.reason_required:
            raise BadRequest([Issue("required", f"${rule.event} requiere un motivo codificado (parámetro reason) de "
                                                f"{rule.reason_system} / requires a coded reason",
                                    ("Parameters.parameter.where(name = 'reason')",))])
        return
    known = terminology.code_displays(rule.reason_system)
    if codes[0].get("code") not in known:
        raise BadRequest([Issue("code-invalid", f"Motivo desconocido / unknown reason '{codes[0].get('code')}' "
                                                f"en / in {rule.reason_system}",
                                ("Parameters.parameter.where(name = 'reason')",))])


def _check_inputs(rule: machine.EventRule, inputs: Inputs) -> None:
    missing = [name for name in rule.required_inputs if not inputs.has(name)]
    if missing:
        raise BadRequest([Issue("required", f"${rule.event} requiere el parámetro {', '.join(missing)} / requires "
                                            f"the parameter {', '.join(missing)}",
                                (f"Parameters.parameter.where(name = '{missing[0]}')",))])


def moved_parties(stored: dict, written: dict) -> list[str]:
    return [name for name in PARTIES if stored.get(name) != written.get(name)]


def _check_parties_kept(reference: str, stored: dict, replacement: dict) -> None:
    """A PUT/PATCH that changes the status may not also move the referral (409, like a plain update)."""
    moved = moved_parties(stored, replacement)
    if moved:
        raise Conflict([Issue("business-rule", f"{', '.join(moved)} de la referencia {reference} solo cambian con "
                                               "$assign o $redirect, no al cambiar el estado / a referral's parties "
                                               "change only through $assign or $redirect, not with a status change",
                              tuple(f"Task.{name}" for name in moved))])


async def locked_task(tx: Transaction, *, task_id: str) -> reads.Version:
    """The current Task, read under the locks of its referral and then itself (until commit).

    Every transition of a referral's Tasks takes the referral's lock first: two facilities accepting offers of one
    emergency at once are serialised (the second finds its offer withdrawn) instead of each locking its own Task
    and then waiting for the other's. Task.focus never changes (referral.hooks), so the first read finds it."""
    found = await reads.read(tx.conn, resource_type="Task", resource_id=task_id)
    focus = records.reference_of(fhirjson.loads(found.content).get("focus"))
    await store.lock(tx, [f"Task/{task_id}", *([focus] if focus else [])])
    return await reads.read(tx.conn, resource_type="Task", resource_id=task_id)


async def fire(tx: Transaction, *, task_id: str, event: Event, actor: Actor | None, inputs: Inputs | None = None,
               now: datetime | None = None, replacement: dict | None = None) -> Fired:
    """Run ``event`` on referral Task ``task_id`` for ``actor`` (None: the engine itself).

    ``replacement`` is the client's new content of the Task for a direct PUT/PATCH that changes its status:
    it is checked like the operation and written instead of the stored content.
    """
    from referral import actions  # the actions call back into fire (withdrawn offers)

    inputs = inputs or Inputs()
    moment = now or store.now()
    reference = f"Task/{task_id}"
    current = await locked_task(tx, task_id=task_id)
    task = fhirjson.loads(current.content)
    if not records.is_referral_task(task):
        raise UnprocessableEntity([Issue("business-rule", f"{reference} no es una tarea de referencia / is not a "
                                                          "referral Task")])
    status, business = task.get("status"), records.business_of(task)
    step = machine.transition(event, status, business)
    if step is None:
        raise _conflict(event, status, business)
    rule = machine.RULES[event]
    allowed = rule.parties & (machine.parties(actor, task) if actor else frozenset({Party.ENGINE}))
    if not allowed:
        who = actor.subject if actor else "engine"
        raise Forbidden(f"{who} no puede ${event} en {reference}: solo {', '.join(sorted(rule.parties))} / may "
                        f"not ${event} this referral", patient=records.reference_of(task.get("for")),
                        target=reference)
    _check_reason(rule, inputs)
    _check_inputs(rule, inputs)
    if replacement is not None:
        _check_parties_kept(reference, task, replacement)
    base = {**replacement, "id": task_id, "meta": task.get("meta")} if replacement is not None else dict(task)
    context = Context(tx, actor, inputs, moment, step, task_id, base, records.reference_of(task.get("focus")))
    await actions.ACTIONS[event](context)
    written = await _write(context, status, business)
    return written


async def _write(context: Context, source_status: str, source_business: str | None) -> Fired:
    step, tx = context.transition, context.tx
    task = dict(context.task)
    task["status"] = str(step.target)
    task["businessStatus"] = records.business_status(step.business)
    task["lastModified"] = fhirjson.instant(context.now)
    if context.inputs.reason is not None and machine.RULES[step.event].reason_system:
        task["statusReason"] = context.inputs.reason
    elif step.source != step.target:
        task.pop("statusReason", None)
    reference = f"Task/{context.task_id}"
    mark_checked(tx, reference)
    result = await store.update(tx, resource_type="Task", resource_id=context.task_id, data=task)
    if context.service_request_changed and context.service_request is not None and context.service_request_ref:
        sr_type, sr_id = context.service_request_ref.split("/", 1)
        await store.update(tx, resource_type=sr_type, resource_id=sr_id, data=context.service_request)
    recorded = provenance.Step(str(step.event), reference, result.version_id, context.service_request_ref,
                               (source_status, source_business), (str(step.target), str(step.business)),
                               context.now, context.inputs.reason, context.inputs.note,
                               records.reference_of(task.get("for")))
    agent = provenance.agent_of(context.actor)
    trail = await store.create(tx, data=provenance.provenance(recorded, agent))
    referral = await context.referral() if context.service_request_ref else None
    await notifications.announce(tx, event=step.event, task={**task, "id": context.task_id},
                                 service_request=referral, appointment=context.appointment)
    return Fired(step.event, result, trail.id, context.created)
