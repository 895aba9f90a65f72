"""Routes of the routing, clinical-summary and indicator operations. Adapters only: parse, call one service
function inside the request's unit of work, return. Included before the generic FHIR router, whose
``/fhir/{type}/{id}/...`` paths would otherwise take these."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from ece.access import CurrentActor
from ece.api import http
from ece.errors import BadRequest, Issue
from ece.tx import unit_of_work
from ece.validation import check_id
from referral import indicators, routing

router = APIRouter(prefix="/fhir", tags=["Referencia: enrutamiento e indicadores / referral routing and indicators"])


def _integer(value: object, name: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    raise BadRequest([Issue("invalid", f"{name} debe ser un entero / must be an integer", (name,))])


def _parameter(body: object, name: str) -> object | None:
    """The value of a named parameter of a Parameters body (R4 parameters.html), or None."""
    if not isinstance(body, dict) or body.get("resourceType") != "Parameters":
        raise BadRequest([Issue("invalid", "El cuerpo debe ser un Parameters / the body must be a Parameters "
                                           "resource")])
    for parameter in body.get("parameter") or ():
        if isinstance(parameter, dict) and parameter.get("name") == name:
            return next((v for k, v in parameter.items() if k.startswith("value")), None)
    return None


@router.get("/ServiceRequest/{service_request_id}/$route",
            summary="Candidatos de destino de una referencia / ranked destinations of a referral")
async def route_get(request: Request, actor: CurrentActor, service_request_id: str, count: str | None = None
                    ) -> Response:
    check_id(service_request_id)
    limit = routing.DEFAULT_ROUTE_COUNT if count is None else _integer(count, "count")
    async with unit_of_work(request.app.state.engine) as tx:
        result = await routing.route(tx, service_request_id=service_request_id, count=limit, actor=actor)
    return http.json_response(request, result)


@router.post("/ServiceRequest/{service_request_id}/$route",
             summary="Candidatos de destino de una referencia (cuerpo Parameters) / ranked destinations (POST)")
async def route_post(request: Request, actor: CurrentActor, service_request_id: str) -> Response:
    check_id(service_request_id)
    body = await http.read_json_body(request) if await request.body() else {"resourceType": "Parameters"}
    count = _parameter(body, "count")
    limit = routing.DEFAULT_ROUTE_COUNT if count is None else _integer(count, "count")
    async with unit_of_work(request.app.state.engine) as tx:
        result = await routing.route(tx, service_request_id=service_request_id, count=limit, actor=actor)
    return http.json_response(request, result)


@router.get("/Measure/{measure_id}/$evaluate-measure",
            summary="Indicador de referencias como MeasureReport / referral indicator as a MeasureReport")
async def evaluate_measure_get(request: Request, actor: CurrentActor, measure_id: str, periodStart: str | None = None,  # noqa: N803
                               periodEnd: str | None = None, subject: str | None = None,  # noqa: N803
                               region: str | None = None, reportType: str | None = None) -> Response:  # noqa: N803
    check_id(measure_id)
    async with unit_of_work(request.app.state.engine) as tx:
        result = await indicators.evaluate_measure(tx, measure_id=measure_id, period_start=periodStart,
                                                   period_end=periodEnd, subject=subject, region=region,
                                                   report_type=reportType, actor=actor)
    return http.json_response(request, result)


@router.post("/Measure/{measure_id}/$evaluate-measure",
             summary="Indicador de referencias (cuerpo Parameters) / referral indicator (POST)")
async def evaluate_measure_post(request: Request, actor: CurrentActor, measure_id: str) -> Response:
    check_id(measure_id)
    body = await http.read_json_body(request)
    values = {name: _parameter(body, name) for name in ("periodStart", "periodEnd", "subject", "region", "reportType")}
    if not all(v is None or isinstance(v, str) for v in values.values()):
        raise BadRequest([Issue("invalid", "Los parámetros son texto o fechas / parameters are strings or dates")])
    async with unit_of_work(request.app.state.engine) as tx:
        result = await indicators.evaluate_measure(tx, measure_id=measure_id, period_start=values["periodStart"],
                                                   period_end=values["periodEnd"], subject=values["subject"],
                                                   region=values["region"], report_type=values["reportType"],
                                                   actor=actor)
    return http.json_response(request, result)
