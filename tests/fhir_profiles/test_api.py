"""The national profiles over HTTP, on a live server with enforcement on: refusals, terminology operations,
$validate, the CapabilityStatement, and the conformance resources installed into the store."""

from __future__ import annotations

import uuid

from ece import fhirjson
from fhir_profiles import catalog
from fhir_profiles.systems import ICD10, canonical
from tests.fhir_profiles import factories as f


def _post(client, path: str, data: dict):
    return client.post(path, content=fhirjson.dumps(data))


def test_a_non_conformant_patient_gets_422_with_fhirpath_and_spanish_first(national):
    data = f.patient()
    del data["meta"]
    del data["birthDate"]
    response = _post(national, "/Patient", data)
    assert response.status_code == 422
    issue = response.json()["issue"][0]
    assert issue["expression"] == ["Patient.birthDate"]
    assert issue["diagnostics"].startswith("Se requieren al menos 1")


def test_a_conformant_referral_is_created(national):
    assert _post(national, "/ServiceRequest", f.referral()).status_code == 201


def test_valueset_expand_with_a_filter_over_icd10(national):
    body = national.get("/ValueSet/$expand", params={"url": canonical("ValueSet", "cie-10"), "filter": "asthma",
                                                     "count": "3"}).json()
    assert body["resourceType"] == "ValueSet"
    assert body["expansion"]["total"] >= 5 and [c["code"] for c in body["expansion"]["contains"]] == [
        "J45", "J45.0", "J45.1"]


def test_valueset_expand_by_id_gives_spanish_displays_and_english_designations(national):
    body = national.get("/ValueSet/pueblo/$expand", params={"filter": "gari"}).json()
    assert body["expansion"]["contains"] == [{"system": canonical("CodeSystem", "pueblo"), "code": "garifuna",
                                              "display": "Garífuna",
                                              "designation": [{"language": "en", "value": "Garifuna"}]}]


def test_expand_of_an_unknown_value_set_is_404_and_a_bad_count_is_400(national):
    assert national.get("/ValueSet/$expand", params={"url": "http://example.org/vs"}).status_code == 404
    bad = national.get("/ValueSet/$expand", params={"url": canonical("ValueSet", "pueblo"), "count": "-1"})
    assert bad.status_code == 400 and bad.json()["issue"][0]["expression"] == ["count"]


def test_codesystem_lookup_of_an_icd10_code(national):
    body = national.get("/CodeSystem/$lookup", params={"system": ICD10, "code": "J45.9"}).json()
    values = {p["name"]: p.get("valueString") for p in body["parameter"]}
    assert values["display"] == "Asthma, unspecified" and values["version"] == "2019"


def test_valueset_validate_code(national):
    body = national.get("/ValueSet/$validate-code", params={"url": canonical("ValueSet", "cie-10"),
                                                            "system": ICD10, "code": "A00-A09"}).json()
    assert body["parameter"][0] == {"name": "result", "valueBoolean": False}


def test_type_validate_answers_an_outcome_without_storing(national):
    response = _post(national, "/Patient/$validate", f.patient(dni="1999199012345"))
    assert response.status_code == 200
    issues = response.json()["issue"]
    assert issues[0]["expression"] == ["Patient.identifier[0]"] and issues[0]["severity"] == "error"
    ok = _post(national, "/Patient/$validate", f.patient()).json()["issue"]
    assert ok == [{"severity": "information", "code": "informational", "diagnostics": "Sin problemas / no issues "
                                                                                      "found"}]


def test_type_validate_against_an_explicit_profile(national):
    data = f.vital("hn-temperatura")
    del data["meta"]
    response = national.post("/Observation/$validate", params={"profile": canonical("StructureDefinition",
                                                                                    "hn-presion-arterial")},
                             content=fhirjson.dumps(data))
    assert any(i["severity"] == "error" for i in response.json()["issue"])


def test_instance_validate_checks_the_stored_version(national):
    created = _post(national, "/Encounter", f.encounter())
    assert created.status_code == 201
    resource_id = created.json()["id"]
    assert national.post(f"/Encounter/{resource_id}/$validate").json()["issue"][0]["severity"] == "information"


def test_the_capability_statement_lists_the_national_profiles(national):
    rest = national.get("/metadata").json()["rest"][0]
    patient = next(r for r in rest["resource"] if r["type"] == "Patient")
    assert canonical("StructureDefinition", "hn-paciente") in patient["supportedProfile"]
    value_set = next(r for r in rest["resource"] if r["type"] == "ValueSet")
    assert {"expand", "validate-code"} <= {o["name"] for o in value_set["operation"]}


def test_token_below_and_above_subsume_icd10_codes_served_by_the_terminology(national):
    patient = f"Patient/subsuncion-{uuid.uuid4().hex[:12]}"

    def diagnosis(code: str) -> str:
        data = {**f.condition(icd10=code), "subject": {"reference": patient}}
        created = _post(national, "/Condition", data)
        assert created.status_code == 201, created.text
        return created.json()["id"]

    type_2, type_1, category, asthma = diagnosis("E11.9"), diagnosis("E10.1"), diagnosis("E11"), diagnosis("J45.0")

    def found(modifier: str, code: str) -> set[str]:
        response = national.get("/Condition", params={"subject": patient, f"code:{modifier}": f"{ICD10}|{code}"})
        assert response.status_code == 200, response.text
        return {e["resource"]["id"] for e in response.json().get("entry", [])}

    assert found("below", "E10-E14") == {type_2, type_1, category}
    assert found("below", "E11") == {type_2, category}
    assert found("below", "X") == {asthma}  # chapter X, diseases of the respiratory system
    assert found("above", "E11.9") == {type_2, category}
    unknown = national.get("/Condition", params={"subject": patient, "code:below": f"{ICD10}|E99.99"})
    assert unknown.status_code == 400 and "code:below" in unknown.json()["issue"][0]["expression"]


def test_installed_definitions_are_readable_and_searchable(national):
    read = national.get("/StructureDefinition/hn-paciente")
    assert read.status_code == 200 and read.json()["url"] == canonical("StructureDefinition", "hn-paciente")
    assert read.json()["snapshot"]["element"][0]["id"] == "Patient"
    found = national.get("/CodeSystem", params={"_id": "departamento"}).json()
    assert [e["resource"]["id"] for e in found["entry"]] == ["departamento"]


def test_installing_again_changes_nothing(national_install):
    again = national_install()
    assert again.returncode == 0, again.stdout + again.stderr
    unchanged = len(catalog.all_resources())
    assert f"0 creados / created, 0 actualizados / updated, {unchanged} sin cambios / unchanged" in again.stdout
