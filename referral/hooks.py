"""The referral engine's place in the store's write path (``ece.store.on_write``), registered by the app.

- A referral ServiceRequest written for the first time opens its Task(s) in the same transaction, unless the
  same flush carries a Task whose focus is that ServiceRequest (the client sent both).
- A referral Task whose status, parties or focus change outside the engine (a transaction Bundle, a loader, a
  plain update) is refused with 409: status changes go through the operations or the PUT/PATCH routes of
  referral.api, which check them, and parties change only by $assign or $redirect.
"""

from __future__ import annotations

from ece import fhirjson, reads, store
from ece.errors import Conflict, FhirError, Issue
from ece.tx import Transaction
from referral import intake, lifecycle, records


async def on_flushed(tx: Transaction, written: list[store.WriteResult]) -> None:
    tasks = [w for w in written if w.resource_type == "Task" and w.content is not None]
    for task in tasks:
        if task.status != 201 and not lifecycle.was_checked(tx, f"Task/{task.id}"):
            await _refuse_unchecked_status_change(tx, task)
    referrals = [w for w in written if w.resource_type == "ServiceRequest" and w.status == 201 and w.content]
    if not referrals:
        return
    focused = {records.reference_of(fhirjson.loads(t.content).get("focus")) for t in tasks}  # type: ignore[arg-type]
    for written_referral in referrals:
        data = fhirjson.loads(written_referral.content)  # type: ignore[arg-type]
        if records.is_referral(data) and f"ServiceRequest/{written_referral.id}" not in focused:
            await intake.open_referral(tx, service_request=data)


async def _refuse_unchecked_status_change(tx: Transaction, written: store.WriteResult) -> None:
    task = fhirjson.loads(written.content)  # type: ignore[arg-type]
    try:
        before = await reads.vread(tx.conn, resource_type="Task", resource_id=written.id,
                                   version_id=str(written.version_id - 1))
    except FhirError:
        return
    previous = fhirjson.loads(before.content)  # type: ignore[arg-type]
    if not records.is_referral_task(previous):
        return
    moved = lifecycle.moved_parties(previous, task)
    if moved:
        raise Conflict([Issue("business-rule", f"{', '.join(moved)} de la referencia Task/{written.id} solo cambian "
                                               "con $assign o $redirect / a referral's parties change only through "
                                               "$assign or $redirect", tuple(f"Task.{name}" for name in moved))])
    if previous.get("status") != task.get("status") or records.business_of(previous) != records.business_of(task):
        raise Conflict([Issue("business-rule", f"El estado de la referencia Task/{written.id} solo cambia con sus "
                                               "operaciones ($accept, $reject...) o con PUT/PATCH de la tarea / a "
                                               "referral Task's status changes only through its operations or a "
                                               "direct PUT/PATCH of the Task", ("Task.status",))])
