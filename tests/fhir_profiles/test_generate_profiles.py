"""The committed definitions are what scripts/generate_profiles.py writes, and their snapshots are real."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from fhir_profiles import catalog
from fhir_profiles.systems import DNI

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("generate_profiles", ROOT / "scripts" / "generate_profiles.py")
assert spec is not None and spec.loader is not None
generator = importlib.util.module_from_spec(spec)
spec.loader.exec_module(generator)

needs_source = pytest.mark.skipif(not (generator.DEFAULT_SOURCE / "structure-definitions.json").is_file(),
                                  reason="official FHIR R4 definitions not available")


@needs_source
def test_committed_definitions_match_a_fresh_generation(tmp_path):
    assert generator.main(["--out", str(tmp_path)]) == 0
    committed = ROOT / "fhir_profiles" / "definitions"
    assert sorted(p.name for p in tmp_path.glob("*.json")) == sorted(p.name for p in committed.glob("*.json"))
    for path in tmp_path.glob("*.json"):
        assert json.loads(path.read_text()) == json.loads((committed / path.name).read_text()), path.name


def _element(pid: str, element_id: str) -> dict:
    sd = catalog.by_url()[f"https://fhir.salud.gob.hn/StructureDefinition/{pid}"]
    return next(e for e in sd["snapshot"]["element"] if e["id"] == element_id)


def test_the_snapshot_unrolls_the_identifier_inside_the_dni_slice():
    assert _element("hn-paciente", "Patient.identifier:dni.system")["fixedUri"] == DNI
    assert _element("hn-paciente", "Patient.identifier:dni")["sliceName"] == "dni"


def test_a_derived_profile_inherits_its_base_profile_rules():
    assert _element("hn-presion-arterial", "Observation.subject")["min"] == 1
    assert _element("hn-presion-arterial", "Observation.component:sistolica.code")["patternCodeableConcept"]


def test_a_differential_cannot_widen_its_base():
    sd = {"url": "x", "baseDefinition": "http://hl7.org/fhir/StructureDefinition/Patient",
          "differential": {"element": [{"id": "Patient.gender", "path": "Patient.gender", "max": "*"}]}}
    with pytest.raises(generator.SnapshotError, match="widens"):
        generator.snapshot(sd, {"http://hl7.org/fhir/StructureDefinition/Patient": {"snapshot": {"element": [
            {"id": "Patient", "path": "Patient", "min": 0, "max": "*"},
            {"id": "Patient.gender", "path": "Patient.gender", "min": 0, "max": "1"}]}}})


def test_the_index_lists_every_file_with_its_version():
    index = catalog.index()
    assert index["version"] == "0.1.0" and len(index["resources"]) == len(catalog.all_resources())
    assert all(entry["version"] for entry in index["resources"])
