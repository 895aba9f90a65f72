"""The referral routes' services, under the request's access guard (ece.access: role and scopes, audit trail).

- ``operate``: one lifecycle operation ``Task/[id]/$<event>`` (referral.lifecycle), audited as an operation.
- ``update_task``: a direct PUT or PATCH of a referral Task (R4 http.html#update, #patch) that changes its status
  is the same transition as the operation: the machine finds the event leading from the stored status to the new
  one that the caller may fire, with the same 409/403/400 refusals, and records it. Events that need more than the
  Task itself (``$redirect``, ``$schedule``, ``$respond``) are only available as operations. Any other update is
  the guarded plain update of the record (ece.access.record).
"""

from __future__ import annotations

from typing import Any

from ece import fhirjson, reads, store
from ece.access import Forbidden, Guard
from ece.access import record as guarded
from ece.access.scopes import UPDATE
from ece.errors import Conflict, FhirError, Issue, UnprocessableEntity
from ece.tx import Transaction
from referral import lifecycle, machine, records
from referral.inputs import Inputs
from referral.machine import Event


async def operate(tx: Transaction, *, guard: Guard, task_id: str, event: Event, inputs: Inputs
                  ) -> lifecycle.Fired:
    guard.require(tx, "Task", UPDATE)
    fired = await lifecycle.fire(tx, task_id=task_id, event=event, actor=guard.actor, inputs=inputs)
    await guard.audit(tx, "operation", [("Task", task_id, fired.task.content)])
    return fired


async def patch_task(tx: Transaction, *, guard: Guard, task_id: str, operations: Any, if_match: int | None = None
                     ) -> store.WriteResult:
    """A JSON Patch of a Task (404/410 like a read), checked as the PUT of its result (update_task locks and
    re-reads)."""
    current = fhirjson.loads((await reads.read(tx.conn, resource_type="Task", resource_id=task_id)).content)
    return await update_task(tx, guard=guard, task_id=task_id, data=store.apply_patch(current, operations),
                             if_match=if_match)


async def update_task(tx: Transaction, *, guard: Guard, task_id: str, data: Any, if_match: int | None = None
                      ) -> store.WriteResult:
    actor = guard.actor
    guard.require(tx, "Task", UPDATE)
    try:
        current = await lifecycle.locked_task(tx, task_id=task_id)
    except FhirError:
        current = None
    stored = fhirjson.loads(current.content) if current is not None else None
    if stored is None or not records.is_referral_task(stored) or not isinstance(data, dict) \
            or data.get("status") == stored.get("status"):
        return await guarded.update(tx, guard=guard, resource_type="Task", resource_id=task_id, data=data,
                                    if_match=if_match)
    store.check_if_match(if_match, (current.version_id, False))  # type: ignore[union-attr]
    if data.get("id") != task_id:
        raise UnprocessableEntity([Issue("invalid", "El id del recurso no coincide con el de la URL / resource id "
                                                    "does not match the URL", ("Task.id",))])
    status, business = stored.get("status"), records.business_of(stored)
    candidates = machine.events_between(status, str(data.get("status")), business)
    if not candidates:
        allowed = ", ".join(f"${e}" for e in machine.allowed_events(status, business)) or "ninguno / none"
        raise Conflict([Issue("business-rule", f"La tarea no puede pasar de {status} a {data.get('status')}; eventos "
                                               f"permitidos: {allowed} / illegal status change", ("Task.status",))])
    permitted = [e for e in candidates if machine.may_fire(actor, e, stored)]
    if not permitted:
        raise Forbidden(f"{actor.subject} no puede cambiar el estado de Task/{task_id} a {data.get('status')} / may "
                        "not make this change", patient=records.reference_of(stored.get("for")),
                        target=f"Task/{task_id}")
    direct = [e for e in permitted if not machine.RULES[e].required_inputs]
    if not direct:
        raise Conflict([Issue("business-rule", f"Use la operación ${permitted[0]} / use the ${permitted[0]} "
                                               "operation: it needs parameters a Task cannot carry",
                              ("Task.status",))])
    await guard.require_referenced_patients(tx, data, UPDATE)
    fired = await lifecycle.fire(tx, task_id=task_id, event=direct[0], actor=actor,
                                 inputs=Inputs(reason=data.get("statusReason")), replacement=data)
    await guard.audit(tx, "update", [("Task", task_id, fired.task.content)])
    return fired.task
