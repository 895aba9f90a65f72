"""Routes of the terminology and validation operations. Adapters only: parse, call one function, return.

Included before the main FHIR router, whose ``/fhir/{type}/{id}`` would otherwise take ``ValueSet/$expand``.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from ece.api import http
from ece.errors import Issue, NotFound
from ece.resource_types import is_served
from ece.tx import unit_of_work
from ece.validation import check_id
from fhir_profiles import operations
from fhir_profiles.enforcement import NATIONAL

router = APIRouter(prefix="/fhir", tags=["Perfiles y terminología / profiles and terminology"])


def _type(resource_type: str) -> str:
    if not is_served(resource_type):
        raise NotFound([Issue("not-supported", f"Tipo de recurso desconocido o no servido / unknown or unsupported "
                                               f"resource type '{resource_type[:60]}'")])
    return resource_type


@router.get("/ValueSet/$expand", summary="ValueSet $expand (R4 valueset-operation-expand.html)")
async def expand(request: Request, url: str | None = None, filter: str | None = None, offset: str | None = None,
                 count: str | None = None) -> Response:
    return http.json_response(request, operations.expand(url=url, value_set_id=None, filter_text=filter,
                                                         offset=offset, count=count))


@router.get("/ValueSet/{value_set_id}/$expand", summary="ValueSet $expand of one value set")
async def expand_instance(request: Request, value_set_id: str, filter: str | None = None, offset: str | None = None,
                          count: str | None = None) -> Response:
    check_id(value_set_id)
    return http.json_response(request, operations.expand(url=None, value_set_id=value_set_id, filter_text=filter,
                                                         offset=offset, count=count))


@router.get("/ValueSet/$validate-code", summary="ValueSet $validate-code (R4 valueset-operation-validate-code.html)")
async def validate_code(request: Request, url: str | None = None, system: str | None = None, code: str | None = None,
                        display: str | None = None) -> Response:
    return http.json_response(request, operations.validate_code(url=url, system=system, code=code, display=display))


@router.get("/CodeSystem/$lookup", summary="CodeSystem $lookup (R4 codesystem-operation-lookup.html)")
async def lookup(request: Request, system: str | None = None, code: str | None = None) -> Response:
    return http.json_response(request, operations.lookup(system=system, code=code))


@router.post("/{resource_type}/$validate", summary="Validate a resource (R4 resource-operation-validate.html)")
async def validate_type(request: Request, resource_type: str, profile: str | None = None) -> Response:
    resource_type = _type(resource_type)
    body = operations.resource_from_body(await http.read_json_body(request))
    return http.json_response(request, operations.validate_resource(body, resource_type=resource_type,
                                                                    profile=profile,
                                                                    enforced_types=NATIONAL.enforced_types))


@router.post("/{resource_type}/{resource_id}/$validate", summary="Validate an update, or the stored version")
async def validate_instance(request: Request, resource_type: str, resource_id: str, profile: str | None = None
                            ) -> Response:
    resource_type = _type(resource_type)
    check_id(resource_id)
    body = await http.read_json_body(request) if await request.body() else None
    async with unit_of_work(request.app.state.engine) as tx:
        outcome = await operations.validate_stored(tx.conn, resource_type=resource_type, resource_id=resource_id,
                                                   body=body, profile=profile,
                                                   enforced_types=NATIONAL.enforced_types)
    return http.json_response(request, outcome)
