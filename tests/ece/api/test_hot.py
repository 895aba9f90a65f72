"""The hot routes (ece.api.hot): a request they take is one the route table gives to the same endpoint."""

from __future__ import annotations

import itertools

import pytest
from fastapi import APIRouter
from starlette.routing import Match

from app.main import ROUTERS_AHEAD_OF_FHIR
from ece.api import routes
from ece.api.hot import _HotRoute, hot_routes, served_elsewhere

HOT = hot_routes(ROUTERS_AHEAD_OF_FHIR)
# Path segments that name types, ids, and what is neither (operations, _history, a malformed id).
SEGMENTS = ["Patient", "Observation", "AuditEvent", "ValueSet", "CodeSystem", "Task", "Communication", "Measure",
            "ServiceRequest", "Foo", "AuditEventX", "metadata", "_history", "_search", "$expand", "$validate-code",
            "$lookup", "$everything", "123", "a.b-C9", "bad_id", "x" * 65, "Patient$x"]


def _scope(method: str, path: str) -> dict:
    return {"type": "http", "method": method, "path": path, "root_path": "", "headers": [], "query_string": b""}


def _first(route_list, method: str, path: str):
    return next((r for r in route_list if r.matches(_scope(method, path))[0] is Match.FULL), None)


def _paths() -> list[str]:
    """Every one- and two-segment path under /fhir from SEGMENTS, and those of every route with its parameters
    filled in from SEGMENTS."""
    paths = {f"/fhir/{'/'.join(p)}" for n in (1, 2) for p in itertools.product(SEGMENTS, repeat=n)}
    for router in (*ROUTERS_AHEAD_OF_FHIR, routes.router):
        for route in router.routes:
            names = list(route.param_convertors)
            for values in itertools.product(SEGMENTS[:6] + ["123"], repeat=len(names)):
                paths.add(route.path_format.format(**dict(zip(names, values, strict=True))))
    return sorted(paths)


def test_the_hot_routes_take_reads_and_searches_of_the_types_the_generic_routes_serve():
    taken = {path for path in _paths() if _first(HOT, "GET", path) is not None}

    assert {"/fhir/Patient", "/fhir/Patient/123", "/fhir/Observation/a.b-C9", "/fhir/Foo/123"} <= taken
    assert not taken & {"/fhir/AuditEvent", "/fhir/AuditEvent/123", "/fhir/ValueSet/$expand", "/fhir/metadata",
                        "/fhir/_history", "/fhir/Patient/_history", "/fhir/Patient/bad_id",
                        "/fhir/Patient/123/_history"}


@pytest.mark.parametrize("method", ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"])
def test_a_request_the_hot_routes_take_meets_the_same_endpoint_in_the_route_table(method):
    ahead = [route for router in ROUTERS_AHEAD_OF_FHIR for route in router.routes]
    for path in _paths():
        hot = _first(HOT, method, path)
        if hot is None:
            continue
        assert method == "GET", path
        assert _first(ahead, method, path) is None, path
        assert _first(routes.router.routes, method, path).endpoint is hot.serves, path


def test_a_get_route_ahead_whose_type_is_a_parameter_is_refused():
    router = APIRouter(prefix="/fhir")
    router.add_api_route("/{resource_type}/$stats", lambda: None, methods=["GET"])

    with pytest.raises(ValueError, match="cannot tell"):
        served_elsewhere([router])


def test_types_served_ahead_at_the_hot_paths_are_left_to_their_routers():
    assert served_elsewhere(ROUTERS_AHEAD_OF_FHIR) == {"AuditEvent", "ValueSet", "CodeSystem"}


def test_an_endpoint_needing_more_than_the_request_its_path_and_the_guard_is_refused():
    async def search_with_a_page_size(request, resource_type: str, count: int, guard: routes.CurrentGuard):
        raise AssertionError("never called")

    async def search_without_a_guard(request, resource_type: str):
        raise AssertionError("never called")

    for endpoint in (search_with_a_page_size, search_without_a_guard):
        with pytest.raises(TypeError, match="hot route"):
            _HotRoute("/fhir/{resource_type}", endpoint)
