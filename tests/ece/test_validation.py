"""Validation of every write: structure (R4B models), required bindings (R4 terminologies.html#strength),
and the location of each problem as a FHIRPath expression."""

from __future__ import annotations

import pytest

from ece.errors import InvalidResource
from ece.validation import check_resource


def refusal(data) -> list[dict]:
    with pytest.raises(InvalidResource) as refused:
        check_resource(data, max_json_depth=40)
    return [i.to_json() for i in refused.value.issues]


def test_required_binding_on_a_nested_backbone_element_is_enforced():
    issues = refusal({"resourceType": "Patient", "contact": [{"gender": "hombre"}]})
    assert issues[0]["code"] == "code-invalid"
    assert issues[0]["expression"] == ["Patient.contact[0].gender"]


def test_service_request_intent_outside_its_value_set_is_refused():
    issues = refusal({"resourceType": "ServiceRequest", "status": "active", "intent": "wish",
                      "subject": {"reference": "Patient/p1"}})
    assert issues[0]["expression"] == ["ServiceRequest.intent"]


def test_bindings_inside_contained_resources_are_enforced():
    issues = refusal({"resourceType": "Observation", "status": "final", "code": {"text": "PA"},
                      "contained": [{"resourceType": "Patient", "id": "p", "gender": "femme"}]})
    assert issues[0]["expression"] == ["Observation.contained[0].gender"]


def test_coding_from_another_system_fails_a_required_codeable_concept_binding():
    # Condition.clinicalStatus is a CodeableConcept bound (required) to condition-clinical.
    issues = refusal({"resourceType": "Condition", "subject": {"reference": "Patient/p1"}, "clinicalStatus": {
        "coding": [{"system": "http://example.org/otro", "code": "active"}]}})
    assert issues[0]["expression"] == ["Condition.clinicalStatus.coding"]


def test_a_wrong_datatype_names_the_element():
    issues = refusal({"resourceType": "Patient", "birthDate": "ayer"})
    assert issues[0]["expression"] == ["Patient.birthDate"]


def test_an_unknown_element_is_refused():
    issues = refusal({"resourceType": "Patient", "apodo": "Chepe"})
    assert issues[0]["expression"] == ["Patient.apodo"]


def test_an_unknown_resource_type_is_refused():
    issues = refusal({"resourceType": "Paciente"})
    assert issues[0]["code"] == "not-supported"


def test_nesting_deeper_than_the_limit_is_refused():
    node: dict = {"url": "http://example.org/x", "valueString": "fondo"}
    for _ in range(50):
        node = {"url": "http://example.org/x", "extension": [node]}
    issues = refusal({"resourceType": "Patient", "extension": [node]})
    assert "40" in issues[0]["diagnostics"]


def test_a_valid_resource_with_primitive_extensions_passes():
    resource_type = check_resource({"resourceType": "Patient", "gender": "female", "birthDate": "1990-05-02",
                                    "_birthDate": {"extension": [{"url": "http://hl7.org/fhir/StructureDefinition/"
                                                                         "patient-birthTime",
                                                                  "valueDateTime": "1990-05-02T04:30:00-06:00"}]}},
                                   max_json_depth=40)
    assert resource_type == "Patient"
