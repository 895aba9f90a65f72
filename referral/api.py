"""Routes of the referral lifecycle (R4 operations.html): ``POST /fhir/Task/{id}/$<event>`` with a
``Parameters`` body (or none), and the direct ``PUT``/``PATCH`` of a Task, checked by the machine when they
change its status. Adapters only: parse, call one service function, return the Task.

Included before the generic FHIR router (app.main), whose ``/fhir/{type}/{id}`` routes would take these paths.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from ece.access import CurrentGuard
from ece.api import http
from ece.tx import unit_of_work
from ece.validation import check_id
from referral import inputs, machine, updates
from referral.machine import Event

router = APIRouter(prefix="/fhir", tags=["Referencias / referrals"])


def _engine(request: Request):
    return request.app.state.engine


def _base(request: Request) -> str:
    return http.base_url(request, request.app.state.public_base_url)


async def _parameters(request: Request) -> inputs.Inputs:
    if not (await request.body()).strip():
        return inputs.Inputs()
    return inputs.from_parameters(await http.read_json_body(request))


def _operation(event: Event):
    async def operate(request: Request, task_id: str, guard: CurrentGuard) -> Response:
        check_id(task_id)
        given = await _parameters(request)
        async with unit_of_work(_engine(request)) as tx:
            fired = await updates.operate(tx, guard=guard, task_id=task_id, event=event, inputs=given)
        return http.resource_response(request, fired.task)

    operate.__name__ = f"task_{event.replace('-', '_')}"
    return operate


for _event in Event:
    _rule = machine.RULES[_event]
    router.add_api_route(f"/Task/{{task_id}}/${_event}", _operation(_event), methods=["POST"],
                         summary=f"${_event}: {_rule.title_es} / {_rule.title_en} (docs/referral-lifecycle.md)")


@router.put("/Task/{task_id}", summary="Update a Task; a referral's status change is checked as its operation")
async def update_task(request: Request, task_id: str, guard: CurrentGuard) -> Response:
    body = await http.read_json_body(request)
    async with unit_of_work(_engine(request)) as tx:
        result = await updates.update_task(tx, guard=guard, task_id=task_id, data=body,
                                           if_match=http.if_match(request))
    return http.resource_response(request, result, status=result.status, location_base=_base(request))


@router.patch("/Task/{task_id}", summary="JSON Patch of a Task; a referral's status change is checked likewise")
async def patch_task(request: Request, task_id: str, guard: CurrentGuard) -> Response:
    check_id(task_id)
    operations = await http.read_json_body(request, allowed={http.JSON_PATCH})
    async with unit_of_work(_engine(request)) as tx:
        result = await updates.patch_task(tx, guard=guard, task_id=task_id, operations=operations,
                                          if_match=http.if_match(request))
    return http.resource_response(request, result, status=200, location_base=_base(request))
