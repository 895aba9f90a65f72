"""The CapabilityStatement (R4 capabilitystatement.html) is itself a resource a client may validate."""

from __future__ import annotations

from ece.capability import capability_statement
from ece.validation import check_resource


def test_capability_statement_is_a_valid_r4_resource_without_empty_arrays():
    statement = capability_statement("http://ece.example/fhir")

    assert check_resource(statement, max_json_depth=64) == "CapabilityStatement"
    assert all(entry.get("searchRevInclude", ["x"]) for entry in statement["rest"][0]["resource"])


def test_text_is_declared_for_domain_resources_and_content_for_every_type():
    statement = capability_statement("http://ece.example/fhir")
    resources = statement["rest"][0]["resource"]
    declared = {entry["type"]: {p["name"]: p for p in entry["searchParam"]} for entry in resources}

    assert declared["Condition"]["_text"] == {
        "name": "_text", "type": "string", "definition": "http://hl7.org/fhir/SearchParameter/DomainResource-text"}
    assert declared["Condition"]["_content"] == {
        "name": "_content", "type": "string", "definition": "http://hl7.org/fhir/SearchParameter/Resource-content"}
    assert "_text" not in declared["Bundle"] and "_content" in declared["Bundle"]
    assert {"_text", "_content"} <= {p["name"] for p in statement["rest"][0]["searchParam"]}
