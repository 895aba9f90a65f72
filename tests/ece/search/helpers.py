"""Small calls shared by the store-level search tests: every test scopes its data by a unique identifier
system, since other tests' committed data share the database."""

from __future__ import annotations

import uuid

from ece import search, store

DNI = "urn:oid:2.16.340.1.1.1"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
LAB_HE = "http://hospital-escuela.hn/fhir/CodeSystem/laboratorio"


def unique_system() -> str:
    return f"urn:ece-test:{uuid.uuid4().hex}"


async def make(tx, data: dict) -> str:
    return (await store.create(tx, data=data)).id


async def found(tx, resource_type: str, system: str, *pairs: tuple[str, str]) -> set[str]:
    page = await search.search(tx.conn, resource_types=[resource_type],
                               pairs=[("identifier", f"{system}|"), *pairs])
    return {i for _t, i, _c in page.matches}
