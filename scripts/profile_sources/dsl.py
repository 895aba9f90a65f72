"""Small helpers to author StructureDefinition differentials, CodeSystems and ValueSets (R4 profiling.html).

Authoring in Python keeps each national rule on one line; ``scripts/generate_profiles.py`` turns these
into the committed JSON (differential plus a generated snapshot).
"""

from __future__ import annotations

from typing import Any

from fhir_profiles.systems import CANONICAL_BASE, PROFILES_VERSION, canonical

Json = dict[str, Any]
PUBLISHER = "Secretaría de Salud de Honduras (propuesta del proyecto ECE Honduras)"
DATE = "2026-11-29"
BASE_SD = "http://hl7.org/fhir/StructureDefinition/"
# The metadata every national conformance resource carries (R4 canonicalresource / metadata elements).
COMMON = {"version": PROFILES_VERSION, "status": "active", "experimental": False, "date": DATE,
          "publisher": PUBLISHER, "jurisdiction": [{"coding": [{"system": "urn:iso:std:iso:3166",
                                                                 "code": "HN"}]}]}


def _path_of(element_id: str) -> str:
    """``Patient.identifier:dni.system`` → ``Patient.identifier.system`` (R4 elementdefinition.html#id)."""
    return ".".join(part.split(":")[0] for part in element_id.split("."))


def el(element_id: str, **props: Any) -> Json:
    """One differential element; keyword names are ElementDefinition element names."""
    out: Json = {"id": element_id, "path": _path_of(element_id)}
    last = element_id.split(".")[-1]
    if ":" in last:
        out["sliceName"] = last.split(":", 1)[1]
    for key, value in props.items():
        out[key] = value
    return out


def sliced(element_id: str, *discriminators: tuple[str, str], rules: str = "open", **props: Any) -> Json:
    """A slicing declaration (R4 profiling.html#slicing)."""
    return el(element_id, slicing={"discriminator": [{"type": t, "path": p} for t, p in discriminators],
                                   "rules": rules}, **props)


def ext(element_id: str, url: str, *, min: int = 0, max: str = "1", **props: Any) -> Json:
    """An extension slice typed with the extension's profile (R4 profiling.html#extensions)."""
    return el(element_id, min=min, max=max, type=[{"code": "Extension", "profile": [url]}], **props)


def bind(vs_name_or_url: str, strength: str = "required", description: str | None = None) -> Json:
    url = vs_name_or_url if "/" in vs_name_or_url else canonical("ValueSet", vs_name_or_url)
    out: Json = {"strength": strength, "valueSet": url}
    if description:
        out["description"] = description
    return out


def ref(*targets: str) -> list[Json]:
    """A Reference type whose targets are base types or national profiles (``hn-...``)."""
    return [{"code": "Reference", "targetProfile": [canonical("StructureDefinition", t) if t.startswith("hn-")
                                                    else BASE_SD + t for t in targets]}]


def inv(key: str, human: str, expression: str, severity: str = "error") -> Json:
    """An invariant (R4 conformance-rules.html#constraints); ``human`` is Spanish first, then English."""
    return {"key": key, "severity": severity, "human": human, "expression": expression,
            "source": f"{CANONICAL_BASE}/StructureDefinition"}


def profile(pid: str, resource_type: str, title: str, description: str, elements: list[Json], *,
            base: str | None = None) -> Json:
    return {"resourceType": "StructureDefinition", "id": pid, "url": canonical("StructureDefinition", pid),
            "name": "".join(p.capitalize() for p in pid.split("-")), "title": title, **COMMON,
            "description": description, "fhirVersion": "4.0.1", "kind": "resource", "abstract": False,
            "type": resource_type,
            "baseDefinition": canonical("StructureDefinition", base) if base else BASE_SD + resource_type,
            "derivation": "constraint", "differential": {"element": elements}}


def extension(pid: str, title: str, description: str, contexts: list[str], value_type: str | list[Json], *,
              binding: Json | None = None, constraints: list[Json] | None = None) -> Json:
    """A simple extension: one value, no nested extensions (R4 extensibility.html#simple)."""
    url = canonical("StructureDefinition", pid)
    types = [{"code": value_type}] if isinstance(value_type, str) else value_type
    value = el("Extension.value[x]", min=1, type=types)
    if binding:
        value["binding"] = binding
    root = el("Extension", short=title, definition=description)
    if constraints:
        root["constraint"] = constraints
    sd = profile(pid, "Extension", title, description, [
        root, el("Extension.extension", max="0"), el("Extension.url", fixedUri=url), value])
    sd["kind"] = "complex-type"
    sd["baseDefinition"] = BASE_SD + "Extension"
    sd["context"] = [{"type": "element", "expression": c} for c in contexts]
    return sd


def code_system(cid: str, title: str, description: str, concepts: list[tuple], *,
                properties: list[Json] | None = None, content: str = "complete") -> Json:
    """``concepts``: (code, Spanish display, English display[, definition][, {property: value}])."""
    out: Json = {"resourceType": "CodeSystem", "id": cid, "url": canonical("CodeSystem", cid),
                 "name": "".join(p.capitalize() for p in cid.split("-")), "title": title, **COMMON,
                 "description": description, "caseSensitive": True, "valueSet": canonical("ValueSet", cid),
                 "content": content, "language": "es"}
    if properties:
        out["property"] = properties
    if concepts:
        out["count"] = len(concepts)
        out["concept"] = [_concept(c) for c in concepts]
    return out


def _concept(spec: tuple) -> Json:
    code, spanish, english, *rest = spec
    concept: Json = {"code": code, "display": spanish,
                     "designation": [{"language": "en", "value": english}]}
    for extra in rest:
        if isinstance(extra, str):
            concept["definition"] = extra
        elif isinstance(extra, dict):
            # A property may repeat (R4 codesystem.html#CodeSystem.concept.property): a list gives one per value.
            concept["property"] = [{"code": k, **_property_value(one)} for k, v in extra.items()
                                   for one in (v if isinstance(v, list) else [v])]
    return concept


def _property_value(value: Any) -> Json:
    if isinstance(value, bool):
        return {"valueBoolean": value}
    return {"valueCode": value}


def value_set(vid: str, title: str, description: str, includes: list[Json]) -> Json:
    return {"resourceType": "ValueSet", "id": vid, "url": canonical("ValueSet", vid),
            "name": "".join(p.capitalize() for p in vid.split("-")), "title": title, **COMMON,
            "description": description, "immutable": False, "compose": {"include": includes}}


def whole(system: str) -> Json:
    return {"system": system}


def codes(system: str, *concepts: tuple[str, str, str]) -> Json:
    """An include of listed codes with Spanish display and English designation (R4 valueset.html)."""
    return {"system": system, "concept": [{"code": c, "display": es, "designation": [{"language": "en",
                                                                                      "value": en}]}
                                          for c, es, en in concepts]}
