"""Validation of every write (R4 validation.html): structure, required bindings, id/type consistency.

Structure and datatypes are checked with fhir.resources' R4B models; the required bindings of the
base specification (which those models do not check) are checked against the expansions in the
generated registry. Validation fails closed: content that cannot be checked is refused.
"""

from __future__ import annotations

import logging
import re
from decimal import Decimal
from functools import cache
from typing import Any, Protocol

from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

from ece import resource_types
from ece.errors import InvalidResource, Issue, UnprocessableEntity, ValidatorUnavailable
from ece.narrative import narrative_problem
from ece.registry import schema

log = logging.getLogger(__name__)
ID_PATTERN = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")  # R4 datatypes.html#id


def check_id(resource_id: str, *, expression: str = "id") -> None:
    if not ID_PATTERN.match(resource_id):
        raise InvalidResource([Issue("value", f"Identificador de recurso inválido / invalid resource id "
                                              f"'{resource_id[:80]}' (R4 datatypes.html#id)", (expression,))])


def check_resource(data: Any, *, max_json_depth: int, expected_type: str | None = None,
                   location: str | None = None) -> str:
    """Validate one resource; answer its type. ``location`` prefixes expressions (e.g. in a Bundle)."""
    root = location or ""
    if not isinstance(data, dict):
        raise InvalidResource([Issue("structure", "Se esperaba un recurso FHIR (objeto JSON) / expected a FHIR "
                                                  "resource (JSON object)", (root or "$this",))])
    resource_type = data.get("resourceType")
    if not isinstance(resource_type, str) or not resource_type:
        raise InvalidResource([Issue("required", "Falta resourceType / resourceType is missing",
                                     (f"{root}.resourceType" if root else "resourceType",))])
    if not resource_types.is_served(resource_type):
        raise InvalidResource([Issue("not-supported", f"Tipo de recurso desconocido o no servido / unknown or "
                                                      f"unsupported resource type '{resource_type[:80]}'",
                                     (f"{root}.resourceType" if root else "resourceType",))])
    if expected_type is not None and resource_type != expected_type:
        raise InvalidResource([Issue("invalid", f"El recurso es {resource_type} pero la URL indica {expected_type} / "
                                                f"resource type {resource_type} does not match the URL "
                                                f"({expected_type})", (root or resource_type,))])
    prefix = root or resource_type
    issues: list[Issue] = []
    try:
        _check_elements(resource_type, data, prefix, 1, max_json_depth, issues)
    except _TooDeep:
        raise InvalidResource([Issue("structure", f"El recurso está anidado a más de {max_json_depth} niveles / "
                                                  f"resource nested deeper than {max_json_depth} levels",
                                     (prefix,))]) from None
    if issues:
        raise InvalidResource(issues[:50])
    try:
        get_fhir_model_class(resource_type).model_validate(data)
    except ValidationError as exc:
        raise InvalidResource(_structure_issues(exc, prefix)) from None
    except (ValueError, TypeError, KeyError) as exc:  # fhir.resources raises plain errors for some content
        raise InvalidResource([Issue("value", f"Contenido inválido / invalid content: {exc}", (prefix,))]) from None
    _run_profile_validators(data, resource_type, prefix)
    return resource_type


class ProfileValidator(Protocol):
    """Checks a structurally valid resource against profiles (the national ones live in fhir_profiles).

    Answers the issues found (empty when it conforms); ``location`` is the FHIRPath prefix of the resource
    (``Patient`` or ``Bundle.entry[3].resource``). Raising means it could not run.
    """

    def __call__(self, data: dict, *, resource_type: str, location: str) -> list[Issue]: ...


_profile_validators: list[ProfileValidator] = []


def register_profile_validator(validator: ProfileValidator) -> None:
    """Install a profile validator in the single write path (done once by the composition root)."""
    if validator not in _profile_validators:
        _profile_validators.append(validator)


def _run_profile_validators(data: dict, resource_type: str, location: str) -> None:
    for validator in _profile_validators:
        try:
            issues = validator(data, resource_type=resource_type, location=location)
        except Exception as exc:  # fail closed: a write that cannot be checked is refused
            log.exception("profile validator failed")
            raise ValidatorUnavailable([Issue("exception", "No se pudo validar contra el perfil; no se guardó nada "
                                                           "/ profile validation could not run; nothing was saved",
                                              (location,))]) from exc
        if any(issue.severity in ("error", "fatal") for issue in issues):
            raise UnprocessableEntity(issues[:50])


_ERROR_TEXT = {
    "extra_forbidden": "Elemento desconocido / unknown element",
    "missing": "Falta un elemento obligatorio / required element missing",
    "list_type": "Se esperaba una lista (cardinalidad 0..*) / expected an array",
}


def _structure_issues(exc: ValidationError, prefix: str) -> list[Issue]:
    issues = []
    for error in exc.errors()[:50]:
        path = prefix + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error["loc"]
                                if not (isinstance(p, str) and ("[" in p or "(" in p)))
        text = _ERROR_TEXT.get(error["type"], "Valor inválido / invalid value")
        issues.append(Issue("structure" if error["type"] in _ERROR_TEXT else "value",
                            f"{text}: {error['msg']}", (path,)))
    return issues


# R4 json.html#primitive: booleans, integers and decimals are JSON booleans and numbers, never strings.
_INTEGER_TYPES = frozenset({"integer", "positiveInt", "unsignedInt"})
# R4 datatypes.html#string: no control characters other than tab, line feed and carriage return.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
# The members every element may carry beside its value (R4 json.html#primitive: the ``_x`` object).
_ELEMENT = {"id": {"type": "string", "array": False}, "extension": {"type": "Extension", "array": True}}


class _TooDeep(Exception):
    pass


def _check_elements(type_name: str, node: dict, path: str, depth: int, limit: int, issues: list[Issue]) -> None:
    """Walk every element: JSON types of primitives, empty objects and arrays, text, narrative, and the
    required bindings; nested resources by their own type."""
    if depth > limit:
        raise _TooDeep
    if not node:
        issues.append(Issue("structure", "Elemento vacío / empty element (ele-1)", (path,)))
        return
    types = schema()["types"]
    elements = _ELEMENT if type_name == "Element" else types.get(type_name)
    if elements is None:
        return
    for key, value in node.items():
        if key.startswith("_"):
            spec = {"type": "Element", "array": isinstance(value, list)}
        else:
            spec = elements.get(key)
            if spec is None:
                continue  # unknown elements are reported by the structural model
        element_type = spec["type"]
        if isinstance(value, list):
            if not value:
                issues.append(Issue("structure", "Lista vacía / empty array", (f"{path}.{key}",)))
            items, array = value, True
        else:
            items, array = [value], False
        for index, item in enumerate(items):
            item_path = f"{path}.{key}[{index}]" if array else f"{path}.{key}"
            if item is None:
                if not array:  # null only pads arrays that pair with a ``_x`` array
                    issues.append(Issue("structure", "null no es un valor / null is not a value", (item_path,)))
                continue
            if element_type == "Resource":
                _check_nested_resource(item, item_path, depth, limit, issues)
            elif element_type == "Element" or element_type in types:
                if isinstance(item, dict):
                    _check_elements(element_type, item, item_path, depth + 1, limit, issues)
            else:
                _check_primitive(element_type, item, item_path, issues)
            if "vs" in spec:
                _check_code(element_type, item, spec["vs"], item_path, issues)


def _check_nested_resource(item: Any, path: str, depth: int, limit: int, issues: list[Issue]) -> None:
    nested_type = item.get("resourceType") if isinstance(item, dict) else None
    if not isinstance(nested_type, str) or not resource_types.is_served(nested_type):
        issues.append(Issue("not-supported", f"Recurso anidado de tipo desconocido / nested resource of unknown "
                                             f"type '{str(nested_type)[:60]}'", (path,)))
        return
    _check_elements(nested_type, item, path, depth + 1, limit, issues)


def _check_primitive(element_type: str, value: Any, path: str, issues: list[Issue]) -> None:
    if element_type == "boolean":
        ok = isinstance(value, bool)
    elif element_type in _INTEGER_TYPES:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif element_type == "decimal":
        ok = isinstance(value, (int, Decimal)) and not isinstance(value, bool)
    else:
        ok = isinstance(value, str)
        if ok and not value.strip():
            issues.append(Issue("value", "Cadena vacía / empty string", (path,)))
            return
        if ok and _CONTROL.search(value):
            issues.append(Issue("value", "La cadena contiene caracteres de control / string contains control "
                                         "characters", (path,)))
            return
        if ok and element_type == "xhtml":
            problem = narrative_problem(value)
            if problem is not None:
                issues.append(Issue("value", f"Narrativa inválida / invalid narrative: {problem}", (path,)))
            return
    if not ok:
        issues.append(Issue("value", f"Tipo JSON incorrecto para {element_type} / wrong JSON type for "
                                     f"{element_type} (R4 json.html#primitive)", (path,)))


def _check_code(element_type: str, item: Any, value_set_url: str, path: str, issues: list[Issue]) -> None:
    if element_type in ("code", "string", "uri"):
        if isinstance(item, str) and not any(item in codes for codes in _code_sets(value_set_url).values()):
            issues.append(_binding_issue(item, value_set_url, path))
    elif element_type == "Coding" and isinstance(item, dict):
        if "code" in item and not _coding_in(item, value_set_url):
            issues.append(_binding_issue(item.get("code"), value_set_url, path))
    elif element_type == "CodeableConcept" and isinstance(item, dict):
        codings = [c for c in item.get("coding", []) if isinstance(c, dict) and "code" in c]
        if codings and not any(_coding_in(c, value_set_url) for c in codings):
            issues.append(_binding_issue(codings[0].get("code"), value_set_url, f"{path}.coding"))


def _coding_in(coding: dict, value_set_url: str) -> bool:
    codes = _code_sets(value_set_url).get(coding.get("system", ""))
    return codes is not None and coding.get("code") in codes


@cache
def _code_sets(value_set_url: str) -> dict[str, frozenset[str]]:
    return {system: frozenset(codes) for system, codes in schema()["valueSets"][value_set_url].items()}


def _binding_issue(code: Any, value_set_url: str, path: str) -> Issue:
    return Issue("code-invalid", f"El código '{str(code)[:80]}' no pertenece al conjunto de valores requerido / "
                                 f"code '{str(code)[:80]}' is not in the required value set {value_set_url}",
                 (path,))
