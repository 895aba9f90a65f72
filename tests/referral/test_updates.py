"""The referral routes' services under the access guard: role and scopes first, then the machine; every
operation audited in the same transaction."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from ece import fhirjson
from ece.access import Forbidden, Guard
from ece.audit import Access
from ece.errors import Conflict
from referral import updates
from referral.inputs import Inputs
from referral.machine import Event
from tests.referral import factories as f
from tests.referral.test_lifecycle import _open, _read


async def test_an_operation_is_audited_with_its_task_and_patient(tx):
    _sr, [task_id] = await _open(tx)
    await updates.operate(tx, guard=Guard(Access(f.DESTINATION_CLINICIAN)), task_id=task_id, event=Event.ACCEPT,
                          inputs=Inputs())
    await tx.run_before_commit()
    [content] = (await tx.conn.execute(text("SELECT content FROM audit_event ORDER BY seq DESC LIMIT 1"))).one()
    event = content if isinstance(content, dict) else fhirjson.loads(content)
    assert event["subtype"][0]["code"] == "operation"
    assert f"Task/{task_id}" in [e["what"]["reference"] for e in event["entity"] if "what" in e]


async def test_a_patient_may_not_operate_on_a_referral(tx):
    _sr, [task_id] = await _open(tx)
    with pytest.raises(Forbidden):
        await updates.operate(tx, guard=Guard(Access(f.PATIENT_ACTOR)), task_id=task_id, event=Event.CANCEL,
                              inputs=Inputs())


async def test_a_put_to_an_impossible_status_answers_409(tx):
    _sr, [task_id] = await _open(tx)
    task = await _read(tx, f"Task/{task_id}")
    with pytest.raises(Conflict):
        await updates.update_task(tx, guard=Guard(Access(f.DESTINATION_CLINICIAN)), task_id=task_id,
                                  data={**task, "status": "completed"})


async def test_a_put_that_needs_operation_parameters_points_to_the_operation(tx):
    _sr, [task_id] = await _open(tx)
    for event in (Event.ACCEPT, Event.ARRIVE):
        await updates.operate(tx, guard=Guard(Access(f.DESTINATION_CLINICIAN)), task_id=task_id, event=event,
                              inputs=Inputs())
    task = await _read(tx, f"Task/{task_id}")
    with pytest.raises(Conflict) as refused:
        await updates.update_task(tx, guard=Guard(Access(f.DESTINATION_CLINICIAN)), task_id=task_id,
                                  data={**task, "status": "completed"})
    assert "$respond" in str(refused.value)
