"""Compile a StructureDefinition snapshot into a tree of checks, once per process (R4 profiling.html,
validation.html#profile).

Only elements that add something to what the store already checks (R4B structure and the base required
bindings) become nodes: a narrowed cardinality, a narrowed choice of types, fixed and pattern values,
bindings to value sets this server can expand, invariants, national reference targets, slicing, extension
profiles, or a descendant with any of these. That pruning is what keeps validation well under a millisecond.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import fhirpathpy
from fhirpathpy.engine.nodes import ResourceNode
from fhirpathpy.models import models

from ece.registry import schema
from fhir_profiles import catalog, fhirpath, terminology
from fhir_profiles.systems import CANONICAL_BASE

_MODEL = models["r4"]
UNBOUNDED = 10**9
_CORE = "http://hl7.org/fhir/StructureDefinition/"
# Base-specification invariants that are the store's job or that fhirpathpy cannot evaluate (hasValue, the
# XHTML checks): ele-1, empty elements and txt-* are checked by ece.validation on every write.
_SKIPPED_INVARIANT_PREFIXES = ("ele-", "dom-", "ext-", "txt-")


@dataclass(frozen=True)
class Constraint:
    key: str
    severity: str
    human: str
    evaluate: Callable[[Any, dict], list]  # the Python translation (fhirpath.py), else ``reference`` itself
    reference: Callable[[Any, dict], list]  # fhirpathpy: the behaviour the translation must reproduce


@dataclass(frozen=True)
class Discriminator:
    kind: str  # value | pattern
    path: tuple[str, ...]  # () for $this


@dataclass
class Node:
    element_id: str
    path: str
    name: str  # the JSON name (without [x])
    choice: bool
    min: int
    max: int
    types: frozenset[str] | None = None  # allowed types of a narrowed choice element
    targets: frozenset[str] | None = None  # allowed reference target types (national profiles only)
    fixed: Any = None
    pattern: Any = None
    binding: tuple[str, str] | None = None  # (strength, value set url)
    constraints: list[Constraint] = field(default_factory=list)
    children: list[Node] = field(default_factory=list)
    discriminators: list[Discriminator] = field(default_factory=list)
    closed: bool = False
    slices: list[Node] = field(default_factory=list)
    extension: Node | None = None  # the compiled extension definition of an extension slice
    extension_url: str | None = None
    check_count: bool = False

    @property
    def interesting(self) -> bool:
        return bool(self.check_count or self.types or self.targets or self.fixed is not None
                    or self.pattern is not None or self.binding or self.constraints or self.children
                    or self.discriminators or self.slices or self.extension)


def _max(value: str) -> int:
    return UNBOUNDED if value == "*" else int(value)


def _fhirpath_type(element: dict) -> str:
    """The model type name fhirpathpy needs to resolve choice elements in the element's context."""
    codes = [t["code"] for t in element.get("type", [])]
    if len(codes) == 1 and codes[0][0].isupper() and codes[0] not in ("BackboneElement", "Element"):
        return codes[0]
    return element["base"]["path"] if "." in element["path"] else element["path"]


def _constraint(element: dict, spec: dict) -> Constraint:
    compiled = fhirpathpy.compile(spec["expression"], _MODEL)
    type_name = _fhirpath_type(element)

    def reference(item: Any, root: dict) -> list:
        return compiled(ResourceNode.create_node(item, type_name), {"resource": root, "rootResource": root})

    # %resource is the profiled resource, except in extension definitions, which any resource may use.
    resource_type = element["path"].split(".")[0]
    fast = fhirpath.translate(spec["expression"], type_name, None if resource_type == "Extension" else resource_type)
    if fast is None:
        return Constraint(spec["key"], spec["severity"], spec["human"], reference, reference)

    def evaluate(item: Any, root: dict) -> list:
        # fhirpathpy types a value carrying resourceType by it, not by the element: keep that case on it.
        if type(item) is not dict or item.get("resourceType", type_name) != type_name:
            return reference(item, root)
        try:
            return fast([item], root)
        except fhirpath.Fallback:
            return reference(item, root)

    return Constraint(spec["key"], spec["severity"], spec["human"], evaluate, reference)


def _kept(spec: dict) -> bool:
    if spec.get("source", "").startswith(CANONICAL_BASE):
        return True
    return not spec["key"].startswith(_SKIPPED_INVARIANT_PREFIXES)


def _base_choice_types(element: dict) -> int:
    """How many types the base specification allows for a choice element (from the generated registry)."""
    base_path = element["base"]["path"]
    owner, _, name = base_path.rpartition(".")
    stem = name[:-3]
    table = schema()["types"].get(owner, {})
    return sum(1 for key in table if key.startswith(stem) and key[len(stem):len(stem) + 1].isupper())


def _node(element: dict) -> Node:
    name = element["path"].rsplit(".", 1)[-1]
    choice = name.endswith("[x]")
    node = Node(element["id"], element["path"], name[:-3] if choice else name, choice, element["min"],
                _max(element["max"]))
    base = element.get("base", {})
    node.check_count = node.min > base.get("min", 0) or node.max < _max(base.get("max", "*"))
    types = element.get("type", [])
    if choice and len(types) < _base_choice_types(element):
        node.types = frozenset(t["code"] for t in types)
    national = [p for t in types for p in t.get("targetProfile", []) if p.startswith(CANONICAL_BASE)]
    if national:
        node.targets = frozenset(_target_type(p) for t in types for p in t.get("targetProfile", []))
    for key, value in element.items():
        if key.startswith("fixed"):
            node.fixed = value
        elif key.startswith("pattern"):
            node.pattern = value
    binding = element.get("binding")
    if binding and binding["strength"] in ("required", "extensible") and \
            terminology.knows_value_set(binding.get("valueSet", "").split("|")[0]):
        node.binding = (binding["strength"], binding["valueSet"].split("|")[0])
    node.constraints = [_constraint(element, c) for c in element.get("constraint", []) if _kept(c)]
    slicing = element.get("slicing")
    if slicing:
        node.discriminators = [Discriminator(d["type"], () if d["path"] == "$this" else tuple(d["path"].split(".")))
                               for d in slicing.get("discriminator", [])]
        node.closed = slicing.get("rules") == "closed"
    profiles = [p for t in types if t["code"] == "Extension" for p in t.get("profile", [])]
    if profiles and "sliceName" in element:
        node.extension_url = profiles[0]
        node.extension = compile_extension(profiles[0])
    return node


def _target_type(profile_url: str) -> str:
    if profile_url.startswith(_CORE):
        return profile_url[len(_CORE):]
    definition = catalog.by_url().get(profile_url)
    return definition["type"] if definition else profile_url.rsplit("/", 1)[-1]


def compile_snapshot(elements: list[dict]) -> Node:
    """The root node of a snapshot, with slices under their sliced element and children pruned."""
    nodes: dict[str, Node] = {}
    root = _node(elements[0])
    nodes[elements[0]["id"]] = root
    for element in elements[1:]:
        node = _node(element)
        nodes[element["id"]] = node
        parent_id, _, last = element["id"].rpartition(".")
        if ":" in last:
            nodes[f"{parent_id}.{last.split(':')[0]}"].slices.append(node)
        else:
            nodes[parent_id].children.append(node)
    _prune(root)
    return root


def _prune(node: Node) -> None:
    for child in node.children:
        _prune(child)
    for slice_node in node.slices:
        _prune(slice_node)
    node.children = [c for c in node.children if c.interesting]


_extensions: dict[str, Node | None] = {}


def compile_extension(url: str) -> Node | None:
    if url not in _extensions:
        definition = catalog.by_url().get(url)
        _extensions[url] = compile_snapshot(definition["snapshot"]["element"]) if definition else None
    return _extensions[url]
