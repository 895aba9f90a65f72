"""Checks scripts/generate_registries.py against facts of the official FHIR R4 definitions."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "generate_registries.py"
COMMITTED = ROOT / "ece" / "registry"
FILES = ("schema.json", "search_parameters.json", "compartments.json")


def _load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("generate_registries", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


generator = _load_script()

pytestmark = pytest.mark.skipif(
    not (generator.DEFAULT_SOURCE / "structure-definitions.json").is_file(),
    reason=f"official FHIR R4 definitions not available at {generator.DEFAULT_SOURCE}",
)


@pytest.fixture(scope="module")
def out_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("registry")
    assert generator.main(["--out", str(out)]) == 0
    return out


def _read(out_dir: Path, name: str) -> Any:
    return json.loads((out_dir / name).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def schema(out_dir: Path) -> dict[str, Any]:
    return _read(out_dir, "schema.json")


@pytest.fixture(scope="module")
def search(out_dir: Path) -> dict[str, Any]:
    return _read(out_dir, "search_parameters.json")


def _codes(schema: dict[str, Any], element: dict[str, Any]) -> set[str]:
    return {code for codes in schema["valueSets"][element["vs"]].values() for code in codes}


def test_patient_gender_is_bound_to_administrative_gender(schema: dict[str, Any]) -> None:
    gender = schema["types"]["Patient"]["gender"]
    assert gender == {
        "type": "code",
        "array": False,
        "summary": True,
        "vs": "http://hl7.org/fhir/ValueSet/administrative-gender",
    }
    assert _codes(schema, gender) == {"male", "female", "other", "unknown"}
    assert schema["types"]["Patient.contact"]["gender"]["vs"] == gender["vs"]


def test_service_request_intent_codes(schema: dict[str, Any]) -> None:
    codes = _codes(schema, schema["types"]["ServiceRequest"]["intent"])
    assert "order" in codes
    assert "wish" not in codes


def test_bundle_type_codes(schema: dict[str, Any]) -> None:
    codes = _codes(schema, schema["types"]["Bundle"]["type"])
    assert {"transaction", "batch"} <= codes


def test_elements_choices_backbones_and_resources(schema: dict[str, Any]) -> None:
    types = schema["types"]
    assert "Patient" in schema["resourceTypes"] and "DomainResource" not in schema["resourceTypes"]
    assert types["Observation"]["valueQuantity"] == {"type": "Quantity", "array": False, "summary": True}
    assert "value[x]" not in types["Observation"]
    assert types["Patient"]["contact"] == {"type": "Patient.contact", "array": True}
    assert types["Observation"]["status"]["mandatory"] is True  # search.html#summary: kept by _summary=text
    assert types["Questionnaire.item"]["item"] == {"type": "Questionnaire.item", "array": True}
    assert types["Bundle.entry"]["resource"]["type"] == "Resource"
    assert types["Patient"]["id"]["type"] == "string"  # FHIRPath System.String mapped back
    assert types["Extension"]["url"]["type"] == "uri"
    assert types["Timing"]["repeat"]["type"] == "Timing.repeat"
    assert types["HumanName"]["given"] == {"type": "string", "array": True, "summary": True}


def test_unexpandable_value_sets_are_left_unenforced(schema: dict[str, Any]) -> None:
    assert "vs" not in schema["types"]["Attachment"]["contentType"]  # BCP-13 mime types
    assert "http://hl7.org/fhir/ValueSet/mimetypes" not in schema["valueSets"]


def test_reference_search_parameters(search: dict[str, Any]) -> None:
    subject = search["Observation"]["subject"]
    assert subject["type"] == "reference"
    assert subject["paths"] == [{"steps": ["subject"]}]
    assert "Patient" in subject["targets"]
    patient = search["Observation"]["patient"]
    assert patient["expression"] == "Observation.subject.where(resolve() is Patient)"
    assert patient["paths"] == [{"steps": ["subject"], "target": "Patient"}]


def test_string_token_and_choice_search_parameters(search: dict[str, Any]) -> None:
    assert search["Patient"]["family"]["paths"] == [{"steps": ["name", "family"]}]
    assert search["Patient"]["phone"]["paths"] == [
        {"steps": [{"name": "telecom", "where": {"system": "phone"}}]}
    ]
    assert search["Observation"]["value-quantity"]["paths"] == [
        {"steps": ["valueQuantity"]},
        {"steps": ["valueSampledData"]},
    ]
    # An un-cast choice is polymorphic: one path per allowed type.
    assert {"steps": ["effectiveDateTime"]} in search["Observation"]["date"]["paths"]
    assert search["Patient"]["deceased"]["paths"] is None  # not a plain navigation (ece.computed_params)
    assert search["DiagnosticReport"]["assessed-condition"]["paths"] == [{"steps": [{"name": "extension", "where": {
        "url": "http://hl7.org/fhir/StructureDefinition/DiagnosticReport-geneticsAssessedCondition"}}]}]


def test_mothers_maiden_name_follows_both_the_expression_and_the_published_extension(search: dict[str, Any]) -> None:
    urls = [path["steps"][0]["where"]["url"] for path in search["Patient"]["mothersMaidenName"]["paths"]]
    assert urls == ["http://hl7.org/fhir/StructureDefinition/patient-extensions-Patient-mothersMaidenName",
                    "http://hl7.org/fhir/StructureDefinition/patient-mothersMaidenName"]
    assert "_id" in search["Resource"] and "_id" not in search["Patient"]


def test_compartments(out_dir: Path) -> None:
    compartments = _read(out_dir, "compartments.json")
    assert compartments["Patient"]["Observation"] == ["subject", "performer"]
    assert "ActivityDefinition" not in compartments["Patient"]


def test_committed_registries_match_a_fresh_generation(out_dir: Path) -> None:
    for name in FILES:
        fresh = (out_dir / name).read_bytes()
        committed = COMMITTED / name
        assert committed.is_file(), f"{committed} missing: run python scripts/generate_registries.py"
        assert committed.read_bytes() == fresh, f"{committed} is stale or hand-edited: re-run the generator"
