"""HTTP details of the FHIR REST API (R4 http.html): media types, Prefer, ETag, Location, Bundles.

Only translation between HTTP and the store lives here; no queries and no transactions.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import Request, Response

from ece import fhirjson
from ece.bundle import parse_etag
from ece.errors import BadRequest, InvalidResource, Issue, NotAcceptable, UnsupportedMediaType
from ece.reads import Version
from ece.store import WriteResult

FHIR_JSON = "application/fhir+json"
JSON_PATCH = "application/json-patch+json"
# R4 http.html#mime: application/fhir+json is the FHIR type; plain JSON is accepted too (fhirpy sends it).
ACCEPTED_BODY_TYPES = {FHIR_JSON, "application/json", "text/json", "application/json+fhir"}
FORMAT_ALIASES = {"json": FHIR_JSON, FHIR_JSON: FHIR_JSON, "application/json": "application/json",
                  "application/json+fhir": FHIR_JSON, "text/json": "application/json"}
XML_TYPES = {"xml", "application/fhir+xml", "application/xml", "text/xml", "application/xml+fhir"}


def base_url(request: Request, public_base: str | None) -> str:
    if public_base:
        return public_base.rstrip("/")
    return str(request.base_url).rstrip("/") + "/fhir"


def response_media_type(request: Request) -> str:
    """``_format`` wins over ``Accept``; JSON is the only format served (XML answers 406)."""
    wanted = request.query_params.get("_format")
    if wanted is not None:
        if wanted in FORMAT_ALIASES:
            return FORMAT_ALIASES[wanted]
        raise NotAcceptable([Issue("not-supported", f"Formato no admitido / unsupported _format '{wanted[:40]}'; "
                                                    "solo JSON / JSON only", ("_format",))])
    accept = request.headers.get("accept", "")
    if accept and all(_media(a) in XML_TYPES for a in accept.split(",")):
        raise NotAcceptable([Issue("not-supported", "Solo se sirve JSON / only JSON is served")])
    if "application/json" in accept and FHIR_JSON not in accept:
        return "application/json"
    return FHIR_JSON


def _media(value: str) -> str:
    return value.split(";")[0].strip().lower()


def pretty(request: Request) -> bool:
    return request.query_params.get("_pretty") == "true"


async def read_json_body(request: Request, *, allowed: set[str] | None = None) -> Any:
    media = _media(request.headers.get("content-type", ""))
    allowed = allowed or ACCEPTED_BODY_TYPES
    if media not in allowed:
        raise UnsupportedMediaType([Issue("not-supported", f"Tipo de contenido no admitido / unsupported content "
                                                           f"type '{media[:60] or '(none)'}'; use {FHIR_JSON}")])
    raw = await request.body()
    if not raw.strip():
        raise InvalidResource([Issue("required", "El cuerpo está vacío / the request body is empty")])
    return fhirjson.loads(raw)


def prefer(request: Request) -> dict[str, str]:
    """Parse ``Prefer: return=minimal, handling=strict`` (RFC 7240)."""
    out: dict[str, str] = {}
    for part in request.headers.get("prefer", "").replace(";", ",").split(","):
        key, _, value = part.strip().partition("=")
        if key:
            out[key.lower()] = value.strip().strip('"')
    return out


def if_match(request: Request) -> int | None:
    value = request.headers.get("if-match")
    if value is None:
        return None
    return parse_etag(value, "If-Match")


def if_none_exist(request: Request) -> str | None:
    value = request.headers.get("if-none-exist")
    if value is not None and not value.strip():
        raise BadRequest([Issue("invalid", "If-None-Exist vacío / empty If-None-Exist")])
    return value


def _body(content: bytes, request: Request) -> bytes:
    return fhirjson.prettify(content) if pretty(request) else content


def resource_response(request: Request, version: Version | WriteResult, *, status: int = 200,
                      location_base: str | None = None) -> Response:
    headers = {
        "ETag": f'W/"{version.version_id}"',
        "Last-Modified": fhirjson.http_date(version.last_updated),
    }
    if location_base is not None:
        headers["Location"] = f"{location_base}/{version.resource_type}/{version.id}/_history/{version.version_id}"
    media = response_media_type(request)
    wanted = prefer(request).get("return", "representation")
    if status in (200, 201) and wanted == "minimal" and location_base is not None:
        return Response(status_code=status, headers=headers)
    if status in (200, 201) and wanted == "OperationOutcome" and location_base is not None:
        outcome = {"resourceType": "OperationOutcome", "issue": [{
            "severity": "information", "code": "informational",
            "diagnostics": f"{version.resource_type}/{version.id} versión {version.version_id} "
                           f"{'creada' if status == 201 else 'guardada'} / version saved"}]}
        return Response(fhirjson.dumps(outcome, pretty=pretty(request)), status_code=status, headers=headers,
                        media_type=media)
    assert version.content is not None
    return Response(_body(version.content, request), status_code=status, headers=headers, media_type=media)


def json_response(request: Request, body: dict, status: int = 200, headers: dict | None = None) -> Response:
    return Response(fhirjson.dumps(body, pretty=pretty(request)), status_code=status, headers=headers,
                    media_type=response_media_type(request))


def history_bundle(base: str, versions: list[Version], *, total: int | None, self_link: str,
                   next_link: str | None) -> dict:
    """R4 http.html#history: a ``history`` Bundle, newest first, with request and response per entry."""
    entries = []
    for v in versions:
        target = f"{v.resource_type}/{v.id}"
        method = v.method
        entry: dict = {
            "fullUrl": f"{base}/{target}",
            "request": {"method": method, "url": target if method != "POST" else v.resource_type},
            "response": {"status": "204 No Content" if v.deleted else ("201 Created" if v.created else "200 OK"),
                         "etag": f'W/"{v.version_id}"', "lastModified": fhirjson.instant(v.last_updated)},
        }
        if v.content is not None:
            entry["resource"] = fhirjson.Raw(v.content)
        entries.append(entry)
    bundle: dict = {"resourceType": "Bundle", "type": "history"}
    if total is not None:
        bundle["total"] = total
    bundle["link"] = [{"relation": "self", "url": self_link}]
    if next_link:
        bundle["link"].append({"relation": "next", "url": next_link})
    bundle["entry"] = entries
    return bundle


def link(base: str, path: str, pairs: list[tuple[str, str]]) -> str:
    query = urlencode(pairs)
    return f"{base}/{path}" + (f"?{query}" if query else "")
