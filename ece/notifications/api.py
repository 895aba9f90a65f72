"""HTTP routes of the notifications: ``GET /health`` and ``POST /fhir/Communication/{id}/$resend``.

Adapters only: each calls one service function inside the request's unit of work.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from ece.access import CurrentActor
from ece.api import http
from ece.notifications import health, operations
from ece.tx import unit_of_work

router = APIRouter()


@router.get("/health", tags=["operación / operations"],
            summary="Base de datos, broker y antigüedad del aviso pendiente más viejo / database, broker, outbox")
async def health_check(request: Request) -> Response:
    status, body = await health.report(request.app.state.engine,
                                       broker_ping=getattr(request.app.state, "broker_ping", None))
    return JSONResponse(body, status_code=status, headers={"Cache-Control": "no-store"})


@router.post("/fhir/Communication/{communication_id}/$resend", tags=["FHIR R4"],
             summary="Reenvía una notificación fallida / re-send a failed notification")
async def resend(request: Request, communication_id: str, actor: CurrentActor) -> Response:
    async with unit_of_work(request.app.state.engine) as tx:
        version = await operations.resend(tx, communication_id=communication_id, actor=actor)
    return http.resource_response(request, version)
