"""Authentication at the edge: every request under ``/fhir`` carries a bearer token (RFC 6750), except the
CapabilityStatement (R4 http.html#capabilities, which clients read before they can log in).

``AccessGate`` verifies the token once per request and leaves the ``Actor`` in the request state;
``CurrentActor`` hands it to routes (and verifies the header itself on routes outside ``/fhir``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from ece import fhirjson
from ece.access.actor import Actor, Role
from ece.access.errors import Unauthenticated
from ece.access.guard import Guard
from ece.access.tokens import LocalIssuer, TokenVerifier
from ece.audit import Access

PROTECTED_PREFIX = "/fhir"
EXEMPT_PATHS = frozenset({"/fhir/metadata"})
# The actor of every request when enforcement is off (benchmarks only; refused in production mode).
UNENFORCED_ACTOR = Actor(subject="acceso-desactivado", role=Role.SYSTEM, scopes=frozenset({"system/*.*"}))


@dataclass
class AccessConfig:
    """What the gate and the auth routes share, kept on ``app.state.access``."""

    verifier: TokenVerifier
    local_issuer: LocalIssuer | None
    enforced: bool = True
    # Called after a 401 was answered (the audit of refused attempts plugs in here).
    on_refused: Callable[[Scope, Unauthenticated], Awaitable[None]] | None = None


def bearer_token(authorization: str | None) -> str:
    if not authorization:
        raise Unauthenticated("falta el encabezado Authorization: Bearer <token> / missing bearer token")
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("se espera Authorization: Bearer <token> / expected a bearer token",
                              error="invalid_request")
    return token.strip()


def authenticate(config: AccessConfig, authorization: str | None) -> tuple[Actor, dict]:
    if not config.enforced:
        return UNENFORCED_ACTOR, {}
    return config.verifier.verify(bearer_token(authorization))


def _render(error: Unauthenticated) -> Response:
    return Response(fhirjson.dumps(error.outcome()), status_code=error.status, headers=error.headers,
                    media_type="application/fhir+json")


class AccessGate:
    """ASGI middleware: verifies the bearer token of every protected request before any route runs."""

    def __init__(self, app: ASGIApp, config: AccessConfig):
        self.app = app
        self.config = config

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not _protected(path) or scope.get("method") == "OPTIONS":
            await self.app(scope, receive, send)
            return
        authorization = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = value.decode("latin-1")
                break
        try:
            actor, claims = authenticate(self.config, authorization)
        except Unauthenticated as error:
            scope.setdefault("state", {})["refusal"] = error
            await _render(error)(scope, receive, send)
            if self.config.on_refused is not None:
                await self.config.on_refused(scope, error)
            return
        state = scope.setdefault("state", {})
        state["actor"] = actor
        state["actor_name"] = claims.get("name")
        await self.app(scope, receive, send)


def _protected(path: str) -> bool:
    return (path == PROTECTED_PREFIX or path.startswith(PROTECTED_PREFIX + "/")) and path not in EXEMPT_PATHS


async def current_actor(request: Request) -> Actor:
    actor = getattr(request.state, "actor", None)
    if actor is not None:
        return actor
    actor, claims = authenticate(request.app.state.access, request.headers.get("authorization"))
    request.state.actor = actor
    request.state.actor_name = claims.get("name")
    return actor


CurrentActor = Annotated[Actor, Depends(current_actor)]


async def current_guard(request: Request) -> Guard:
    """The request's guard (ece.access.guard), kept on the request so the error handler can audit refusals."""
    guard = getattr(request.state, "guard", None)
    if guard is None:
        actor = await current_actor(request)
        client = request.client.host if request.client else None
        guard = Guard(Access(actor, getattr(request.state, "actor_name", None), client),
                      enforced=request.app.state.access.enforced)
        request.state.guard = guard
    return guard


CurrentGuard = Annotated[Guard, Depends(current_guard)]
