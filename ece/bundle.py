"""Transaction and batch Bundles (R4 http.html#transaction).

A transaction is all or nothing: entries are processed in the specification's order (DELETE, POST,
PUT/PATCH, then GET), ``urn:uuid:`` and conditional references are resolved before anything is
written, and every write is flushed through the store's single write path in one statement.
A batch runs each entry on its own savepoint, so entries succeed or fail one by one.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import parse_qsl

from ece import fhirjson, reads, search, store
from ece.errors import BadRequest, FhirError, InvalidResource, Issue, NotFound, PreconditionFailed
from ece.limits import LIMITS
from ece.resource_types import is_served
from ece.tx import Transaction
from ece.validation import check_id, check_resource

# The SMART interaction (ece.access.scopes) each entry method needs.
INTERACTION = {"POST": "c", "PUT": "u", "PATCH": "u", "DELETE": "d"}


class EntryAccess(Protocol):
    """Access control as the Bundle processor needs it (ece.access.record provides it): type checks, a check
    of each existing resource before it is changed, of each planned content before anything is written (with
    ``urn:uuid:`` references already resolved) and of each written one after, and guarded GETs."""

    def require(self, tx: Transaction, resource_type: str, interaction: str) -> None: ...

    async def before_write(self, tx: Transaction, resource_type: str, resource_id: str) -> None: ...

    async def before_flush(self, tx: Transaction, results: list[store.WriteResult]) -> None: ...

    async def after_write(self, tx: Transaction, kind: str, results: list[store.WriteResult]) -> None: ...

    async def read(self, tx: Transaction, resource_type: str, resource_id: str) -> reads.Version: ...

    async def search(self, tx: Transaction, resource_type: str, pairs: list[tuple[str, str]]) -> search.SearchPage: ...


METHOD_ORDER = {"DELETE": 0, "POST": 1, "PUT": 2, "PATCH": 2, "GET": 3, "HEAD": 3}
STATUS_TEXT = {200: "200 OK", 201: "201 Created", 204: "204 No Content"}
JSON_PATCH = "application/json-patch+json"


@dataclass
class Entry:
    index: int
    method: str
    url: str
    resource_type: str
    resource_id: str | None = None
    criteria: str | None = None
    resource: dict | None = None
    full_url: str | None = None
    if_none_exist: str | None = None
    if_match: int | None = None
    patch: Any = None
    result: store.WriteResult | None = None
    response: dict | None = None  # for GET entries and conditional matches
    target: str | None = None  # "Type/id" this entry writes, for reference resolution
    error: FhirError | None = None  # a batch entry refused while parsing answers on its own

    @property
    def where(self) -> str:
        return f"Bundle.entry[{self.index}]"


def _fail(entry_index: int | None, message: str, *, code: str = "invalid", element: str = "") -> BadRequest:
    where = f"Bundle.entry[{entry_index}]{element}" if entry_index is not None else "Bundle"
    return BadRequest([Issue(code, message, (where,))])


def parse_bundle(bundle: Any, base_url: str) -> tuple[str, list[Entry]]:
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise InvalidResource([Issue("invalid", "Se esperaba un Bundle de tipo transaction o batch / expected a "
                                                "transaction or batch Bundle", ("Bundle",))])
    kind = bundle.get("type")
    if kind not in ("transaction", "batch"):
        raise InvalidResource([Issue("code-invalid", f"Bundle.type '{str(kind)[:40]}' no se procesa aquí; use "
                                                     "transaction o batch / only transaction and batch Bundles "
                                                     "are processed at the base", ("Bundle.type",))])
    raw_entries = bundle.get("entry", [])
    if not isinstance(raw_entries, list):
        raise InvalidResource([Issue("structure", "Bundle.entry debe ser una lista / must be an array",
                                     ("Bundle.entry",))])
    if len(raw_entries) > LIMITS.max_bundle_entries:
        raise _fail(None, f"Más de {LIMITS.max_bundle_entries} entradas / too many entries", code="too-costly")
    entries = []
    for index, raw in enumerate(raw_entries):
        try:
            entries.append(_parse_entry(index, raw, base_url))
        except FhirError as error:
            if kind == "transaction":
                raise
            entries.append(Entry(index, "", "", "", error=error))
    return kind, entries


def _parse_entry(index: int, raw: Any, base_url: str) -> Entry:
    if not isinstance(raw, dict) or not isinstance(raw.get("request"), dict):
        raise _fail(index, "Cada entrada necesita request / each entry needs a request", element=".request")
    request = raw["request"]
    method = request.get("method")
    url = request.get("url")
    if method not in METHOD_ORDER or not isinstance(url, str) or not url:
        raise _fail(index, "request.method (GET|HEAD|POST|PUT|PATCH|DELETE) y request.url son obligatorios / "
                           "are required", code="required", element=".request")
    if base_url and url.startswith(base_url.rstrip("/") + "/"):
        url = url[len(base_url.rstrip("/")) + 1:]
    path, _, query = url.lstrip("/").partition("?")
    parts = path.split("/")
    resource_type = parts[0]
    if method != "GET" and not is_served(resource_type):
        raise _fail(index, f"Tipo de recurso desconocido / unknown resource type '{resource_type[:60]}'",
                    code="not-supported", element=".request.url")
    entry = Entry(index, method, url, resource_type, full_url=raw.get("fullUrl"))
    if len(parts) >= 2 and method != "GET":
        entry.resource_id = parts[1]
        check_id(parts[1], expression=f"{entry.where}.request.url")
    if query and method != "GET":
        entry.criteria = query
    entry.if_none_exist = request.get("ifNoneExist")
    if request.get("ifMatch"):
        entry.if_match = parse_etag(str(request["ifMatch"]), f"{entry.where}.request.ifMatch")
    resource = raw.get("resource")
    if method in ("POST", "PUT"):
        if resource is None:
            raise _fail(index, "Falta el recurso / the entry has no resource", code="required", element=".resource")
        check_resource(resource, expected_type=resource_type, max_json_depth=LIMITS.max_json_depth,
                       location=f"{entry.where}.resource")
        entry.resource = resource
    if method == "PATCH":
        entry.patch = _patch_document(index, resource)
    if method in ("PUT", "DELETE", "PATCH") and entry.resource_id is None and entry.criteria is None:
        raise _fail(index, "La URL debe indicar id o criterio / url needs an id or criteria", element=".request.url")
    return entry


def _patch_document(index: int, resource: Any) -> Any:
    """PATCH entries carry a Binary with the JSON Patch (R4 http.html#patch, #transaction)."""
    if not isinstance(resource, dict) or resource.get("resourceType") != "Binary" \
            or resource.get("contentType") != JSON_PATCH:
        raise _fail(index, f"PATCH en un Bundle requiere un Binary {JSON_PATCH} / needs a Binary with a JSON Patch",
                    element=".resource")
    try:
        return fhirjson.loads(base64.b64decode(resource.get("data", ""), validate=True))
    except (binascii.Error, ValueError, FhirError):
        raise _fail(index, "Binary.data no es un JSON Patch en base64 / is not a base64 JSON Patch",
                    element=".resource.data") from None


def parse_etag(value: str, expression: str) -> int:
    """``W/"3"`` -> 3 (R4 http.html#concurrency)."""
    stripped = value.strip()
    if stripped.startswith("W/"):
        stripped = stripped[2:]
    stripped = stripped.strip('"')
    if not stripped.isdigit():
        raise BadRequest([Issue("invalid", f"ETag inválido / invalid ETag '{value[:40]}'", (expression,))])
    return int(stripped)


async def transaction(tx: Transaction, *, bundle: Any, base_url: str, return_resources: bool = False,
                      access: EntryAccess | None = None) -> dict:
    """Process a transaction Bundle atomically; errors propagate and the caller rolls back."""
    kind, entries = parse_bundle(bundle, base_url)
    if kind == "batch":
        return await _batch(tx, entries, base_url, return_resources, access)
    if access is not None:
        for entry in entries:
            if entry.method in INTERACTION:
                access.require(tx, entry.resource_type, INTERACTION[entry.method])
    ordered = sorted(entries, key=lambda e: (METHOD_ORDER[e.method], e.index))
    references: dict[str, str] = {}
    for entry in ordered:
        try:
            await _identify(tx, entry, references)
        except FhirError as error:
            raise _located(error, entry) from None
    for entry in ordered:
        if entry.resource is not None:
            _rewrite_references(entry.resource, references)
            await _resolve_conditional_references(tx, entry)
    writers = [e for e in ordered if e.method in ("PUT", "PATCH", "DELETE") and e.target and e.response is None]
    keys = [tuple(e.target.split("/", 1)) for e in writers]
    await store.lock(tx, store.lock_keys(keys))  # type: ignore[arg-type]
    currents = await store.current_versions(tx, keys)  # type: ignore[arg-type]
    if access is not None:
        for resource_type, resource_id in keys:
            await access.before_write(tx, resource_type, resource_id)
    plan = store.WritePlan()
    moment = store.now()
    for entry in ordered:
        try:
            await _plan(tx, plan, entry, currents, moment)
        except FhirError as error:
            raise _located(error, entry) from None
    if access is not None:
        await access.before_flush(tx, [e.result for e in ordered if e.result is not None])
    await plan.flush(tx)
    if access is not None:
        await access.after_write(tx, "transaction", [e.result for e in ordered if e.result is not None])
    for entry in ordered:
        if entry.method in ("GET", "HEAD"):
            entry.response = await _get(tx, entry, base_url, access)
    return _response_bundle("transaction-response", entries, return_resources, base_url)


def _located(error: FhirError, entry: Entry) -> FhirError:
    for issue in error.issues:
        if not issue.expression:
            object.__setattr__(issue, "expression", (entry.where,))
    return error


async def _identify(tx: Transaction, entry: Entry, references: dict[str, str]) -> None:
    """Decide which resource each entry writes, and what its fullUrl stands for."""
    if entry.method == "POST":
        if entry.if_none_exist:
            matched = await store.match_one_or_none(tx, resource_type=entry.resource_type,
                                                    criteria=entry.if_none_exist, lock_criteria=True)
            if matched is not None:
                entry.target = f"{entry.resource_type}/{matched}"
                found = await reads.read(tx.conn, resource_type=entry.resource_type, resource_id=matched)
                entry.response = _entry_response(200, entry.target, found.version_id, found.last_updated)
        if entry.target is None:
            entry.target = f"{entry.resource_type}/{store.new_id()}"
    elif entry.method in ("PUT", "DELETE", "PATCH"):
        if entry.criteria is not None:
            matched = await store.match_one_or_none(tx, resource_type=entry.resource_type, criteria=entry.criteria,
                                                    lock_criteria=True)
            if matched is None and entry.method == "PUT":
                body_id = (entry.resource or {}).get("id")
                matched = body_id or store.new_id()
            elif matched is None and entry.method == "DELETE":
                entry.response = {"status": "204 No Content"}
                return
            elif matched is None:
                raise NotFound([Issue("not-found", "Ningún recurso cumple el criterio / no resource matches")])
            entry.resource_id = matched
        entry.target = f"{entry.resource_type}/{entry.resource_id}"
    if entry.full_url and entry.target:
        references[entry.full_url] = entry.target


def _rewrite_references(node: Any, references: dict[str, str]) -> None:
    """Replace ``urn:uuid:`` (and other fullUrl) references with the ids the server assigned."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "reference" and isinstance(value, str) and value in references:
                node[key] = references[value]
            elif isinstance(value, (dict, list)):
                _rewrite_references(value, references)
    elif isinstance(node, list):
        for item in node:
            if isinstance(item, (dict, list)):
                _rewrite_references(item, references)


async def _resolve_conditional_references(tx: Transaction, entry: Entry) -> None:
    """``Patient?identifier=x|1`` as a reference resolves to the one match (R4 http.html#trules)."""
    pending: list[dict] = []
    _collect_conditional(entry.resource, pending)
    for holder in pending:
        resource_type, _, criteria = holder["reference"].partition("?")
        if not is_served(resource_type):
            raise _fail(entry.index, f"Referencia condicional a un tipo desconocido / conditional reference to "
                                     f"unknown type '{resource_type[:60]}'", element=".resource")
        ids = await search.matching_ids(tx.conn, resource_type=resource_type, query=criteria, limit=2)
        if len(ids) != 1:
            raise PreconditionFailed([Issue("multiple-matches" if ids else "not-found",
                                            f"La referencia condicional '{holder['reference'][:120]}' encontró "
                                            f"{len(ids)} recursos; se necesita exactamente uno / matched "
                                            f"{len(ids)} resources, exactly one is required",
                                            (f"{entry.where}.resource",))])
        holder["reference"] = f"{resource_type}/{ids[0]}"


def _collect_conditional(node: Any, out: list[dict]) -> None:
    if isinstance(node, dict):
        reference = node.get("reference")
        if isinstance(reference, str) and "?" in reference and "://" not in reference:
            out.append(node)
        for value in node.values():
            if isinstance(value, (dict, list)):
                _collect_conditional(value, out)
    elif isinstance(node, list):
        for item in node:
            _collect_conditional(item, out)


async def _plan(tx: Transaction, plan: store.WritePlan, entry: Entry, currents: dict, moment) -> None:
    if entry.response is not None or entry.method in ("GET", "HEAD") or entry.target is None:
        return
    resource_type, resource_id = entry.target.split("/", 1)
    current = currents.get((resource_type, resource_id))
    if entry.method == "POST":
        entry.result = plan.put(data=entry.resource, resource_type=resource_type, resource_id=resource_id,
                                current=None, method="POST", moment=moment)
        return
    store.check_if_match(entry.if_match, current)
    if entry.method == "DELETE":
        if current is None:
            raise NotFound([Issue("not-found", f"{entry.target} no existe / does not exist")])
        if current[1]:
            entry.response = {"status": "204 No Content"}
            return
        entry.result = plan.delete(resource_type=resource_type, resource_id=resource_id, current=current,
                                   moment=moment)
        return
    data = entry.resource
    if entry.method == "PATCH":
        data = await _patched(tx, entry)
    assert data is not None
    if data.get("id") not in (None, resource_id) or (entry.criteria is None and data.get("id") is None):
        raise InvalidResource([Issue("invalid", "El id del recurso no coincide con request.url / resource id does "
                                                "not match request.url", (f"{entry.where}.resource.id",))])
    if entry.method == "PATCH":
        check_resource(data, expected_type=resource_type, max_json_depth=LIMITS.max_json_depth,
                       location=f"{entry.where}.resource")
    entry.result = plan.put(data={**data, "id": resource_id}, resource_type=resource_type, resource_id=resource_id,
                            current=current, method=entry.method, moment=moment)


async def _patched(tx: Transaction, entry: Entry) -> dict:
    import jsonpatch

    resource_type, resource_id = entry.target.split("/", 1)  # type: ignore[union-attr]
    current = await reads.read(tx.conn, resource_type=resource_type, resource_id=resource_id)
    try:
        patched = jsonpatch.JsonPatch(entry.patch).apply(fhirjson.loads(current.content))
    except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException, KeyError, TypeError, ValueError) as exc:
        raise BadRequest([Issue("processing", f"No se pudo aplicar el parche / patch failed: {exc}",
                                (entry.where,))]) from None
    return patched


async def _get(tx: Transaction, entry: Entry, base_url: str, access: EntryAccess | None) -> dict:
    path, _, query = entry.url.partition("?")
    parts = path.strip("/").split("/")
    try:
        if len(parts) == 2 and access is not None:
            found = await access.read(tx, parts[0], parts[1])
        elif len(parts) == 2:
            found = await reads.read(tx.conn, resource_type=parts[0], resource_id=parts[1])
        if len(parts) == 2:
            response = _entry_response(200, f"{parts[0]}/{parts[1]}", found.version_id, found.last_updated)
            response["resource"] = fhirjson.loads(found.content)
            return response
        if len(parts) == 1 and is_served(parts[0]):
            pairs = parse_qsl(query, keep_blank_values=True)
            page = await access.search(tx, parts[0], pairs) if access is not None else \
                await search.search(tx.conn, resource_types=[parts[0]], pairs=pairs)
            entries = [{"fullUrl": f"{base_url}/{t}/{i}", "resource": fhirjson.loads(c), "search": {"mode": mode}}
                       for mode, rows in (("match", page.matches), ("include", page.included)) for t, i, c in rows]
            return {"status": "200 OK", "resource": {"resourceType": "Bundle", "type": "searchset",
                                                     "total": page.total, "entry": entries}}
        raise NotFound([Issue("not-found", f"URL no admitida en un Bundle / unsupported url '{entry.url[:80]}'")])
    except FhirError as error:
        return {"status": f"{error.status}", "outcome": error.outcome()}


def _entry_response(status: int, target: str, version_id: int, last_updated) -> dict:
    return {
        "status": STATUS_TEXT.get(status, str(status)),
        "location": f"{target}/_history/{version_id}",
        "etag": f'W/"{version_id}"',
        "lastModified": fhirjson.instant(last_updated),
    }


def _response_bundle(kind: str, entries: list[Entry], return_resources: bool, base_url: str) -> dict:
    out = []
    for entry in entries:
        if entry.result is not None:
            result = entry.result
            target = f"{result.resource_type}/{result.id}"
            response = _entry_response(result.status, target, result.version_id, result.last_updated)
            item: dict = {"response": response}
            if not result.deleted:
                item["fullUrl"] = f"{base_url}/{target}" if base_url else target
                if return_resources and result.content is not None:
                    item["resource"] = fhirjson.loads(result.content)
            else:
                response.pop("location")
            out.append(item)
        else:
            response = dict(entry.response or {"status": "200 OK"})
            resource = response.pop("resource", None)
            outcome = response.pop("outcome", None)
            if outcome is not None:
                response["outcome"] = outcome
            item = {"response": response}
            if resource is not None:
                item["resource"] = resource
            out.append(item)
    return {"resourceType": "Bundle", "type": kind, "entry": out}


async def _batch(tx: Transaction, entries: list[Entry], base_url: str, return_resources: bool,
                 access: EntryAccess | None) -> dict:
    """Each entry alone on a savepoint (R4 http.html#brules): a failure answers in its own entry."""
    for entry in entries:
        if entry.error is not None:
            entry.response = {"status": str(entry.error.status), "outcome": entry.error.outcome()}
            continue
        try:
            async with tx.conn.begin_nested():
                await _batch_entry(tx, entry, base_url, access)
        except FhirError as error:
            entry.result = None
            entry.response = {"status": str(error.status), "outcome": error.outcome()}
    return _response_bundle("batch-response", entries, return_resources, base_url)


async def _batch_entry(tx: Transaction, entry: Entry, base_url: str, access: EntryAccess | None) -> None:
    if entry.method in ("GET", "HEAD"):
        entry.response = await _get(tx, entry, base_url, access)
        return
    if access is not None:
        access.require(tx, entry.resource_type, INTERACTION[entry.method])
    references: dict[str, str] = {}
    await _identify(tx, entry, references)
    if entry.resource is not None:
        await _resolve_conditional_references(tx, entry)
    if entry.response is not None:
        return
    resource_type, resource_id = entry.target.split("/", 1)  # type: ignore[union-attr]
    await store.lock(tx, store.lock_keys([(resource_type, resource_id)]))
    currents = await store.current_versions(tx, [(resource_type, resource_id)])
    if access is not None and entry.method != "POST":
        await access.before_write(tx, resource_type, resource_id)
    plan = store.WritePlan()
    await _plan(tx, plan, entry, currents, store.now())
    if access is not None and entry.result is not None:
        await access.before_flush(tx, [entry.result])
    await plan.flush(tx)
    if access is not None and entry.result is not None:
        await access.after_write(tx, "batch", [entry.result])
