"""Validation of every write (R4 validation.html): structure, required bindings, id/type consistency.

Structure and datatypes are checked with fhir.resources' R4B models; the required bindings of the
base specification (which those models do not check) are checked against the expansions in the
generated registry. Validation fails closed: content that cannot be checked is refused.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

from ece import resource_types
from ece.errors import InvalidResource, Issue
from ece.fhirjson import max_depth
from ece.registry import schema

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
    if max_depth(data, max_json_depth):
        raise InvalidResource([Issue("structure", f"El recurso está anidado a más de {max_json_depth} niveles / "
                                                  f"resource nested deeper than {max_json_depth} levels",
                                     (root or resource_type,))])
    prefix = root or resource_type
    try:
        get_fhir_model_class(resource_type).model_validate(data)
    except ValidationError as exc:
        raise InvalidResource(_structure_issues(exc, prefix)) from None
    except (ValueError, TypeError) as exc:  # fhir.resources raises plain errors for some primitives
        raise InvalidResource([Issue("value", f"Contenido inválido / invalid content: {exc}", (prefix,))]) from None
    issues: list[Issue] = []
    _check_bindings(resource_type, data, prefix, issues)
    if issues:
        raise InvalidResource(issues)
    return resource_type


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


@cache
def _types_to_walk() -> frozenset[str]:
    """Types whose subtree holds a required binding or a nested resource (fixpoint over the schema)."""
    types = schema()["types"]
    walk: set[str] = set()
    changed = True
    while changed:
        changed = False
        for name, elements in types.items():
            if name in walk:
                continue
            for spec in elements.values():
                if "vs" in spec or spec["type"] == "Resource" or spec["type"] in walk:
                    walk.add(name)
                    changed = True
                    break
    return frozenset(walk)


def _check_bindings(type_name: str, node: dict, path: str, issues: list[Issue]) -> None:
    elements = schema()["types"].get(type_name)
    if elements is None:
        return
    walk = _types_to_walk()
    for key, value in node.items():
        spec = elements.get(key)
        if spec is None:
            continue
        element_type = spec["type"]
        value_set = spec.get("vs")
        nested_resource = element_type == "Resource"
        if value_set is None and not nested_resource and element_type not in walk:
            continue
        items = value if isinstance(value, list) else [value]
        for index, item in enumerate(items):
            item_path = f"{path}.{key}[{index}]" if spec["array"] else f"{path}.{key}"
            if value_set is not None:
                _check_code(element_type, item, value_set, item_path, issues)
            if nested_resource and isinstance(item, dict):
                _check_bindings(item.get("resourceType", ""), item, item_path, issues)
            elif isinstance(item, dict) and element_type in walk:
                _check_bindings(element_type, item, item_path, issues)


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
