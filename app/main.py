"""The FastAPI application: wiring, limits and the one error handler of the FHIR API."""

from __future__ import annotations

import gc
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from psycopg import Error as PsycopgError
from psycopg import OperationalError
from psycopg.errors import QueryCanceled
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.db import make_async_engine, resolve_database_url
from app.referrals import install_referral_engine, with_referral_operations
from app.security import access_config, capability_security, check_production, install_security
from app.settings import Settings, get_settings
from ece import audit, fhirjson, limits
from ece.access import Actor, Forbidden, Role, Unauthenticated
from ece.access.audit_routes import router as audit_router
from ece.access.gate import AccessGate
from ece.access.operations import OPERATIONS as ACCESS_OPERATIONS
from ece.access.routes import router as access_router
from ece.api.hot import hot_routes
from ece.api.routes import router as fhir_router
from ece.capability import capability_statement, declare_profiles, declare_security
from ece.errors import DatabaseUnavailable, FhirError, Issue, PayloadTooLarge, TooCostly
from ece.notifications.api import router as notifications_router
from ece.references import configure_local_bases
from fhir_profiles.api import router as profiles_router
from fhir_profiles.enforcement import install_terminology, install_validator, operations_declared, supported_profiles
from referral.api import router as referral_router
from referral.api_routing import router as referral_routing_router
from referral.routing_operation import OPERATIONS as REFERRAL_ROUTING_OPERATIONS

log = logging.getLogger(__name__)
FHIR_JSON = "application/fhir+json"
# Included in this order before the generic FHIR routes, whose /fhir/{type}... paths would take theirs.
ROUTERS_AHEAD_OF_FHIR = (
    access_router,  # /fhir/{type}/{id}/{type} would take $access-log
    audit_router,  # /fhir/{type}: AuditEvent is served from the audit trail
    notifications_router,  # /fhir/{type}/{id}... would take Communication/{id}/$resend
    profiles_router,  # /fhir/{type}/{id} would take ValueSet/$expand
    referral_routing_router,  # /fhir/{type}/{id}/{type} would take $route and $evaluate-measure
    referral_router,  # /fhir/{type}/{id} would take its paths
)


def outcome_response(error: FhirError) -> Response:
    return Response(fhirjson.dumps(error.outcome()), status_code=error.status, media_type=FHIR_JSON,
                    headers=getattr(error, "headers", None))


class BodyLimit:
    """Refuses request bodies over ``max_bytes`` with 413 before they are read into memory."""

    def __init__(self, app: ASGIApp, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _TooLarge()
            return message

        try:
            await self.app(scope, counting_receive, send)
        except _TooLarge:
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        error = PayloadTooLarge([Issue("too-costly", f"El cuerpo supera {self.max_bytes} bytes / request body "
                                                     f"exceeds {self.max_bytes} bytes")])
        await outcome_response(error)(scope, receive, send)


class _TooLarge(Exception):
    pass


# FastAPI asks OpenTelemetry on every request whether a tracer, meter or logger provider has been set up (~20-40 µs
# of API CPU per request); this server sets none up, so it asks only when the process was started with OpenTelemetry
# configured through its environment (OTEL_* variables, as opentelemetry-instrument and its exporters are).
_NO_TELEMETRY = {"tracing": False, "metrics": False, "logs": False}


def _opentelemetry_configured() -> bool:
    return any(name.startswith("OTEL_") for name in os.environ) or bool(os.environ.get("FASTAPI_OTEL_AUTO_CONFIGURE"))


def create_app(settings: Settings | None = None, *, database_url: str | None = None) -> FastAPI:
    settings = settings or get_settings()
    check_production(settings)
    limits.configure(max_json_depth=settings.max_json_depth, default_page_size=settings.default_page_size,
                     max_page_size=settings.max_page_size)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        url = database_url or resolve_database_url(settings)
        # Two pools sharing the worker's connections (ECE_DB_POOL_SIZE, and as many again in overflow): the
        # transactions' and the reads' (autocommit for good, app.db.make_async_engine).
        writes = max(1, settings.db_pool_size // 2)
        reads = max(1, settings.db_pool_size - writes)
        limit = settings.statement_timeout_seconds
        app.state.engine = make_async_engine(url, pool_size=writes, statement_timeout_s=limit)
        app.state.read_engine = make_async_engine(url, pool_size=reads, autocommit=True, statement_timeout_s=limit)
        # Everything loaded at start-up (registries, models, compiled profiles) lives as long as the process:
        # keep it out of the collector's generations, or each full collection walks it (~150 ms pauses).
        capability_statement(settings.public_base_url or "")  # builds every registry and compiled parameter
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            await app.state.engine.dispose()
            await app.state.read_engine.dispose()

    app = FastAPI(
        title="ECE Honduras — expediente clínico electrónico (FHIR R4)",
        description="Servidor FHIR R4 del expediente clínico electrónico y del sistema nacional de referencia y "
                    "respuesta. / FHIR R4 server of the electronic clinical record and the national referral "
                    "and response system.",
        version="0.1.0",
        lifespan=lifespan,
        telemetry=None if _opentelemetry_configured() else _NO_TELEMETRY,
    )
    app.state.public_base_url = settings.public_base_url
    if settings.public_base_url:
        configure_local_bases(settings.public_base_url)
    # National profiles in the write path (ECE_ENFORCED_PROFILE_TYPES); their routes go ahead of the generic ones.
    install_validator(settings.enforced_profile_types)
    install_terminology()
    install_referral_engine(settings)
    declare_profiles(supported_profiles(), with_referral_operations(operations_declared()))
    declare_profiles({}, REFERRAL_ROUTING_OPERATIONS)
    declare_profiles({}, ACCESS_OPERATIONS)
    app.state.login_attempts_per_minute = settings.login_attempts_per_minute
    app.state.login_token_minutes = settings.login_token_minutes
    # Outbox rows go to the broker after commit; /health pings it. Importing the Celery app resolves the broker.
    from app.celery_app import install_notifications, ping_broker

    install_notifications(settings)
    app.state.broker_ping = ping_broker
    # Read and type search first, on paths no other router serves (ece.api.hot): the route table is long.
    app.router.routes.extend(hot_routes(ROUTERS_AHEAD_OF_FHIR))
    for router in ROUTERS_AHEAD_OF_FHIR:
        app.include_router(router)
    app.include_router(fhir_router)
    _install_error_handlers(app, settings)
    app.state.access = access_config(settings)
    app.state.access.on_refused = _audit_unauthenticated
    declare_security(capability_security(settings, app.state.access))
    audit.configure(durable_reads=settings.audit_durable_reads)
    # Starlette runs the last middleware added first: size limit, then headers/CORS, then the token gate.
    app.add_middleware(AccessGate, config=app.state.access)
    install_security(app, settings)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    return app


async def _audit_refusals(request: Request, error: Forbidden) -> None:
    """The request rolled back with its audit; its refusals are recorded on their own (ece.audit). A refusal
    raised outside the guard (a referral party rule, $route, $resend, indicators) is recorded from the error."""
    if not request.app.state.access.enforced:
        return
    guard = getattr(request.state, "guard", None)
    refusals = list(guard.refusals) if guard is not None else []
    actor = getattr(request.state, "actor", None)
    if not refusals and actor is not None:
        client = request.client.host if request.client else None
        patient = (error.patient or "").rpartition("/")[2]
        refusals = [audit.Event(audit.Access(actor, getattr(request.state, "actor_name", None), client),
                                "operation", outcome="4", entities=[error.target] if error.target else [],
                                patients={patient} if patient else set(),
                                description=f"{error.reason} ({request.method} {request.url.path})")]
    for event in refusals:
        await audit.record_now(request.app.state.engine, event)


async def _audit_unauthenticated(scope: Scope, error: Unauthenticated) -> None:
    """A request refused at the gate (no token, or a forged or expired one) is an attempt worth recording."""
    client = scope.get("client")
    anonymous = Actor(subject="(sin autenticar / unauthenticated)", role=Role.SYSTEM)
    event = audit.Event(audit.Access(anonymous, None, client[0] if client else None),
                        "operation", outcome="4",
                        description=f"{error.reason} ({scope.get('method')} {scope.get('path')})")
    await audit.record_now(scope["app"].state.engine, event)


def _install_error_handlers(app: FastAPI, settings: Settings) -> None:
    @app.exception_handler(FhirError)
    async def fhir_error(request: Request, error: FhirError) -> Response:
        if isinstance(error, Forbidden):
            await _audit_refusals(request, error)
        return outcome_response(error)

    @app.exception_handler(RequestValidationError)
    async def request_invalid(request: Request, error: RequestValidationError) -> Response:
        return outcome_response(FhirError([Issue("invalid", f"Petición inválida / invalid request: {error.errors()}")],
                                          400))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        if not request.url.path.startswith("/fhir"):
            return JSONResponse({"detail": error.detail}, status_code=error.status_code)
        code = "not-found" if error.status_code == 404 else "not-supported"
        return outcome_response(FhirError([Issue(code, f"{error.detail} ({request.method} {request.url.path})")],
                                          error.status_code))

    def cancelled() -> Response:  # statement_timeout: the unit of work rolled back
        return outcome_response(TooCostly([Issue("too-costly", (
            f"La consulta superó el tiempo máximo ({settings.statement_timeout_seconds:g} s) y se canceló; no se "
            "guardó nada. Acote la petición: una búsqueda con más criterios, un Bundle más pequeño / the query "
            "ran past the time limit and was cancelled; nothing was saved. Narrow the search or split the "
            "Bundle"))]))

    def unavailable(error: Exception) -> Response:  # the connection was lost or refused: the work rolled back
        log.warning("database unavailable: %s", error)
        return outcome_response(DatabaseUnavailable([Issue("transient", (
            "La base de datos no está disponible en este momento; no se guardó nada. Reintente en unos segundos / "
            "the database is unavailable right now; nothing was saved. Retry in a few seconds"))]))

    async def driver_error(request: Request, error: Exception) -> Response:
        if isinstance(error, QueryCanceled):
            return cancelled()
        if isinstance(error, OperationalError):  # connection lost, server shutting down or refusing connections
            return unavailable(error)
        return await unexpected(request, error)

    @app.exception_handler(DBAPIError)
    async def database_error(request: Request, error: DBAPIError) -> Response:
        return await driver_error(request, error.orig if error.orig is not None else error)

    @app.exception_handler(PsycopgError)  # from the statements run on psycopg directly (ece.sqltext.fetch_rows)
    async def psycopg_error(request: Request, error: PsycopgError) -> Response:
        return await driver_error(request, error)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> Response:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return outcome_response(FhirError([Issue("exception", "Error interno del servidor / internal server "
                                                              "error")], 500))
