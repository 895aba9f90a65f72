"""Search-index extraction: the rows a resource contributes to the ``search_*`` tables.

Parameters come from the generated registry of the official R4 SearchParameters (and, later, the
national ones). Each expression that is a navigation was compiled by the generator into path steps
(``resolve() is X`` became a target type, ``extension('url')`` and ``where(a='b')`` became filtered
steps), so extraction is a walk over compiled accessors, never an interpreter per write.
R4 search.html#ptypes gives the matching rules each value type is indexed for.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any

from ece import ucum
from ece.computed_params import COMPUTED
from ece.dates import END_OF_TIME, START_OF_TIME, date_range, fold
from ece.fulltext import full_text
from ece.references import local_reference, parse_reference
from ece.registry import search_parameters

INDEXED_TYPES = ("token", "string", "date", "reference", "number", "quantity", "uri", "composite")
MAX_INDEXED_TEXT = 1000  # btree rows must stay well under PostgreSQL's ~2.7 kB limit
OF_TYPE = ":of-type"  # suffix of the parameter name on the index rows of Identifier types (typed_identifiers)

CONTACT_POINT_SYSTEMS = frozenset({"phone", "fax", "email", "pager", "url", "sms", "other"})
HUMAN_NAME_PARTS = ("family", "given", "prefix", "suffix", "text")
ADDRESS_PARTS = ("line", "city", "district", "state", "postalCode", "country", "text")
# Parameters on every resource (R4 resource.html#search); _id and _lastUpdated are columns of ``resource``.
COMMON_PARAMETERS = ("_tag", "_security", "_profile", "_source")


@dataclass(frozen=True)
class Path:
    steps: tuple[Any, ...]
    target: str | None


@dataclass(frozen=True)
class Component:
    type: str
    paths: tuple[Path, ...]


@dataclass(frozen=True)
class IndexedParam:
    name: str
    type: str
    paths: tuple[Path, ...]
    targets: tuple[str, ...]
    components: tuple[Component, ...] = ()
    # Names and addresses also match from each word (see _word_starts).
    word_starts: bool = False
    # The values of a parameter whose expression is not a navigation (ece.computed_params); paths are then ().
    compute: Callable[[dict], list[Any]] | None = None
    # A date parameter whose every path ends at a date, dateTime or instant, never a Period: its index rows always
    # have low <= high, so none needs the column tests kept for a Period written end before start (ece.search).
    ordered_spans: bool = False


def _step_name(step: Any) -> str:
    """The element a path step names: a plain name, or (name, where) for a filtered step."""
    return step if isinstance(step, str) else step[0]


def _compile_paths(spec: dict) -> tuple[Path, ...]:
    return tuple(Path(tuple(_freeze(s) for s in p["steps"]), p.get("target")) for p in spec["paths"])


def _freeze(step: Any) -> Any:
    if isinstance(step, dict):
        return (step["name"], tuple(sorted(step["where"].items())))
    return step


# Parameters added to the official ones (the national profiles' SearchParameters), in the registry's format:
# {type: {name: {"type", "url", "paths": [{"steps": [...], "target": ...}], "targets": [...]}}}.
_extra_parameters: dict[str, dict[str, dict]] = {
    # R4 puts Bundle in no compartment, yet a document Bundle (documents.html) holds a patient's record: the
    # subject of its entries is indexed as ``patient``, so it can be searched (Bundle?patient=) and access
    # control treats the document as that patient's data (ece.access.policy).
    "Bundle": {"patient": {
        "type": "reference", "url": "urn:ece-hn:SearchParameter/Bundle-patient",
        "expression": "Bundle.entry.resource.subject.where(resolve() is Patient)",
        "paths": [{"steps": ["entry", "resource", "subject"], "target": "Patient"}], "targets": ["Patient"],
        "comparators": [], "modifiers": ["identifier", "missing", "type"]}},
}


def register_search_parameters(parameters: dict[str, dict[str, dict]]) -> None:
    """Add search parameters (done once at start-up, before any write); ``ece reindex`` indexes existing data."""
    for resource_type, specs in parameters.items():
        _extra_parameters.setdefault(resource_type, {}).update(specs)
    for cached in (_by_url, indexed_params, indexed_param, _paths_by_first_element):
        cached.cache_clear()


@cache
def single_valued(resource_type: str, name: str) -> bool:
    """True when the parameter can hold at most one value per resource (every step of its one path is 0..1
    in the schema): repeated conditions on it then concern the same value (Patient.birthDate)."""
    from ece.registry import schema

    param = indexed_param(resource_type, name)
    if param is None or len(param.paths) != 1:
        return False
    types, current = schema()["types"], resource_type
    for step in param.paths[0].steps:
        element = types.get(current, {}).get(_step_name(step))
        if element is None or element["array"]:
            return False
        current = element["type"]
    return True


def identifier_valued(resource_type: str, name: str) -> bool:
    """True when every path of the parameter ends at an Identifier, the one datatype ``:of-type`` applies to."""
    param = indexed_param(resource_type, name)
    return param is not None and param.type == "token" and _ends_at(resource_type, param.paths, {"Identifier"})


# FHIR datatypes whose value is one instant at some precision (R4 datatypes.html#primitive): never a Period.
POINT_IN_TIME_TYPES = frozenset({"date", "dateTime", "instant"})


def _ends_at(resource_type: str, paths: tuple[Path, ...], datatypes: set[str] | frozenset[str]) -> bool:
    """True when every one of ``paths`` (at least one) ends, in the schema, at one of ``datatypes``."""
    from ece.registry import schema

    types = schema()["types"]
    for path in paths:
        current: str | None = resource_type
        for step in path.steps:
            element = types.get(current or "", {}).get(_step_name(step))
            current = element["type"] if element else None
        if current not in datatypes:
            return False
    return bool(paths)


def parameter_url(resource_type: str, name: str) -> str:
    spec = _parameters_of(resource_type).get(name) or search_parameters()["Resource"][name]
    return spec["url"]


def _parameters_of(resource_type: str) -> dict[str, dict]:
    return {**search_parameters().get(resource_type, {}), **_extra_parameters.get(resource_type, {})}


@cache
def _by_url() -> dict[str, dict]:
    registries = (search_parameters(), _extra_parameters)
    return {spec["url"]: spec for registry in registries for specs in registry.values() for spec in specs.values()}


def _component_paths(expression: str) -> tuple[Path, ...] | None:
    """``code`` -> code; ``value.as(Quantity) | value.as(Range)`` -> valueQuantity, valueRange."""
    paths = []
    for alternative in expression.split(" | "):
        if alternative.startswith("value.as(") and alternative.endswith(")"):
            kind = alternative[len("value.as("):-1]
            paths.append(Path(("value" + kind[0].upper() + kind[1:],), None))
        elif alternative.replace(".", "").isalnum() and alternative != "value":
            paths.append(Path(tuple(alternative.split(".")), None))
        else:
            return None
    return tuple(paths)


def _components(spec: dict) -> tuple[Component, ...] | None:
    """Two-part composites whose first part is a token (``code$value``), the shape of every clinical one."""
    parts = spec.get("components") or []
    if len(parts) != 2:
        return None
    out = []
    for part in parts:
        definition = _by_url().get(part["definition"])
        paths = _component_paths(part["expression"])
        if definition is None or paths is None or definition["type"] not in ("token", "quantity", "date", "string"):
            return None
        out.append(Component(definition["type"], paths))
    return tuple(out) if out[0].type == "token" else None


@cache
def indexed_params(resource_type: str) -> tuple[IndexedParam, ...]:
    """Parameters of ``resource_type`` this server indexes (and can therefore search)."""
    specs = _parameters_of(resource_type)
    for name in COMMON_PARAMETERS:
        specs.setdefault(name, search_parameters()["Resource"][name])
    out = []
    for name, spec in sorted(specs.items()):
        compute = COMPUTED.get(spec["url"])
        if spec["type"] not in INDEXED_TYPES or not (spec.get("paths") or compute):
            continue
        if compute is not None:
            out.append(IndexedParam(name, spec["type"], (), tuple(spec.get("targets") or ()), compute=compute))
            continue
        components: tuple[Component, ...] = ()
        if spec["type"] == "composite":
            found = _components(spec)
            if found is None:
                continue
            components = found
        paths = _compile_paths(spec)
        word_starts = spec["type"] == "string" and any(
            _step_name(step) in NAME_ELEMENTS for path in paths for step in path.steps)
        ordered_spans = spec["type"] == "date" and _ends_at(resource_type, paths, POINT_IN_TIME_TYPES)
        out.append(IndexedParam(name, spec["type"], paths, tuple(spec.get("targets") or ()), components,
                                word_starts, ordered_spans=ordered_spans))
    return tuple(out)


@cache
def indexed_param(resource_type: str, name: str) -> IndexedParam | None:
    for param in indexed_params(resource_type):
        if param.name == name:
            return param
    return None


def navigate(data: Any, path: Path) -> list[Any]:
    values: list[Any] = [data]
    for step in path.steps:
        name, where = step if isinstance(step, tuple) else (step, ())
        found: list[Any] = []
        for value in values:
            if not isinstance(value, dict):
                continue
            child = value.get(name)
            if child is None:
                continue
            for item in child if isinstance(child, list) else (child,):
                if where and not (isinstance(item, dict) and all(item.get(k) == v for k, v in where)):
                    continue
                found.append(_unwrap_extension(item) if name == "extension" and where else item)
        values = found
    if path.target is not None:
        values = [v for v in values if reference_type(v) == path.target]
    return values


def _unwrap_extension(extension: Any) -> Any:
    """``extension('url')`` selects the extension; its value is what gets indexed."""
    if isinstance(extension, dict):
        for key, value in extension.items():
            if key.startswith("value"):
                return value
    return extension


def reference_type(value: Any) -> str | None:
    if isinstance(value, dict) and isinstance(value.get("reference"), str):
        parsed = parse_reference(value["reference"])
        return parsed[0] if parsed else value.get("type")
    return None


@dataclass
class IndexRows:
    token: list[tuple] = field(default_factory=list)
    string: list[tuple] = field(default_factory=list)
    date: list[tuple] = field(default_factory=list)
    reference: list[tuple] = field(default_factory=list)
    number: list[tuple] = field(default_factory=list)
    quantity: list[tuple] = field(default_factory=list)
    uri: list[tuple] = field(default_factory=list)
    composite: list[tuple] = field(default_factory=list)
    # One (narrative, content) row per resource, for _text and _content (ece.fulltext).
    text: list[tuple] = field(default_factory=list)


@cache
def _paths_by_first_element(resource_type: str) -> dict[str | None, tuple[tuple[int, Path], ...]]:
    """The paths of ``indexed_params(resource_type)`` (by position) grouped by the element they start from;
    None for the paths at the root (the composites). A resource holds a dozen of the elements its 20-40
    parameters start from: extraction walks only the paths whose first element is present."""
    grouped: dict[str | None, list[tuple[int, Path]]] = {}
    for position, param in enumerate(indexed_params(resource_type)):
        for path in param.paths:
            first = _step_name(path.steps[0]) if path.steps else None
            grouped.setdefault(first, []).append((position, path))
    return {first: tuple(paths) for first, paths in grouped.items()}


def extract(resource_type: str, data: dict) -> IndexRows:
    rows = IndexRows(text=[full_text(resource_type, data)])
    params = indexed_params(resource_type)
    grouped = _paths_by_first_element(resource_type)
    values_at: dict[int, list[Any]] = {}
    for first in (None, *data):
        for position, path in grouped.get(first, ()):
            if found := navigate(data, path):
                values_at.setdefault(position, []).extend(found)
    for position, param in enumerate(params):
        values = param.compute(data) if param.compute else values_at.get(position)
        if not values:
            continue
        target: list[tuple] = getattr(rows, param.type)
        found: set[tuple] = set()
        for value in values:
            for row in _rows(param, value):
                found.add((param.name, *row))
            if param.type == "token":
                found.update((param.name + OF_TYPE, *row) for row in typed_identifiers(value))
        target.extend(found)
    return rows


def _rows(param: IndexedParam, value: Any) -> list[tuple]:
    kind = param.type
    if kind == "token":
        return tokens(value)
    if kind == "string":
        return [(fold(variant)[:MAX_INDEXED_TEXT], s[:MAX_INDEXED_TEXT], variant is s) for s in strings(value)
                for variant in (_word_starts(s) if param.word_starts else (s,))]
    if kind == "date":
        return ranges(value)
    if kind == "reference":
        found = reference(value)
        return [found] if found is not None else []
    if kind == "number":
        number = _decimal(value)
        return [(number,)] if number is not None else []
    if kind == "quantity":
        return quantities(value)
    if kind == "uri":
        return [(value[:MAX_INDEXED_TEXT],)] if isinstance(value, str) else []
    return _composite_rows(param, value)


def _composite_rows(param: IndexedParam, value: Any) -> list[tuple]:
    """(code system, code, then the second part in the columns of its type); the two parts come from the
    same element, which is what makes a composite different from two separate parameters."""
    first, second = param.components
    seconds = [v for path in second.paths for v in navigate(value, path)]
    if not seconds:  # most of a resource's composites: no value of that type (the codes are not worked out)
        return []
    codes = [t for path in first.paths for v in navigate(value, path) for t in tokens(v)]
    out = []
    for v in seconds:
        if second.type == "token":
            parts = [(s, c, None, None, None, None, None, None, None, None) for s, c, _text in tokens(v)]
        elif second.type == "quantity":
            parts = [(None, None, q, s, c, cv, cc, None, None, None) for q, s, c, _unit, cv, cc in quantities(v)]
        elif second.type == "date":
            parts = [(None, None, None, None, None, None, None, lo, hi, None) for lo, hi in ranges(v)]
        else:
            parts = [(None, None, None, None, None, None, None, None, None, fold(s)[:MAX_INDEXED_TEXT])
                     for s in strings(v)]
        out.extend((cs, cc, *part) for cs, cc, _t in codes for part in parts)
    return out


def tokens(value: Any) -> list[tuple[str | None, str | None, str | None]]:
    """(system, code, folded text) per R4 search.html#token, by the datatype of the value."""
    if isinstance(value, bool):
        return [(None, "true" if value else "false", None)]
    if isinstance(value, str):
        return [(None, value[:MAX_INDEXED_TEXT], None)]
    if not isinstance(value, dict):
        return []
    if "coding" in value or ("text" in value and "code" not in value and "value" not in value):
        text = value.get("text")
        out = [(s, c, fold(t)[:MAX_INDEXED_TEXT] if t else None)
               for coding in value.get("coding", []) for s, c, t in tokens(coding)]
        if isinstance(text, str):
            out = [(s, c, fold(text)[:MAX_INDEXED_TEXT]) for s, c, _ in out] or [(None, None, fold(text))]
        return out
    if "code" in value:  # Coding
        display = value.get("display")
        return [(value.get("system"), value.get("code"), fold(display)[:MAX_INDEXED_TEXT] if display else None)]
    if "value" in value:
        if value.get("system") in CONTACT_POINT_SYSTEMS:  # ContactPoint matches on its value
            return [(None, str(value["value"]), None)]
        label = (value.get("type") or {}).get("text") if isinstance(value.get("type"), dict) else None
        return [(value.get("system"), str(value["value"]), fold(label) if label else None)]  # Identifier
    return []


def typed_identifiers(value: Any) -> list[tuple[str | None, str, None]]:
    """(type system, "type code|value", no text) per coding of an Identifier's type, the rows ``:of-type``
    searches (R4 search.html#token): kept under the parameter's name + ``:of-type``, so no other search on the
    parameter ever sees them."""
    if not isinstance(value, dict) or "value" not in value or not isinstance(value.get("type"), dict):
        return []
    return [(coding.get("system"), f"{coding['code']}|{value['value']}"[:MAX_INDEXED_TEXT], None)
            for coding in value["type"].get("coding", []) if isinstance(coding, dict) and coding.get("code")]


MAX_WORD_STARTS = 6
NAME_ELEMENTS = frozenset({"name", "address", "family", "given"})


def _word_starts(text: str) -> list[str]:
    """Names and addresses also match from each word: a Honduran family "Pérez Zelaya" is found by its
    second surname ("zelaya"), as R4 search.html#string suggests servers SHOULD for multi-part names."""
    words = text.split()
    return [text, *(" ".join(words[i:]) for i in range(1, min(len(words), MAX_WORD_STARTS)))]


def strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if not isinstance(value, dict):
        return []
    parts = HUMAN_NAME_PARTS if ("family" in value or "given" in value) else ADDRESS_PARTS
    out: list[str] = []
    for part in parts:
        item = value.get(part)
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, list):
            out.extend(x for x in item if isinstance(x, str))
    return out


def reference(value: Any) -> tuple | None:
    """(target type, target id, url, identifier system, identifier value)."""
    if isinstance(value, str):  # canonical or uri used as a reference target
        return (None, None, value[:MAX_INDEXED_TEXT], None, None)
    if not isinstance(value, dict):
        return None
    identifier = value.get("identifier") if isinstance(value.get("identifier"), dict) else {}
    id_system, id_value = identifier.get("system"), identifier.get("value")
    literal = value.get("reference")
    if not isinstance(literal, str):
        return (None, None, None, id_system, id_value) if id_value else None
    if literal.startswith("#"):
        return None  # contained resources are not indexed on their own (R4 search.html#contained)
    parsed = local_reference(literal)
    if parsed is None:
        # Not a resource of this server (R4 search.html#reference): matched by its URL only, never as the
        # local resource that happens to have the same type and id.
        return (None, None, literal[:MAX_INDEXED_TEXT], id_system, id_value)
    return (parsed[0], parsed[1], literal if "://" in literal else None, id_system, id_value)


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, Decimal)):
        return Decimal(value)
    try:
        return Decimal(str(value)) if isinstance(value, str) else None
    except InvalidOperation:
        return None


def quantities(value: Any) -> list[tuple]:
    """(value, system, code, unit, canonical value, canonical unit) for Quantity; a Range gives its low and high
    ends. The canonical pair is the value in UCUM base units (ece.ucum), for a UCUM code this server can read,
    so a search in any commensurable unit finds it (R4 search.html#quantity)."""
    if not isinstance(value, dict):
        return []
    if "low" in value or "high" in value:
        return [q for end in ("low", "high") for q in quantities(value.get(end))]
    number = _decimal(value.get("value"))
    if number is None:
        return []
    system, code = value.get("system"), value.get("code")
    found = ucum.canonical(number, code) if system == ucum.UCUM_SYSTEM and isinstance(code, str) else None
    return [(number, system, code, value.get("unit"), *(found or (None, None)))]


def ranges(value: Any) -> list[tuple]:
    if isinstance(value, str):
        found = date_range(value)
        return [found] if found else []
    if not isinstance(value, dict):
        return []
    if "start" in value or "end" in value:  # Period: open ends extend to the ends of time
        start = date_range(value["start"]) if isinstance(value.get("start"), str) else None
        end = date_range(value["end"]) if isinstance(value.get("end"), str) else None
        return [(start[0] if start else START_OF_TIME, end[1] if end else END_OF_TIME)]
    events = [r for e in value.get("event", []) if isinstance(e, str) and (r := date_range(e))]
    if events:  # Timing: the span of its events
        return [(min(r[0] for r in events), max(r[1] for r in events))]
    return []
