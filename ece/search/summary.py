"""``_summary`` and ``_elements`` (R4 search.html#summary, #elements): subsets of each resource,
marked with the SUBSETTED tag so nobody mistakes them for the whole record."""

from __future__ import annotations

from ece import fhirjson
from ece.registry import schema

SUBSETTED = {"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue", "code": "SUBSETTED",
             "display": "Resource encoded in summary mode"}
ALWAYS = ("resourceType", "id", "meta")


def shaped(resource_type: str, content: bytes, summary: str | None, elements: list[str] | None) -> bytes:
    if summary in (None, "false") and not elements:
        return content
    data = fhirjson.loads(content)
    spec = schema()["types"].get(resource_type, {})
    if elements:
        keep = set(ALWAYS) | {key for name in elements for key in _json_keys(name, spec)} | _mandatory(spec)
        subset = {k: v for k, v in data.items() if k in keep or k.lstrip("_") in keep}
    elif summary == "true":
        subset = {k: v for k, v in data.items() if k in ALWAYS or spec.get(k.lstrip("_"), {}).get("summary")}
    elif summary == "text":
        keep = {"text", *ALWAYS} | _mandatory(spec)
        subset = {k: v for k, v in data.items() if k in keep}
    else:  # data
        subset = {k: v for k, v in data.items() if k != "text"}
    meta = dict(subset.get("meta") or {})
    meta["tag"] = [*meta.get("tag", []), SUBSETTED]
    subset["meta"] = meta
    return fhirjson.dumps(subset)


def _mandatory(spec: dict) -> set[str]:
    return {key for key, element in spec.items() if element.get("mandatory")}


def _json_keys(name: str, spec: dict) -> set[str]:
    """``_elements=value`` names the choice element; its JSON keys carry the type (valueQuantity, ...)."""
    if name in spec:
        return {name}
    return {key for key in spec if key.startswith(name) and key[len(name):][:1].isupper()} or {name}
