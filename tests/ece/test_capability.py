"""The CapabilityStatement (R4 capabilitystatement.html) is itself a resource a client may validate."""

from __future__ import annotations

from ece.capability import capability_statement
from ece.validation import check_resource


def test_capability_statement_is_a_valid_r4_resource_without_empty_arrays():
    statement = capability_statement("http://ece.example/fhir")

    assert check_resource(statement, max_json_depth=64) == "CapabilityStatement"
    assert all(entry.get("searchRevInclude", ["x"]) for entry in statement["rest"][0]["resource"])
