"""The terminology and validation operations as service functions returning FHIR JSON:
``CodeSystem/$lookup`` (R4 codesystem-operation-lookup.html), ``ValueSet/$expand``
(valueset-operation-expand.html), ``ValueSet/$validate-code`` (valueset-operation-validate-code.html) and
``[type]/$validate``, ``[type]/[id]/$validate`` (resource-operation-validate.html).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from ece import reads
from ece.errors import BadRequest, FhirError, InvalidResource, Issue, NotFound, UnprocessableEntity
from ece.fhirjson import loads
from ece.limits import LIMITS
from ece.validation import check_resource
from fhir_profiles import catalog, terminology, validator
from fhir_profiles.systems import canonical


def _concept_json(concept: terminology.Concept) -> dict:
    out: dict = {"system": concept.system, "code": concept.code, "display": concept.display}
    if concept.designations:
        out["designation"] = [{"language": lang, "value": value} for lang, value in concept.designations]
    return out


def expand(*, url: str | None, value_set_id: str | None, filter_text: str | None, offset: str | None,
           count: str | None) -> dict:
    if value_set_id is not None:
        url = canonical("ValueSet", value_set_id)
    if not url:
        raise BadRequest([Issue("required", "Falta el parámetro url / the url parameter is required", ("url",))])
    first = _natural(offset, "offset", 0)
    size = min(_natural(count, "count", terminology.DEFAULT_EXPANSION), terminology.MAX_EXPANSION)
    result = terminology.expand(url=url.split("|")[0], filter_text=filter_text, offset=first, count=size)
    definition = catalog.by_url().get(url.split("|")[0], {})
    parameters = [{"name": "offset", "valueInteger": first}, {"name": "count", "valueInteger": size}]
    if filter_text:
        parameters.append({"name": "filter", "valueString": filter_text})
    expansion: dict[str, Any] = {"identifier": f"urn:uuid:{_expansion_id(url, filter_text, first, size)}",
                                 "timestamp": definition.get("date", "2026-11-29"), "total": result.total,
                                 "offset": first, "parameter": parameters}
    if result.contains:
        expansion["contains"] = [_concept_json(c) for c in result.contains]
    return {"resourceType": "ValueSet", **({"id": definition["id"]} if "id" in definition else {}),
            "url": url, "status": definition.get("status", "active"), "expansion": expansion}


def _expansion_id(*parts: Any) -> str:
    import uuid

    return str(uuid.uuid5(uuid.NAMESPACE_URL, "|".join(str(p) for p in parts)))


def _natural(value: str | None, name: str, default: int) -> int:
    if value is None or value == "":
        return default
    if not value.isdigit():
        raise BadRequest([Issue("invalid", f"{name} debe ser un entero no negativo / must be a non-negative "
                                           "integer", (name,))])
    return int(value)


def lookup(*, system: str | None, code: str | None) -> dict:
    if not system or not code:
        raise BadRequest([Issue("required", "Se requieren system y code / system and code are required",
                                ("system" if not system else "code",))])
    index, concept = terminology.lookup(system=system, code=code)
    parameters: list[dict] = [{"name": "name", "valueString": index.name}]
    if index.version:
        parameters.append({"name": "version", "valueString": index.version})
    parameters.append({"name": "display", "valueString": concept.display})
    for language, value in concept.designations:
        parameters.append({"name": "designation", "part": [{"name": "language", "valueCode": language},
                                                           {"name": "value", "valueString": value}]})
    if concept.parent:
        parameters.append(_property("parent", concept.parent))
    for child in index.children.get(concept.code, []):
        parameters.append(_property("child", child))
    if not concept.selectable:
        parameters.append({"name": "property", "part": [{"name": "code", "valueCode": "notSelectable"},
                                                        {"name": "value", "valueBoolean": True}]})
    for code_name, value in concept.properties:
        parameters.append(_property(code_name, value))
    return {"resourceType": "Parameters", "parameter": parameters}


def _property(name: str, value: str) -> dict:
    return {"name": "property", "part": [{"name": "code", "valueCode": name}, {"name": "value", "valueCode": value}]}


def validate_code(*, url: str | None, system: str | None, code: str | None, display: str | None) -> dict:
    if not url or not code:
        raise BadRequest([Issue("required", "Se requieren url y code / url and code are required",
                                ("url" if not url else "code",))])
    if "|" in code and system is None:  # the token form system|code
        system, code = code.split("|", 1)
    result = terminology.validate_code(url=url.split("|")[0], system=system, code=code, display=display)
    parameters: list[dict] = [{"name": "result", "valueBoolean": result.result}]
    if result.message:
        parameters.append({"name": "message", "valueString": result.message})
    if result.display:
        parameters.append({"name": "display", "valueString": result.display})
    return {"resourceType": "Parameters", "parameter": parameters}


def resource_from_body(body: Any) -> Any:
    """The resource to validate: the body itself, or the ``resource`` parameter of a Parameters body."""
    if isinstance(body, dict) and body.get("resourceType") == "Parameters":
        for parameter in body.get("parameter", []):
            if isinstance(parameter, dict) and parameter.get("name") == "resource":
                return parameter.get("resource")
        raise BadRequest([Issue("required", "Parameters sin 'resource' / Parameters without a resource",
                                ("Parameters.parameter",))])
    return body


def validate_resource(data: Any, *, resource_type: str, profile: str | None, enforced_types: frozenset[str]) -> dict:
    """An OperationOutcome with every problem found: 200 whether or not the resource is valid (R4
    resource-operation-validate.html); 4xx only when the request itself cannot be handled."""
    if profile is not None and profile.split("|")[0] not in {p["url"] for p in catalog.profiles()}:
        raise NotFound([Issue("not-found", f"Perfil desconocido / unknown profile {profile[:200]}", ("profile",))])
    try:
        check_resource(data, expected_type=resource_type, max_json_depth=LIMITS.max_json_depth)
    except InvalidResource as refused:
        return _outcome(refused.issues)
    except UnprocessableEntity:
        pass  # the profile issues are recomputed below, warnings and all
    profiles = [profile.split("|")[0]] if profile else None
    issues = validator.validate(data, resource_type=resource_type, location=resource_type,
                                enforced_types=enforced_types, profiles=profiles)
    return _outcome(issues)


def _outcome(issues: list[Issue]) -> dict:
    if not issues:
        issues = [Issue("informational", "Sin problemas / no issues found", (), "information")]
    return FhirError(issues).outcome()


async def validate_stored(conn: AsyncConnection, *, resource_type: str, resource_id: str, body: Any,
                          profile: str | None, enforced_types: frozenset[str]) -> dict:
    """``[type]/[id]/$validate``: the body when one is sent (as an update of that id), else the stored version."""
    if body is None:
        version = await reads.read(conn, resource_type=resource_type, resource_id=resource_id)
        data = loads(version.content)
    else:
        data = resource_from_body(body)
        if isinstance(data, dict) and data.get("id") not in (None, resource_id):
            raise InvalidResource([Issue("invalid", "El id del recurso no coincide con el de la URL / resource id "
                                                    "does not match the URL", (f"{resource_type}.id",))])
    return validate_resource(data, resource_type=resource_type, profile=profile, enforced_types=enforced_types)
