"""The snapshot-driven validator: one valid example per national profile, and examples that break each kind
of rule (cardinality, types, fixed and pattern values, slicing, bindings, invariants, reference targets)."""

from __future__ import annotations

import pytest

from ece.validation import check_resource
from fhir_profiles import catalog
from fhir_profiles import systems as s
from fhir_profiles.enforcement import enforced_types
from fhir_profiles.validator import validate
from tests.fhir_profiles import factories as f

ALL = frozenset(catalog.national_types())


def problems(data: dict, *, enforced: frozenset[str] = frozenset()) -> list[tuple[str, str, str]]:
    """(severity, expression, diagnostics) of every issue, structure checked first as the store does."""
    check_resource(data, max_json_depth=96)
    return [(i.severity, i.expression[0] if i.expression else "", i.diagnostics)
            for i in validate(data, resource_type=data["resourceType"], location=data["resourceType"],
                              enforced_types=enforced)]


def errors(data: dict, **kwargs) -> list[tuple[str, str]]:
    return [(where, text) for severity, where, text in problems(data, **kwargs) if severity == "error"]


def test_every_national_profile_has_an_example():
    assert {p["id"] for p in catalog.profiles()} == set(f.EXAMPLES)


@pytest.mark.parametrize("pid", sorted(f.EXAMPLES))
def test_the_example_of_each_profile_conforms(pid):
    assert problems(f.EXAMPLES[pid]()) == []


def test_a_dni_with_department_19_breaks_the_dni_invariant():
    found = errors(f.patient(dni="1901199012345"))
    assert found[0][0] == "Patient.identifier[0]"
    assert found[0][1].startswith("hn-dni-1: El DNI tiene 13 dígitos")


def test_a_dni_of_twelve_digits_is_refused():
    assert [w for w, _ in errors(f.patient(dni="080119901234"))] == ["Patient.identifier[0]"]


def test_a_missing_first_surname_is_a_cardinality_error_at_its_location():
    data = f.patient()
    del data["name"][0]["family"]
    assert errors(data) == [("Patient.name[0].family", "Se requieren al menos 1 / at least 1 required "
                                                       "(perfil / profile hn-paciente)")]


def test_a_patient_without_identifiers_is_refused():
    data = f.patient()
    del data["identifier"]
    assert ("Patient.identifier", "Se requieren al menos 1 / at least 1 required (perfil / profile hn-paciente)") \
        in errors(data)


def test_two_dnis_exceed_the_dni_slice():
    data = f.patient()
    data["identifier"].append({"system": s.DNI, "value": "0501198500011"})
    assert [w for w, _ in errors(data)] == ["Patient.identifier:dni"]


def test_a_passport_needs_its_issuing_country():
    data = f.patient()
    data["identifier"] = [{"system": s.PASSPORT, "value": "N1234567"}]
    assert [w for w, _ in errors(data)] == ["Patient.identifier[0].assigner"]


def test_a_people_outside_the_value_set_breaks_the_required_binding():
    found = errors(f.patient(people="vikingo"))
    assert found[0][0] == "Patient.extension[0].valueCoding"
    assert "vikingo" in found[0][1]


def test_a_municipality_of_another_department_breaks_the_address_invariant():
    data = f.patient()
    data["address"] = [f.address(department="05", municipality="0801")]
    assert [w for w, _ in errors(data)] == ["Patient.address[0]"]


def test_an_invariant_that_cannot_be_evaluated_on_the_data_is_a_refusal_not_a_server_error():
    data = f.patient()
    municipality = data["address"][0]["extension"][1]
    data["address"][0]["extension"].append(dict(municipality))  # two municipalities: hn-dir-1 needs one
    found = errors(data)
    assert "Patient.address[0]" in [w for w, _ in found]
    assert any(text.startswith("hn-dir-1") and "cannot be evaluated" in text for _, text in found)


def test_an_address_without_department_is_refused():
    data = f.patient()
    data["address"][0]["extension"] = data["address"][0]["extension"][1:]
    assert "Patient.address[0].extension:departamento" in [w for w, _ in errors(data)]


def test_a_foreign_phone_number_breaks_the_phone_invariant():
    assert [w for w, _ in errors(f.patient(phone="555-0100-99"))] == ["Patient"]


def test_an_unlisted_language_is_only_a_warning_under_an_extensible_binding():
    data = f.patient()
    data["communication"][0]["language"]["coding"][0]["code"] = "fr"
    assert [sev for sev, _w, _t in problems(data)] == ["warning"]


def test_a_facility_must_carry_level_and_type_codings_by_pattern_slices():
    data = f.facility()
    data["type"] = data["type"][1:]
    assert "Organization.type:nivel" in [w for w, _ in errors(data)]


def test_a_uaps_declared_as_second_level_breaks_the_level_invariant():
    assert [w for w, _ in errors(f.facility(kind="UAPS", level="2"))] == ["Organization"]


def test_a_fixed_system_on_a_slice_separates_identifiers():
    data = f.facility()
    data["identifier"][0]["system"] = "https://otro.example/codigo"
    assert "Organization.identifier:codigo" in [w for w, _ in errors(data)]


def test_a_chapter_or_block_of_icd10_is_not_a_diagnosis():
    assert [w for w, _ in errors(f.condition(icd10="E10-E14"))] == ["Condition.code.coding[0]"]


def test_an_unknown_icd10_code_is_refused():
    assert errors(f.condition(icd10="E99.9"))


def test_a_temperature_in_fahrenheit_breaks_the_unit_pattern():
    data = f.vital("hn-temperatura", 99)
    data["valueQuantity"]["code"] = data["valueQuantity"]["unit"] = "[degF]"
    found = [w for w, _ in errors(data)]
    assert "Observation.valueQuantity" in found


def test_a_saturation_above_100_percent_breaks_the_range_invariant():
    assert [w for w, _ in errors(f.vital("hn-saturacion-oxigeno", 104))] == ["Observation"]


def test_a_vital_sign_as_a_string_is_a_type_error():
    data = f.vital("hn-frecuencia-cardiaca")
    del data["valueQuantity"]
    data["valueString"] = "normal"
    assert "Observation.valueString" in [w for w, _ in errors(data)]


def test_blood_pressure_needs_both_components():
    data = f.blood_pressure()
    data["component"] = data["component"][:1]
    assert "Observation.component:diastolica" in [w for w, _ in errors(data)]


def test_a_diastolic_above_the_systolic_breaks_the_blood_pressure_invariant():
    assert [w for w, _ in errors(f.blood_pressure(systolic=70, diastolic=110))] == ["Observation"]


def test_a_referral_intent_other_than_order_breaks_the_fixed_value():
    data = f.referral()
    data["intent"] = "plan"
    assert [w for w, _ in errors(data)] == ["ServiceRequest.intent"]


def test_a_referral_without_transfer_condition_and_transport_is_refused():
    data = f.referral()
    del data["extension"]
    found = [w for w, _ in errors(data)]
    assert "ServiceRequest.extension:condicionTraslado" in found
    assert "ServiceRequest.extension:medioTransporte" in found


def test_a_referral_priority_outside_the_national_value_set_is_refused():
    data = f.referral()
    data["priority"] = "asap"
    assert [w for w, _ in errors(data)] == ["ServiceRequest.priority"]


def test_a_referral_to_a_patient_is_a_reference_target_error():
    data = f.referral()
    data["performer"] = [{"reference": "Patient/pac-2"}]
    assert [w for w, _ in errors(data)] == ["ServiceRequest.performer[0].reference"]


def test_a_referral_without_a_reason_in_words_breaks_its_invariant():
    data = f.referral()
    del data["reasonCode"][0]["text"]
    assert [t.split(":")[0] for _w, t in errors(data)] == ["hn-ref-1"]


def test_a_rejected_referral_needs_a_coded_reason():
    found = errors(f.referral_task(status="rejected", business="rechazada"))
    assert [t.split(":")[0] for _w, t in found] == ["hn-tar-2"]


def test_a_rejected_referral_with_a_reason_conforms():
    assert errors(f.referral_task(status="rejected", business="rechazada", reason="sin-camas")) == []


def test_a_business_status_must_match_the_task_status():
    found = errors(f.referral_task(status="accepted", business="rechazada", reason="sin-camas"))
    assert [t.split(":")[0] for _w, t in found] == ["hn-tar-1"]


def test_a_response_without_recommendations_section_is_refused():
    data = f.response()
    data["section"] = [sec for sec in data["section"] if sec["code"]["coding"][0]["code"] != "recomendaciones"]
    assert "Composition.section:recomendaciones" in [w for w, _ in errors(data)]


def test_base_invariants_of_the_specification_are_evaluated():
    data = f.vital("hn-frecuencia-cardiaca")
    data["dataAbsentReason"] = {"text": "no medido"}
    assert "obs-6" in " ".join(t for _w, t in errors(data))


def test_an_enforced_type_without_declared_profile_is_checked_against_its_national_profile():
    data = f.patient()
    del data["meta"]
    del data["name"][0]["family"]
    assert errors(data, enforced=ALL) and errors(data) == []


def test_laboratory_observations_are_not_enforced_as_vital_signs():
    data = f.vital("hn-frecuencia-cardiaca")
    del data["meta"]
    data["category"] = [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                     "code": "laboratory"}]}]
    data["code"] = {"coding": [{"system": s.LOINC, "code": "718-7"}]}
    data["valueQuantity"] = {"value": 13, "unit": "g/dL", "system": s.UCUM, "code": "g/dL"}
    assert problems(data, enforced=ALL) == []


def test_an_enforced_vital_sign_is_checked_against_the_profile_of_its_code():
    data = f.vital("hn-saturacion-oxigeno", 104)
    del data["meta"]
    assert "hn-saturacion-oxigeno" in errors(data, enforced=ALL)[0][1]


def test_an_unknown_declared_profile_is_reported_as_information_only():
    data = f.patient()
    data["meta"]["profile"] = ["http://example.org/StructureDefinition/otro"]
    assert [sev for sev, _w, _t in problems(data)] == ["information"]


def test_a_national_profile_of_another_type_is_refused():
    data = f.patient()
    data["meta"]["profile"] = [f.profile_url("hn-referencia")]
    assert [w for w, _ in errors(data)] == ["meta.profile"]


def test_the_enforcement_setting_defaults_to_every_national_type_and_can_be_emptied():
    assert enforced_types(None) == ALL
    assert enforced_types("") == frozenset()
    assert enforced_types(" Patient, Task ") == {"Patient", "Task"}
    with pytest.raises(ValueError, match="Bundle"):
        enforced_types("Bundle")
