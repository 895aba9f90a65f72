"""The $break-glass and $access-log OperationDefinitions: installed once through the store, valid R4, and
listed on Patient in the CapabilityStatement (R4 capabilitystatement.html#...rest.resource.operation)."""

from __future__ import annotations

import httpx

from ece import fhirjson, reads
from ece.access.operations import ACCESS_LOG_ID, BREAK_GLASS_ID, install_access_operations


async def test_the_access_operation_definitions_install_once(tx):
    assert await install_access_operations(tx) == 2
    assert await install_access_operations(tx) == 0
    stored = {}
    for definition_id in (BREAK_GLASS_ID, ACCESS_LOG_ID):
        found = await reads.read(tx.conn, resource_type="OperationDefinition", resource_id=definition_id)
        stored[definition_id] = fhirjson.loads(found.content)
    glass, log = stored[BREAK_GLASS_ID], stored[ACCESS_LOG_ID]
    assert (glass["code"], glass["affectsState"], glass["resource"]) == ("break-glass", True, ["Patient"])
    assert {(p["name"], p["use"], p["min"]) for p in glass["parameter"] if p["use"] == "in"} == {
        ("reason", "in", 1), ("minutes", "in", 0)}
    assert (log["code"], log["affectsState"], log["parameter"][0]["type"]) == ("access-log", False, "Bundle")


def test_the_capability_statement_lists_them_on_patient(live_server):
    statement = httpx.get(f"{live_server}/metadata", timeout=30).json()
    patient = next(r for r in statement["rest"][0]["resource"] if r["type"] == "Patient")

    operations = {o["name"]: o["definition"] for o in patient["operation"]}
    assert operations["break-glass"] == f"https://fhir.salud.gob.hn/OperationDefinition/{BREAK_GLASS_ID}"
    assert operations["access-log"] == f"https://fhir.salud.gob.hn/OperationDefinition/{ACCESS_LOG_ID}"
    assert "everything" in operations
