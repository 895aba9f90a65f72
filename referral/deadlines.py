"""Deadlines: each referral Task carries its current deadline (Task.restriction.period.end, searchable as
``plazo``): to accept it while requested or received, to attend the patient once accepted (``referral.policy``).

The periodic sweep (Celery beat, app.referral_tasks) finds the Tasks past their deadline that are not yet marked,
and for each one, in its own transaction: fires ``mark-overdue`` (businessStatus aceptacion-vencida or
atencion-vencida, recorded as a Provenance by the engine; the coordinators of the region are notified by
``referral.notifications``) and, when the policy says so, redirects a referral nobody accepted to the next
candidate destination.
"""

from __future__ import annotations

from datetime import datetime

from ece import fhirjson, reads, search
from ece.errors import Conflict
from ece.tx import Transaction
from fhir_profiles import systems
from referral import intake, lifecycle, machine, policy, records
from referral.inputs import Inputs
from referral.machine import Event, Status
from referral.search_parameters import DEADLINE

SWEEP_BATCH = 500


def _markable_business() -> list[str]:
    return sorted({str(code) for t in machine.TRANSITIONS if t.event == Event.MARK_OVERDUE
                   for code in (t.only_from or ())})


def overdue_search(now: datetime, *, limit: int = SWEEP_BATCH) -> list[tuple[str, str]]:
    """The FHIR search of unmarked overdue referral Tasks, most overdue first."""
    codes = ",".join(f"{systems.CS_REFERRAL_STATUS}|{code}" for code in _markable_business())
    return [(DEADLINE, f"lt{fhirjson.instant(now)}"), ("business-status", codes), ("_sort", DEADLINE),
            ("_count", str(limit)), ("_total", "none")]


async def overdue(tx: Transaction, *, now: datetime, limit: int = SWEEP_BATCH) -> list[str]:
    page = await search.search(tx.conn, resource_types=["Task"], pairs=overdue_search(now, limit=limit))
    return [rid for _type, rid, _content in page.matches]


async def mark_overdue(tx: Transaction, *, task_id: str, now: datetime) -> bool:
    """Mark one Task overdue (idempotent: False when it was marked, answered or moved on meanwhile); redirect it
    to the next candidate when the policy asks for it and it was still waiting for acceptance."""
    try:
        fired = await lifecycle.fire(tx, task_id=task_id, event=Event.MARK_OVERDUE, actor=None, now=now)
    except Conflict:
        return False
    task = fhirjson.loads(fired.task.content or b"{}")
    if policy.current().redirect_when_overdue and task.get("status") in (Status.REQUESTED, Status.RECEIVED):
        await _redirect_to_next_candidate(tx, task=task, now=now)
    return True


async def _redirect_to_next_candidate(tx: Transaction, *, task: dict, now: datetime) -> None:
    focus = records.reference_of(task.get("focus"))
    if not focus:
        return
    kind, rid = focus.split("/", 1)
    referral = fhirjson.loads((await reads.read(tx.conn, resource_type=kind, resource_id=rid)).content)
    tried = {records.reference_of(task.get("owner")), *[records.reference_of(p) for p in referral.get("performer", [])]}
    candidates = [c for c in await intake.rank(tx, referral, limit=len(tried) + 1) if c not in tried]
    if candidates:
        await lifecycle.fire(tx, task_id=task["id"], event=Event.REDIRECT, actor=None, now=now,
                             inputs=Inputs(destination=candidates[0]))
