"""The audit trail through the FHIR API, read-only: ``GET AuditEvent/[id]`` and ``GET|POST AuditEvent?...``
(ece.audit.query), answered from the append-only ``audit_event`` table, never from the record store.

Who reads which events:
- system: a back-end whose ``system/`` scopes read (or search) AuditEvent sees every event;
- patient: only the events about themselves (the rows of their ``$access-log``);
- admin: only the events about no patient (logins, refused logins and other security events): running the
  service needs those, and an admin never sees patient data, so not who opened which record either;
- clinician, coordinator: none (403).
An event outside the reader's view answers 404 on read and is absent from searches.

Reading the trail is not itself audited (each read would add to what it reads); a refused attempt to read it
is, like every refusal. Writes (create, update, patch, delete, conditional ones) answer 405: the trail is
append-only and only the server writes it. History and vread answer 405 too: an event has one version.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from fastapi import APIRouter, Request, Response

from ece import audit
from ece.access.actor import Role
from ece.access.gate import CurrentGuard
from ece.access.guard import Guard
from ece.access.policy import may
from ece.access.scopes import READ, SEARCH, allowed
from ece.api import http
from ece.errors import InvalidResource, Issue, MethodNotAllowed
from ece.limits import LIMITS
from ece.tx import unit_of_work

router = APIRouter(prefix="/fhir/AuditEvent", tags=["Auditoría / audit"])
_VERB = {READ: ("leer", "read"), SEARCH: ("buscar", "search")}


def view(guard: Guard, interaction: str, target: str) -> audit.View:
    """The events ``guard``'s actor may see, or a refusal (recorded by the error handler)."""
    if not guard.enforced:
        return audit.View()
    actor = guard.actor
    if actor.role is Role.SYSTEM and may(actor, "AuditEvent", interaction):
        return audit.View()
    if actor.role is Role.PATIENT and actor.patient and may(actor, "AuditEvent", interaction):
        return audit.View(patient=actor.patient.partition("/")[2])
    # AuditEvent is in the Patient compartment, which ``may`` keeps from admins; their view has no patient.
    if actor.role is Role.ADMIN and allowed(actor.scopes, ("user",), "AuditEvent", interaction) is not False:
        return audit.View(unlinked_only=True)
    es, en = _VERB[interaction]
    raise guard.refuse(None, f"el rol {actor.role.value} no puede {es} el registro de auditoría / role "
                             f"{actor.role.value} may not {en} the audit trail", interaction=interaction, target=target)


def _append_only() -> MethodNotAllowed:
    return MethodNotAllowed([Issue("not-supported", "El registro de auditoría solo admite lectura y búsqueda; lo "
                                                    "escribe el servidor / the audit trail supports read and search "
                                                    "only; the server writes it")])


@router.get("", summary="Search the audit trail (R4 auditevent.html#search)")
async def search(request: Request, guard: CurrentGuard) -> Response:
    return await _search(request, guard, parse_qsl(request.url.query, keep_blank_values=True))


@router.post("/_search", summary="Search the audit trail with a form body")
async def search_post(request: Request, guard: CurrentGuard) -> Response:
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/x-www-form-urlencoded":
        raise InvalidResource([Issue("not-supported", "POST _search espera application/x-www-form-urlencoded / "
                                                      "expects a form body")])
    form = parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True)
    return await _search(request, guard, parse_qsl(request.url.query, keep_blank_values=True) + form)


async def _search(request: Request, guard: Guard, pairs: list[tuple[str, str]]) -> Response:
    allowed_rows = view(guard, SEARCH, "AuditEvent")
    base = http.base_url(request, request.app.state.public_base_url)
    async with unit_of_work(request.app.state.engine) as tx:
        page = await audit.search_events(tx.conn, pairs=pairs, view=allowed_rows,
                                         default_count=LIMITS.default_page_size, max_count=LIMITS.max_page_size,
                                         strict=http.prefer(request).get("handling") == "strict")
    links = [{"relation": "self", "url": http.link(base, "AuditEvent", [*page.used, ("_count", str(page.count))])}]
    if page.next_cursor is not None:
        links.append({"relation": "next", "url": http.link(base, "AuditEvent", [
            *page.used, ("_count", str(page.count)), ("_cursor", page.next_cursor)])})
    return http.json_response(request, {
        "resourceType": "Bundle", "type": "searchset", "link": links,
        "entry": [{"fullUrl": f"{base}/AuditEvent/{e['id']}", "resource": e, "search": {"mode": "match"}}
                  for e in page.events]})


@router.get("/_history", summary="Not supported: an AuditEvent has one version")
@router.get("/{event_id}/_history", include_in_schema=False)
@router.get("/{event_id}/_history/{version_id}", include_in_schema=False)
async def history() -> Response:
    raise _append_only()


@router.get("/{event_id}", summary="Read one AuditEvent")
async def read(request: Request, event_id: str, guard: CurrentGuard) -> Response:
    allowed_rows = view(guard, READ, f"AuditEvent/{event_id[:64]}")
    async with unit_of_work(request.app.state.engine) as tx:
        event = await audit.read_event(tx.conn, event_id=event_id, view=allowed_rows)
    return http.json_response(request, event, headers={"ETag": 'W/"1"'})


@router.api_route("", methods=["POST", "PUT", "DELETE", "PATCH"], include_in_schema=False)
@router.api_route("/{event_id}", methods=["POST", "PUT", "DELETE", "PATCH"], include_in_schema=False)
async def write() -> Response:
    raise _append_only()
