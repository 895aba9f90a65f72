"""Generate the compact FHIR R4 registries that the server uses at run time.

The server must not read the official HL7 definitions at run time, so this script distils
the FHIR R4 (4.0.1) Bundles in ``--source`` (structure-definitions.json,
search-parameters.json, terminology.json, compartment-definitions.json) into three small,
deterministic JSON files in ``--out`` (default ``ece/registry``):

* ``schema.json``: every element of every resource and complex datatype (used to walk
  instances and report unknown elements), plus the codes of each *required* value set that
  can be expanded offline.
* ``search_parameters.json``: the standard SearchParameters per base type, with their
  FHIRPath expression translated to simple JSON navigation paths where possible.
* ``compartments.json``: the compartment membership parameters.

Re-run from the repository root after changing this script, and commit what it writes::

    python scripts/generate_registries.py [--source ../shared/fhir-r4] [--out ece/registry]

A test (tests/scripts/test_generate_registries.py) fails if the committed files drift from
a fresh generation, so never edit the JSON by hand.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

Json = dict[str, Any]
CodeMap = dict[str, set[str]]  # system url -> codes
Tables = dict[str, dict[str, Json]]  # owner path ("Patient", "Patient.contact") -> jsonKey -> entry
Choices = dict[str, dict[str, dict[str, str]]]  # owner path -> "value" -> type code -> "valueQuantity"

FHIR_VERSION = "4.0.1"
REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = Path(__file__).resolve().parents[2] / "shared" / "fhir-r4"
DEFAULT_OUT = REPO_ROOT / "ece" / "registry"

# Snapshots type Resource.id / Extension.url etc. with FHIRPath system types and carry the
# FHIR type in this extension (R4 elementdefinition.html and fhirpath "System" types).
FHIR_TYPE_EXT = "http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type"
FHIRPATH_SYSTEM = "http://hl7.org/fhirpath/System."
# Datatype profiles (datatypes.html#SimpleQuantity, #MoneyQuantity) are serialised as their base.
PROFILE_BASE = {"SimpleQuantity": "Quantity", "MoneyQuantity": "Quantity"}
# A required binding on a choice only constrains its coded types (terminologies.html#binding).
CODED_TYPES = {"code", "Coding", "CodeableConcept"}

# Modifiers allowed per search parameter type (R4 search.html#modifiers), spelled as
# they appear in a URL; "type" stands for the ``:[type]`` modifier of reference parameters.
# The official SearchParameters do not list them, so they come from the search page.
MODIFIERS: dict[str, list[str]] = {
    "string": ["contains", "exact", "missing"],
    "token": ["above", "below", "in", "missing", "not", "not-in", "of-type", "text"],
    "reference": ["above", "below", "identifier", "missing", "type"],
    "uri": ["above", "below", "missing"],
    **dict.fromkeys(("date", "number", "quantity"), ["missing"]),
    **dict.fromkeys(("composite", "special"), []),
}


def canonical(url: str) -> str:
    """Drop a ``|version`` suffix: bindings say ``...|4.0.1`` but we key by bare URL."""
    return url.split("|", 1)[0]


def load_bundle(path: Path) -> list[Json]:
    with path.open(encoding="utf-8") as fh:
        return [entry["resource"] for entry in json.load(fh)["entry"]]


def write_json(path: Path, data: Any) -> int:
    text = json.dumps(data, indent=None, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    path.write_text(text + "\n", encoding="utf-8")
    return path.stat().st_size


# --------------------------------------------------------------------------- structure
def type_code(t: Json) -> str:
    code: str = t["code"]
    if code.startswith(FHIRPATH_SYSTEM):
        for ext in t.get("extension", []):
            if ext.get("url") == FHIR_TYPE_EXT:
                return ext.get("valueUrl") or ext.get("valueUri") or "string"
        return "string"
    return PROFILE_BASE.get(code, code)


def element_tables(sd: Json) -> tuple[Tables, Choices]:
    """Direct children per owner path, and the choice ``name[x]`` -> {type: jsonKey} map.

    Entries may carry ``vs`` (any required binding) for now; unexpandable ones are removed
    once terminology has been processed.
    """
    elements = [el for el in sd["snapshot"]["element"][1:] if "sliceName" not in el]
    parents = {el["path"].rsplit(".", 1)[0] for el in elements}
    tables: Tables = {}
    choices: Choices = {}
    for el in elements:
        owner, name = el["path"].rsplit(".", 1)
        table = tables.setdefault(owner, {})
        array = el["max"] == "*" or int(el["max"]) > 1
        binding = el.get("binding", {})
        required = binding.get("strength") == "required" and "valueSet" in binding
        vs = canonical(binding["valueSet"]) if required else None
        # search.html#summary: _summary=true keeps isSummary elements; _summary=text keeps mandatory ones.
        flags = {"summary": True} if el.get("isSummary") else {}
        if el.get("min", 0) > 0:
            flags["mandatory"] = True
        if "contentReference" in el:  # "#Questionnaire.item": re-use that backbone (ElementDefinition)
            table[name] = {"type": el["contentReference"].split("#", 1)[1], "array": array, **flags}
        elif name.endswith("[x]"):  # formats.html#choice: one JSON key per type
            base = name[:-3]
            opts = choices.setdefault(owner, {}).setdefault(base, {})
            for code in dict.fromkeys(type_code(t) for t in el["type"]):
                key = base + code[0].upper() + code[1:]
                opts[code] = key
                table[key] = {"type": code, "array": array, **flags}
                if vs and code in CODED_TYPES:
                    table[key]["vs"] = vs
        else:
            code = type_code(el["type"][0])
            if code in ("BackboneElement", "Element") and el["path"] in parents:
                code = el["path"]  # anonymous backbone: its children are keyed by its path
            table[name] = {"type": code, "array": array, **flags}
            if vs:
                table[name]["vs"] = vs
    return tables, choices


# --------------------------------------------------------------------------- terminology
def iter_concepts(concepts: Iterable[Json], nested: str = "concept") -> Iterator[Json]:
    """Flatten a CodeSystem.concept (or ValueSet.expansion.contains) hierarchy."""
    for concept in concepts:
        yield concept
        yield from iter_concepts(concept.get(nested, []), nested)


class Expander:
    """Offline ValueSet expansion of the compose subset the core spec uses (valueset.html)."""

    def __init__(self, resources: list[Json]) -> None:
        # Some v2 CodeSystems are stored as "url|version", so keep the URL as given.
        self.code_systems = {r["url"]: r for r in resources if r["resourceType"] == "CodeSystem"}
        self.value_sets = {canonical(r["url"]): r for r in resources if r["resourceType"] == "ValueSet"}
        self._cache: dict[str, CodeMap | None] = {}
        self._children: dict[str, dict[str, set[str]]] = {}

    def expand(self, url: str, seen: frozenset[str] = frozenset()) -> CodeMap | None:
        url = canonical(url)
        if url in seen:
            return None  # circular composition: refuse rather than guess
        if url not in self._cache:
            vs = self.value_sets.get(url)
            result = self._compose(vs.get("compose"), seen | {url}) if vs else None
            if result is None and vs and vs.get("expansion", {}).get("contains"):
                result = {}
                for item in iter_concepts(vs["expansion"]["contains"], "contains"):
                    if "code" in item and "system" in item:  # skip abstract grouping entries
                        result.setdefault(item["system"], set()).add(item["code"])
            self._cache[url] = result or None  # an empty expansion is not enforceable
        return self._cache[url]

    def _compose(self, compose: Json | None, seen: frozenset[str]) -> CodeMap | None:
        if not compose or not compose.get("include"):
            return None
        includes = [self._include(inc, seen) for inc in compose["include"]]
        excludes = [self._include(exc, seen) for exc in compose.get("exclude", [])]
        if None in includes or None in excludes:  # an unknown exclusion is as bad as an inclusion
            return None
        codes: CodeMap = {}
        for part in filter(None, includes):
            for system, values in part.items():
                codes.setdefault(system, set()).update(values)
        for part in filter(None, excludes):
            for system, values in part.items():
                codes.get(system, set()).difference_update(values)
        return {system: values for system, values in codes.items() if values}

    def _include(self, inc: Json, seen: frozenset[str]) -> CodeMap | None:
        # valueset.html#compositions: system/concept/filter and each valueSet of one include
        # are intersected.
        parts: list[CodeMap] = []
        system = inc.get("system")
        if system:
            cs = self._code_system(system, inc.get("version"))
            if "concept" in inc:
                codes = {c["code"] for c in inc["concept"]}
            elif cs is None:
                return None
            else:
                codes = {c["code"] for c in iter_concepts(cs.get("concept", []))}
            for flt in inc.get("filter", []):
                if cs is None or (matched := self._filter(cs, flt)) is None:
                    return None
                codes &= matched
            parts.append({system: codes})
        subs = [self.expand(vs_url, seen) for vs_url in inc.get("valueSet", [])]
        parts += filter(None, subs)
        if None in subs or not parts:
            return None
        result = parts[0]
        for other in parts[1:]:
            result = {s: c & other[s] for s, c in result.items() if s in other}
        return result

    def _code_system(self, system: str, version: str | None) -> Json | None:
        cs = self.code_systems.get(f"{system}|{version}") if version else None
        cs = cs or self.code_systems.get(system)
        # Only content "complete" lists every code (CodeSystem.content); a fragment, example
        # or not-present code system cannot be enforced.
        return cs if cs and cs.get("content") == "complete" else None

    def _filter(self, cs: Json, flt: Json) -> set[str] | None:
        if flt.get("property") != "concept" or flt.get("op") not in ("is-a", "descendent-of"):
            return None
        found = self._descendants(cs, flt["value"])
        return found | {flt["value"]} if flt["op"] == "is-a" else found

    def _descendants(self, cs: Json, code: str) -> set[str]:
        children = self._children.get(cs["url"])
        if children is None:
            # Hierarchy = nested concepts plus the "child" property v3 uses for extra parents.
            children = {}
            for concept in iter_concepts(cs.get("concept", [])):
                kids = children.setdefault(concept["code"], set())
                kids.update(c["code"] for c in concept.get("concept", []))
                props = concept.get("property", [])
                kids.update(p["valueCode"] for p in props if p["code"] == "child" and "valueCode" in p)
            self._children[cs["url"]] = children
        found: set[str] = set()
        stack = list(children.get(code, ()))
        while stack:
            if (current := stack.pop()) not in found:
                found.add(current)
                stack.extend(children.get(current, ()))
        return found


# --------------------------------------------------------------------------- schema
def build_schema(structures: list[Json], terminology: list[Json]) -> tuple[Json, Tables, Choices]:
    """Return the schema registry plus internal tables (incl. abstract types) for path checks."""
    resource_types = sorted(
        sd["type"]
        for sd in structures
        if sd["kind"] == "resource" and sd.get("derivation") == "specialization" and not sd.get("abstract")
    )
    tables: Tables = {}
    choices: Choices = {}
    for sd in structures:
        if sd["kind"] in ("resource", "complex-type") and sd.get("derivation") == "specialization":
            sd_tables, sd_choices = element_tables(sd)
            tables.update(sd_tables)
            choices.update(sd_choices)
    # Resource itself has no StructureDefinition here; DomainResource carries its elements.
    tables.setdefault("Resource", tables.get("DomainResource", {}))

    datatypes = {sd["type"] for sd in structures if sd["kind"] == "complex-type"}
    roots = set(resource_types) | datatypes
    # Backbone entries are keyed "Patient.contact"; emit those whose root type is emitted.
    emitted = {owner: table for owner, table in tables.items() if owner.split(".", 1)[0] in roots}

    expander = Expander(terminology)
    bindings = [entry for table in emitted.values() for entry in table.values() if "vs" in entry]
    wanted = sorted({entry["vs"] for entry in bindings})
    value_sets = {url: codes for url in wanted if (codes := expander.expand(url))}
    for entry in bindings:
        if entry["vs"] not in value_sets:
            del entry["vs"]
    skipped = [url for url in wanted if url not in value_sets]
    enforced = sum(1 for entry in bindings if "vs" in entry)
    print(
        f"schema: {enforced} required bindings enforceable, {len(bindings) - enforced} skipped; "
        f"{len(value_sets)} value sets expanded, {len(skipped)} not expandable:",
        file=sys.stderr,
    )
    for url in skipped:
        print(f"  skipped {url}", file=sys.stderr)
    schema = {
        "fhirVersion": FHIR_VERSION,
        "resourceTypes": resource_types,
        "types": emitted,
        "valueSets": {url: {s: sorted(c) for s, c in codes.items()} for url, codes in value_sets.items()},
    }
    return schema, tables, choices


# --------------------------------------------------------------------------- search
_NAME = re.compile(r"[A-Za-z_]\w*")
_CAST = re.compile(r"(?:as|ofType)\((\w+)\)")
_RESOLVE = re.compile(r"where\(resolve\(\) is (\w+)\)")
_EQUALS = re.compile(r"where\((\w+)\s*=\s*'([^']*)'\)")
_EXTENSION = re.compile(r"extension\('([^']+)'\)")
# R4's individual-mothersMaidenName expression names a url no extension has; the extension R4 publishes
# (extension-patient-mothersmaidenname.html) is the second. Both are indexed, so data following either is found.
_EXTENSION_ERRATA = {
    "http://hl7.org/fhir/StructureDefinition/patient-extensions-Patient-mothersMaidenName":
        "http://hl7.org/fhir/StructureDefinition/patient-mothersMaidenName",
}
_PAREN_HEAD = re.compile(r"\((?P<inner>[^()|]+)\)(?P<rest>(?:\.\w+)*)")
_AS_OPERATOR = re.compile(r"(?P<path>\S+) as (?P<type>\w+)")


def split_top(expr: str, sep: str) -> list[str]:
    """Split on ``sep`` outside parentheses and string literals."""
    parts, depth, quoted, start, i = [], 0, False, 0, 0
    while i < len(expr):
        ch = expr[i]
        if ch == "'":
            quoted = not quoted
        elif not quoted and ch in "()":
            depth += 1 if ch == "(" else -1
        elif not quoted and depth == 0 and expr.startswith(sep, i):
            parts.append(expr[start:i])
            i = start = i + len(sep)
            continue
        i += 1
    parts.append(expr[start:])
    return [p.strip() for p in parts]


def parse_path(alternative: str, root: str, tables: Tables, choices: Choices) -> list[Json] | None:
    """Translate one FHIRPath alternative into path specs, or None if it is not simple.

    An un-cast choice element (``Observation.effective``) is polymorphic in FHIRPath, so it
    yields one spec per allowed type (effectiveDateTime, effectivePeriod, ...).
    """
    head, rest = alternative, ""
    if m := _PAREN_HEAD.fullmatch(head):  # "(Observation.value as Quantity).value"
        head, rest = m["inner"].strip(), m["rest"]
    if m := _AS_OPERATOR.fullmatch(head):  # FHIRPath "x as T" is the operator form of x.as(T)
        head = f"{m['path']}.as({m['type']})"
    expr = head + rest
    segments = split_top(expr, ".")
    if segments[0] == root:  # "Patient.name": a leading type name just checks the focus
        segments = segments[1:]
    states: list[tuple[list[Any], str]] = [([], root)]
    target: str | None = None
    i = 0
    while i < len(segments):
        seg, nxt = segments[i], segments[i + 1] if i + 1 < len(segments) else ""
        i += 1
        if (m := _RESOLVE.fullmatch(seg)) and i == len(segments):
            if not all(steps and cur == "Reference" for steps, cur in states):
                return None
            target = m[1]
            continue
        if m := _EQUALS.fullmatch(seg):
            new_states = []
            for steps, cur in states:
                if not steps or not isinstance(steps[-1], str) or m[1] not in tables.get(cur, {}):
                    return None
                new_states.append((steps[:-1] + [{"name": steps[-1], "where": {m[1]: m[2]}}], cur))
            states = new_states
            continue
        if m := _EXTENSION.fullmatch(seg):  # FHIRPath extension(url): the value of the extension with that url
            if i != len(segments) or not all("extension" in tables.get(cur, {}) for _steps, cur in states):
                return None
            urls = [m[1], *([_EXTENSION_ERRATA[m[1]]] if m[1] in _EXTENSION_ERRATA else [])]
            states = [(steps + [{"name": "extension", "where": {"url": url}}], "Extension")
                      for steps, _ in states for url in urls]
            continue
        if not _NAME.fullmatch(seg):
            return None
        cast = _CAST.fullmatch(nxt)
        i += 1 if cast else 0
        new_states = []
        for steps, cur in states:
            opts = choices.get(cur, {}).get(seg)
            if opts is not None:  # choice element: as(T) picks one key, otherwise all of them
                picked = [cast[1]] if cast else list(opts)
                if any(t not in opts for t in picked):
                    return None
                new_states += [(steps + [opts[t]], tables[cur][opts[t]]["type"]) for t in picked]
            elif seg in tables.get(cur, {}) and not cast:  # casting a non-choice: not simple
                new_states.append((steps + [seg], tables[cur][seg]["type"]))
            else:
                return None
        states = new_states
    return [{"steps": steps, **({"target": target} if target else {})} for steps, _ in states]


def applies_to(alternative: str, base: str, single_base: bool, tables: Tables) -> bool:
    """Does this ``|`` alternative of a shared expression belong to ``base`` (searchparameter.html)?"""
    if alternative == base or alternative.startswith((base + ".", "(" + base + ".")):
        return True  # a bare "Observation" is the root of the composite code-value params
    # InsurancePlan-name is "name | alias": relative to the focus, i.e. to its only base.
    head = alternative.split(".", 1)[0]
    return single_base and bool(_NAME.fullmatch(head)) and head not in tables


def search_entry(sp: Json, kept: list[str], paths: list[Json] | None) -> Json:
    entry: Json = {
        "type": sp["type"],
        "expression": " | ".join(kept) if kept else None,
        "paths": paths,
        "url": sp["url"],
        "modifiers": sorted(set(MODIFIERS[sp["type"]]) | set(sp.get("modifier", []))),
        "comparators": list(sp.get("comparator", [])),
    }
    if sp["type"] == "reference":
        entry["targets"] = sorted(sp.get("target", []))
    if sp["type"] == "composite":
        entry["components"] = [
            {"definition": c["definition"], "expression": c["expression"]} for c in sp["component"]
        ]
    return entry


def build_search(params: list[Json], tables: Tables, choices: Choices) -> Json:
    registry: dict[str, dict[str, Json]] = {}
    for sp in params:
        # A few extension params lost "base"; their xpath still names it ("f:CodeSystem/...").
        bases = sp.get("base") or [re.match(r"f:(\w+)", sp["xpath"])[1]]
        alternatives = split_top(sp["expression"], "|") if sp.get("expression") else []
        for base in bases:
            kept = [alt for alt in alternatives if applies_to(alt, base, len(bases) == 1, tables)]
            specs = [parse_path(alt, base, tables, choices) for alt in kept]
            paths = None if not kept or None in specs else [p for spec in specs for p in spec or []]
            by_code = registry.setdefault(base, {})
            if sp["code"] in by_code:
                raise SystemExit(f"duplicate search parameter {base}.{sp['code']}")
            by_code[sp["code"]] = search_entry(sp, kept, paths)  # keyed by code, as used in URLs
    counts = {name: (sum(e["paths"] is not None for e in t.values()), len(t)) for name, t in registry.items()}
    with_paths, total = sum(c[0] for c in counts.values()), sum(c[1] for c in counts.values())
    print(
        f"search: {total} parameters over {len(registry)} types, {with_paths} with paths, "
        f"{total - with_paths} null (per type: with paths/total):",
        file=sys.stderr,
    )
    cells = [f"{name} {ok}/{n}" for name, (ok, n) in sorted(counts.items())]
    for start in range(0, len(cells), 6):
        print("  " + ", ".join(cells[start : start + 6]), file=sys.stderr)
    return registry


# --------------------------------------------------------------------------- compartments
def build_compartments(definitions: list[Json]) -> Json:
    # compartmentdefinition.html: a resource with no param cannot be in the compartment.
    return {
        cd["code"]: {r["code"]: list(r["param"]) for r in cd.get("resource", []) if r.get("param")}
        for cd in definitions
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE, help="folder with the FHIR R4 Bundles")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="registry folder to write")
    args = parser.parse_args(argv)

    structures = load_bundle(args.source / "structure-definitions.json")
    terminology = load_bundle(args.source / "terminology.json")
    schema, tables, choices = build_schema(structures, terminology)
    search = build_search(load_bundle(args.source / "search-parameters.json"), tables, choices)
    compartments = build_compartments(load_bundle(args.source / "compartment-definitions.json"))

    args.out.mkdir(parents=True, exist_ok=True)
    outputs = {"schema.json": schema, "search_parameters.json": search, "compartments.json": compartments}
    for name, data in outputs.items():
        size = write_json(args.out / name, data)
        print(f"wrote {args.out / name} ({size:,} bytes)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
