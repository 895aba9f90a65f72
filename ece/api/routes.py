"""FHIR REST routes (R4 http.html). Adapters only: parse the request, call one store, read or search
function inside the request's unit of work, and render the result."""

from __future__ import annotations

from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, Request, Response

from ece import search, store
from ece.access import CurrentGuard, Guard
from ece.access import record as guarded
from ece.api import http
from ece.capability import capability_statement
from ece.compartments import compartment_links
from ece.errors import InvalidResource, Issue, MethodNotAllowed, NotFound
from ece.fhirjson import Raw
from ece.limits import LIMITS
from ece.references import set_request_base
from ece.resource_types import is_served, served_types
from ece.tx import read_unit, unit_of_work
from ece.validation import check_id


def _engine(request: Request):
    return request.app.state.engine


def _read_engine(request: Request):
    """The engine of the read units: its connections are in autocommit for good (app.db.make_async_engine)."""
    return request.app.state.read_engine


def _base(request: Request) -> str:
    return http.base_url(request, request.app.state.public_base_url)


async def _bind_request_base(request: Request) -> None:
    """Absolute references to the base this request came in on are local ones (ece.references)."""
    set_request_base(http.base_url(request, None))


router = APIRouter(prefix="/fhir", tags=["FHIR R4"], dependencies=[Depends(_bind_request_base)])


def _type(resource_type: str) -> str:
    if not is_served(resource_type):
        raise NotFound([Issue("not-supported", f"Tipo de recurso desconocido o no servido / unknown or unsupported "
                                               f"resource type '{resource_type[:60]}'")])
    return resource_type


def _query_pairs(request: Request) -> list[tuple[str, str]]:
    """The query's parameters in order, blank values kept: Starlette's parse of the query string, made once per
    request and shared with ``_format``/``_pretty`` (the parser under uvicorn refuses any byte outside ASCII in a
    request target, so how Starlette decodes the string does not matter)."""
    return request.query_params.multi_items()


@router.get("/metadata", summary="CapabilityStatement (R4 http.html#capabilities)")
async def metadata(request: Request) -> Response:
    return http.json_response(request, capability_statement(_base(request)))


@router.post("", summary="Transaction or batch Bundle (R4 http.html#transaction)")
@router.post("/", include_in_schema=False)
async def transaction(request: Request, guard: CurrentGuard) -> Response:
    body = await http.read_json_body(request)
    representation = http.prefer(request).get("return") == "representation"
    async with unit_of_work(_engine(request)) as tx:
        result = await guarded.transaction(tx, guard=guard, bundle=body, base_url=_base(request),
                                           return_resources=representation)
    return http.json_response(request, result)


@router.get("/_history", summary="System history (R4 http.html#history)")
async def system_history(request: Request, guard: CurrentGuard) -> Response:
    return await _history(request, guard, None, None, "_history")


@router.get("", summary="System search across types with _type (R4 search.html#2.21.1.3)")
@router.get("/", include_in_schema=False)
async def search_system(request: Request, guard: CurrentGuard) -> Response:
    pairs = _query_pairs(request)
    types = [t for value in (v for k, v in pairs if k == "_type") for t in value.split(",") if t]
    return await _search(request, guard, [_type(t) for t in types] or list(served_types()), pairs, "",
                         explicit=bool(types))


@router.get("/{resource_type}", summary="Search (R4 search.html)")
async def search_type(request: Request, resource_type: str, guard: CurrentGuard) -> Response:
    return await _search(request, guard, [_type(resource_type)], _query_pairs(request), resource_type)


@router.post("/{resource_type}/_search", summary="Search with a form body (R4 search.html#Introduction)")
async def search_type_post(request: Request, resource_type: str, guard: CurrentGuard) -> Response:
    media = request.headers.get("content-type", "").split(";")[0].strip()
    if media != "application/x-www-form-urlencoded":
        raise InvalidResource([Issue("not-supported", "POST _search espera application/x-www-form-urlencoded / "
                                                      "expects a form body")])
    form = parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True)
    return await _search(request, guard, [_type(resource_type)], _query_pairs(request) + form, resource_type)


async def _search(request: Request, guard: Guard, resource_types: list[str], pairs: list[tuple[str, str]],
                  path: str, compartment: tuple[str, str] | None = None, explicit: bool = True) -> Response:
    strict = http.prefer(request).get("handling") == "strict"
    async with read_unit(_read_engine(request)) as tx:
        page = await guarded.search_types(tx, guard=guard, resource_types=resource_types, pairs=pairs, strict=strict,
                                          compartment=compartment, explicit=explicit)
    used = page.used if path else [("_type", ",".join(resource_types)), *page.used]
    return _searchset(request, page, path, used)


def _searchset(request: Request, page: search.SearchPage, path: str, used: list[tuple[str, str]]) -> Response:
    """A ``searchset`` Bundle of one page, with its ``self`` and ``next`` links (R4 http.html#paging)."""
    base = _base(request)
    links = [{"relation": "self", "url": http.link(base, path, used)}]
    if page.next_cursor is not None:
        links.append({"relation": "next", "url": http.link(base, path, [*_without(used, "_count"),
                                                                        ("_count", str(page.count)),
                                                                        ("_cursor", page.next_cursor)])})
    body: dict = {"resourceType": "Bundle", "type": "searchset"}
    if page.total is not None:
        body["total"] = page.total
    body["link"] = links
    body["entry"] = [{"fullUrl": f"{base}/{t}/{i}", "resource": Raw(c), "search": {"mode": mode}}
                     for mode, rows in (("match", page.matches), ("include", page.included)) for t, i, c in rows]
    return http.json_response(request, body)


def _without(pairs: list[tuple[str, str]], name: str) -> list[tuple[str, str]]:
    return [(k, v) for k, v in pairs if k != name]


@router.post("/{resource_type}", summary="Create, or conditional create with If-None-Exist (R4 http.html#create)")
async def create(request: Request, resource_type: str, guard: CurrentGuard) -> Response:
    resource_type = _type(resource_type)
    body = await http.read_json_body(request)
    async with unit_of_work(_engine(request)) as tx:
        result = await guarded.create(tx, guard=guard, data=body, expected_type=resource_type,
                                      if_none_exist=http.if_none_exist(request))
    return http.resource_response(request, result, status=result.status, location_base=_base(request))


@router.put("/{resource_type}", summary="Conditional update (R4 http.html#cond-update)")
async def conditional_update(request: Request, resource_type: str, guard: CurrentGuard) -> Response:
    resource_type = _type(resource_type)
    body = await http.read_json_body(request)
    criteria = _criteria(request)
    async with unit_of_work(_engine(request)) as tx:
        result = await guarded.conditional_update(tx, guard=guard, resource_type=resource_type, criteria=criteria,
                                                  data=body, if_match=http.if_match(request))
    return http.resource_response(request, result, status=result.status, location_base=_base(request))


@router.delete("/{resource_type}", summary="Conditional delete (R4 http.html#3.1.0.7.1)")
async def conditional_delete(request: Request, resource_type: str, guard: CurrentGuard) -> Response:
    resource_type = _type(resource_type)
    criteria = _criteria(request)
    async with unit_of_work(_engine(request)) as tx:
        result = await guarded.conditional_delete(tx, guard=guard, resource_type=resource_type, criteria=criteria)
    return _deleted_response(result)


def _criteria(request: Request) -> str:
    pairs = [(k, v) for k, v in _query_pairs(request) if k not in ("_format", "_pretty")]
    if not pairs:
        raise MethodNotAllowed([Issue("not-supported", "Una operación condicional necesita criterios de búsqueda / "
                                                       "a conditional interaction needs search criteria")])
    return search.to_query(pairs)


def _deleted_response(result: store.WriteResult | None) -> Response:
    """204 either way; the ETag names the deletion version when one was written."""
    headers = {"ETag": f'W/"{result.version_id}"'} if result is not None and result.deleted else {}
    return Response(status_code=204, headers=headers)


@router.get("/{resource_type}/_history", summary="Type history (R4 http.html#history)")
async def type_history(request: Request, resource_type: str, guard: CurrentGuard) -> Response:
    resource_type = _type(resource_type)
    return await _history(request, guard, resource_type, None, f"{resource_type}/_history")


@router.get("/{resource_type}/{resource_id}", summary="Read (R4 http.html#read)")
async def read(request: Request, resource_type: str, resource_id: str, guard: CurrentGuard) -> Response:
    resource_type = _type(resource_type)
    check_id(resource_id)
    async with read_unit(_read_engine(request)) as tx:
        version = await guarded.read(tx, guard=guard, resource_type=resource_type, resource_id=resource_id)
    return http.resource_response(request, version)


@router.put("/{resource_type}/{resource_id}", summary="Update or update-as-create (R4 http.html#update)")
async def update(request: Request, resource_type: str, resource_id: str, guard: CurrentGuard) -> Response:
    resource_type = _type(resource_type)
    body = await http.read_json_body(request)
    async with unit_of_work(_engine(request)) as tx:
        result = await guarded.update(tx, guard=guard, resource_type=resource_type, resource_id=resource_id,
                                      data=body, if_match=http.if_match(request))
    return http.resource_response(request, result, status=result.status, location_base=_base(request))


@router.patch("/{resource_type}/{resource_id}", summary="Patch with JSON Patch (R4 http.html#patch)")
async def patch(request: Request, resource_type: str, resource_id: str, guard: CurrentGuard) -> Response:
    resource_type = _type(resource_type)
    check_id(resource_id)
    operations = await http.read_json_body(request, allowed={http.JSON_PATCH})
    async with unit_of_work(_engine(request)) as tx:
        result = await guarded.patch(tx, guard=guard, resource_type=resource_type, resource_id=resource_id,
                                     operations=operations, if_match=http.if_match(request))
    return http.resource_response(request, result, status=200, location_base=_base(request))


@router.delete("/{resource_type}/{resource_id}", summary="Delete (R4 http.html#delete)")
async def delete(request: Request, resource_type: str, resource_id: str, guard: CurrentGuard) -> Response:
    resource_type = _type(resource_type)
    check_id(resource_id)
    async with unit_of_work(_engine(request)) as tx:
        result = await guarded.delete(tx, guard=guard, resource_type=resource_type, resource_id=resource_id)
    return _deleted_response(result)


@router.get("/{resource_type}/{resource_id}/_history", summary="Instance history (R4 http.html#history)")
async def instance_history(request: Request, resource_type: str, resource_id: str, guard: CurrentGuard) -> Response:
    resource_type = _type(resource_type)
    check_id(resource_id)
    return await _history(request, guard, resource_type, resource_id, f"{resource_type}/{resource_id}/_history")


@router.get("/{resource_type}/{resource_id}/_history/{version_id}", summary="Version read (R4 http.html#vread)")
async def vread(request: Request, resource_type: str, resource_id: str, version_id: str,
                guard: CurrentGuard) -> Response:
    resource_type = _type(resource_type)
    check_id(resource_id)
    async with read_unit(_read_engine(request)) as tx:
        version = await guarded.vread(tx, guard=guard, resource_type=resource_type, resource_id=resource_id,
                                      version_id=version_id)
    return http.resource_response(request, version)


# R4 patient-operation-everything.html. ``start`` and ``end`` (care dates) are not supported: each type dates
# care differently; a strict request naming them gets 400, a lenient one is answered without them.
EVERYTHING_PARAMETERS = ("_since", "_type", "_count", "_cursor")


@router.get("/Patient/{patient_id}/$everything", summary="The patient's whole record (R4 Patient/$everything)")
async def patient_everything(request: Request, patient_id: str, guard: CurrentGuard) -> Response:
    check_id(patient_id)
    params = _operation_parameters(request, _query_pairs(request), EVERYTHING_PARAMETERS)
    in_record = ["Patient", *(t for t in compartment_links()["Patient"] if is_served(t) and t != "Patient")]
    wanted = [t for value in params.get("_type", []) for t in value.split(",") if t]
    unknown = [t for t in wanted if t not in in_record]
    if unknown:
        raise InvalidResource([Issue("invalid", f"_type: {', '.join(unknown)[:120]} no pertenece al expediente del "
                                                f"paciente / is not in the patient compartment", ("_type",))])
    since = search.parse_instant(params["_since"][-1], "_since") if "_since" in params else None
    count, cursor = (params[name][-1] if name in params else None for name in ("_count", "_cursor"))
    async with read_unit(_read_engine(request)) as tx:
        page = await guarded.everything(tx, guard=guard, patient_id=patient_id, resource_types=wanted or in_record,
                                        since=since, count=count, cursor=cursor, explicit=bool(wanted))
    used = [(name, value) for name in ("_since", "_type") for value in params.get(name, [])]
    used += [(name, value) for name, value in page.used if name == "_count"]
    return _searchset(request, page, f"Patient/{patient_id}/$everything", used)


def _operation_parameters(request: Request, pairs: list[tuple[str, str]], supported: tuple[str, ...]
                          ) -> dict[str, list[str]]:
    """The operation's parameters by name; an unsupported one is a 400 under ``Prefer: handling=strict``
    and is otherwise ignored (R4 search.html#errors), as a search does."""
    params: dict[str, list[str]] = {}
    strict = http.prefer(request).get("handling") == "strict"
    for name, value in pairs:
        if name in supported:
            params.setdefault(name, []).append(value)
        elif strict and name not in ("_format", "_pretty"):
            raise InvalidResource([Issue("not-supported", f"Parámetro no soportado / unsupported parameter "
                                                          f"'{name[:60]}'", (name[:60],))])
    return params


@router.get("/{compartment}/{owner_id}/{resource_type}", summary="Compartment search (R4 compartmentdefinition.html)")
async def compartment_search(request: Request, compartment: str, owner_id: str, resource_type: str,
                             guard: CurrentGuard) -> Response:
    if compartment not in compartment_links():
        raise NotFound([Issue("not-supported", f"{compartment[:40]} no define un compartimento / is not a compartment "
                                               "(Patient, Encounter, Practitioner, RelatedPerson, Device)")])
    check_id(owner_id)
    types = list(compartment_links()[compartment]) if resource_type == "*" else [_type(resource_type)]
    types = [t for t in types if is_served(t)]
    return await _search(request, guard, types, _query_pairs(request), f"{compartment}/{owner_id}/{resource_type}",
                         compartment=(compartment, owner_id), explicit=resource_type != "*")


async def _history(request: Request, guard: Guard, resource_type: str | None, resource_id: str | None,
                   path: str) -> Response:
    params = dict(_query_pairs(request))
    count = _history_count(params.get("_count"))
    since = search.parse_instant(params["_since"], "_since") if "_since" in params else None
    at = search.parse_instant(params["_at"], "_at") if "_at" in params else None
    before = params.get("_before_seq")
    if before is not None and not before.isdigit():
        raise InvalidResource([Issue("invalid", "_before_seq inválido / invalid paging cursor", ("_before_seq",))])
    base = _base(request)
    async with read_unit(_read_engine(request)) as tx:
        page = await guarded.history(tx, guard=guard, resource_type=resource_type, resource_id=resource_id,
                                     since=since, at_or_before=at, count=count,
                                     before_seq=int(before) if before else None)
    kept = [(k, v) for k, v in _query_pairs(request) if k in ("_since", "_at", "_count")]
    next_link = None
    if page.next_before is not None:
        next_link = http.link(base, path, [*_without(kept, "_count"), ("_count", str(count)),
                                           ("_before_seq", str(page.next_before))])
    body = http.history_bundle(base, page.versions, total=page.total,
                               self_link=http.link(base, path, kept), next_link=next_link)
    return http.json_response(request, body)


def _history_count(value: str | None) -> int:
    if value is None:
        return LIMITS.default_page_size
    if not value.isdigit() or int(value) == 0:
        raise InvalidResource([Issue("invalid", "_count debe ser un entero positivo / must be a positive integer",
                                     ("_count",))])
    return min(int(value), LIMITS.max_page_size)
