"""The two commonest requests, read (``GET [base]/[type]/[id]``) and search of one type (``GET [base]/[type]``),
reached without walking the whole route table.

FastAPI tries routes in the order they were included, and the generic FHIR routes (ece.api.routes) come after
some sixty others that must take precedence over them (``AuditEvent/[id]``, ``ValueSet/$expand``, ...): finding
them cost ~0.2 ms of CPU per request (bench/api_cpu.py). ``hot_router`` serves the same endpoints once more and is
included ahead of everything. Its paths take only what the generic routes would have been the first to take: a
GET, a type written as FHIR types are (so never ``metadata`` or ``_history``) and not one the routers ahead of the
generic ones serve at those paths, and an id of FHIR's form (so never ``_history``, ``_search`` or ``$op``).
Anything else, an unknown type included, goes through the table as before and meets the same route it always did.

They are plain Starlette routes that call the endpoints themselves, with what FastAPI would have given them (the
FHIR router's dependencies, then the guard): FastAPI's own handling (solving dependencies from the endpoint's
signature, its included-router layer) cost ~0.12 ms of CPU per request, about a sixth of a read's.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable, Iterable
from typing import get_type_hints

from fastapi import APIRouter
from fastapi.routing import APIRoute
from starlette.convertors import Convertor, register_url_convertor
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Route
from starlette.types import Scope

from ece.access.gate import CurrentGuard, current_guard
from ece.api import routes

_TYPE = "[A-Z][A-Za-z]*"  # R4 resource type names; unknown ones still reach ``routes._type`` and its 404
_ID = r"[A-Za-z0-9\-.]{1,64}"  # R4 datatypes.html#id (ece.validation.ID_PATTERN)


class _Text(Convertor[str]):
    def __init__(self, regex: str):
        self.regex = regex  # type: ignore[misc]

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


class _HotRoute(Route):
    """A GET or nothing: another method must not stop here (a 405 naming only GET) before the route table's own
    route for it. ``serves``: the endpoint of the route table that the request would otherwise meet."""

    def __init__(self, path: str, serves: Callable[..., Awaitable[Response]]):
        self.serves = serves
        dependencies = [_request_only(d.dependency) for d in routes.router.dependencies]

        async def endpoint(request: Request) -> Response:
            for dependency in dependencies:
                await dependency(request)
            return await serves(request, guard=await current_guard(request), **request.path_params)

        super().__init__(path, endpoint, methods=["GET"], include_in_schema=False)
        _check_signature(serves, list(self.param_convertors))

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope.get("method") != "GET":
            return Match.NONE, {}
        return super().matches(scope)


def _check_signature(serves: Callable, path_parameters: list[str]) -> None:
    """The endpoints called here take the request, their path's parameters and the guard, nothing else: another
    parameter would be FastAPI's to supply."""
    names = list(inspect.signature(serves).parameters)
    if names != ["request", *path_parameters, "guard"] or \
            get_type_hints(serves, include_extras=True)["guard"] != CurrentGuard:
        raise TypeError(f"{serves.__name__}: a hot route calls (request, path parameters..., guard) only")


def _request_only(dependency: Callable) -> Callable[[Request], Awaitable[None]]:
    if list(inspect.signature(dependency).parameters) != ["request"]:
        raise TypeError(f"{dependency.__name__}: a hot route passes only the request to the router's dependencies")
    return dependency


def served_elsewhere(routers: Iterable[APIRouter]) -> frozenset[str]:
    """The types that ``routers`` serve at ``GET [base]/[type]`` or ``GET [base]/[type]/[anything]``."""
    types = set()
    for router in routers:
        for route in router.routes:
            if not isinstance(route, APIRoute):
                raise TypeError(f"{route!r}: only plain API routes can be checked against the hot routes")
            segments = route.path.split("/")[2:] if route.path.startswith("/fhir/") else []
            if "GET" not in route.methods or not 1 <= len(segments) <= 2:
                continue
            if not re.fullmatch(_TYPE, segments[0]):
                raise ValueError(f"{route.path}: the hot routes cannot tell which types this GET route serves")
            types.add(segments[0])
    return frozenset(types)


def hot_routes(ahead: Iterable[APIRouter]) -> list[Route]:
    """Read and type search, for the application to put ahead of its route table; ``ahead``: every router it
    includes before the generic FHIR routes."""
    taken = sorted(served_elsewhere(ahead))
    # Convertors are global to Starlette: one name per set of types (a route's regex is fixed when it is added).
    key = "_".join(["hot_type", *taken])
    register_url_convertor(key, _Text(rf"(?!(?:{'|'.join(taken)})(?![A-Za-z])){_TYPE}" if taken else _TYPE))
    register_url_convertor("fhir_id", _Text(_ID))
    return [_HotRoute(f"/fhir/{{resource_type:{key}}}", routes.search_type),
            _HotRoute(f"/fhir/{{resource_type:{key}}}/{{resource_id:fhir_id}}", routes.read)]
