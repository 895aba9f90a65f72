"""Chained parameters and reverse chaining, written from R4 search.html §3.1.1.4.15 (Chained parameters:
``subject:Patient.name``, ``subject.name``, recursive chains, chains evaluated independently) and
§3.1.1.4.16 (Reverse Chaining: ``_has``, OR values, repeated ``_has`` and nested ``_has``); a chain may name
any parameter of the target, including those of every resource (§3.1.1.4.1: ``_id``, ``_lastUpdated``).

Store-level: every test writes its resources in a rolled-back transaction and scopes each query with an
identifier system of its own.
"""

from __future__ import annotations

from ece import search, store
from tests.ece.search.helpers import DNI, LOINC, found, make, unique_system


def person(system: str, key: str, family: str, given: str, **fields) -> dict:
    return {"resourceType": "Patient", "identifier": [{"system": system, "value": key}, {"system": DNI, "value": key}],
            "name": [{"family": family, "given": [given]}], **fields}


def lab(system: str, key: str, subject: str, code: str = "2339-0") -> dict:
    return {"resourceType": "Observation", "identifier": [{"system": system, "value": key}], "status": "final",
            "code": {"coding": [{"system": LOINC, "code": code}]}, "subject": {"reference": subject}}


async def test_chain_with_and_without_a_type_modifier(tx):
    system = unique_system()
    maria = await make(tx, person(system, "0801199012345", "Pérez", "María"))
    jose = await make(tx, person(system, "0501198800123", "López", "José"))
    clinic = await make(tx, {"resourceType": "Location", "name": "Pérez, consultorio 3"})
    of_maria = await make(tx, lab(system, "1", f"Patient/{maria}"))
    of_jose = await make(tx, lab(system, "2", f"Patient/{jose}"))
    of_clinic = await make(tx, lab(system, "3", f"Location/{clinic}"))

    assert await found(tx, "Observation", system, ("subject:Patient.name", "perez")) == {of_maria}
    assert await found(tx, "Observation", system, ("subject.name", "perez")) == {of_maria, of_clinic}
    assert await found(tx, "Observation", system, ("patient.name", "perez")) == {of_maria}
    assert await found(tx, "Observation", system, ("subject:Patient.name", "lopez")) == {of_jose}
    assert await found(tx, "Observation", system, ("subject:Patient.identifier", f"{DNI}|0801199012345")) \
        == {of_maria}
    assert await found(tx, "Observation", system, ("subject:Patient.name", "zelaya")) == set()


async def test_chain_over_two_levels_through_the_managing_organization(tx):
    system = unique_system()
    escuela = await make(tx, {"resourceType": "Organization", "name": "Hospital Escuela Universitario"})
    rivas = await make(tx, {"resourceType": "Organization", "name": "Hospital Mario Catarino Rivas"})
    maria = await make(tx, person(system, "1", "Pérez", "María",
                                  managingOrganization={"reference": f"Organization/{escuela}"}))
    jose = await make(tx, person(system, "2", "López", "José",
                                 managingOrganization={"reference": f"Organization/{rivas}"}))

    async def visit(key: str, patient_id: str) -> str:
        return await make(tx, {"resourceType": "Encounter", "identifier": [{"system": system, "value": key}],
                               "status": "finished", "class": {"code": "AMB"},
                               "subject": {"reference": f"Patient/{patient_id}"}})

    in_tegucigalpa, in_san_pedro = await visit("1", maria), await visit("2", jose)

    assert await found(tx, "Encounter", system, ("subject.organization.name", "hospital escuela")) \
        == {in_tegucigalpa}
    assert await found(tx, "Encounter", system, ("subject:Patient.organization:Organization.name", "hospital mario")) \
        == {in_san_pedro}
    assert await found(tx, "Encounter", system, ("patient.organization.name", "hospital")) \
        == {in_tegucigalpa, in_san_pedro}


async def test_chained_parameters_are_applied_independently(tx):
    """The general-practitioner example of §3.1.1.4.15: no one practitioner need satisfy both conditions."""
    system = unique_system()
    jose = await make(tx, {"resourceType": "Practitioner", "name": [{"family": "Bonilla", "given": ["José"]}],
                           "address": [{"city": "San Pedro Sula", "state": "Cortés"}]})
    juana = await make(tx, {"resourceType": "Practitioner", "name": [{"family": "Mejía", "given": ["Juana"]}],
                            "address": [{"city": "Tegucigalpa", "state": "Francisco Morazán"}]})
    both = await make(tx, person(system, "1", "Pérez", "María", generalPractitioner=[
        {"reference": f"Practitioner/{jose}"}, {"reference": f"Practitioner/{juana}"}]))
    await make(tx, person(system, "2", "López", "Ana", generalPractitioner=[{"reference": f"Practitioner/{jose}"}]))

    assert await found(tx, "Patient", system, ("general-practitioner.name", "jose"),
                       ("general-practitioner.address-state", "francisco morazan")) == {both}


async def test_chain_does_not_follow_a_deleted_target(tx):
    system = unique_system()
    maria = await make(tx, person(system, "1", "Pérez", "María"))
    glucose = await make(tx, lab(system, "1", f"Patient/{maria}"))
    assert await found(tx, "Observation", system, ("subject:Patient.name", "perez")) == {glucose}

    await store.delete(tx, resource_type="Patient", resource_id=maria)

    assert await found(tx, "Observation", system, ("subject:Patient.name", "perez")) == set()


async def test_chain_ending_in_id_or_last_updated(tx):
    system = unique_system()
    maria = await make(tx, person(system, "1", "Pérez", "María"))
    jose = await make(tx, person(system, "2", "López", "José"))
    of_maria = await make(tx, lab(system, "1", f"Patient/{maria}"))
    of_jose = await make(tx, lab(system, "2", f"Patient/{jose}"))
    strict = await search.search(tx.conn, resource_types=["Observation"], strict=True,
                                 pairs=[("identifier", f"{system}|"), ("subject._id", jose)])

    assert await found(tx, "Observation", system, ("subject:Patient._id", maria)) == {of_maria}
    assert await found(tx, "Observation", system, ("subject._id", f"{maria},{jose}")) == {of_maria, of_jose}
    assert [i for _t, i, _c in strict.matches] == [of_jose]
    assert await found(tx, "Observation", system, ("subject:Patient._lastUpdated", "ge2020-01-01")) \
        == {of_maria, of_jose}
    assert await found(tx, "Observation", system, ("subject:Patient._lastUpdated", "lt2020-01-01")) == set()


# --- reverse chaining (§3.1.1.4.16) -------------------------------------------------------------------


async def test_has_selects_patients_referred_to_by_a_matching_observation(tx):
    system = unique_system()
    maria = await make(tx, person(system, "1", "Pérez", "María"))
    jose = await make(tx, person(system, "2", "López", "José"))
    await make(tx, person(system, "3", "Zelaya", "Ana"))
    await make(tx, lab(system, "1", f"Patient/{maria}", "2339-0"))
    await make(tx, lab(system, "2", f"Patient/{maria}", "718-7"))
    await make(tx, lab(system, "3", f"Patient/{jose}", "718-7"))

    assert await found(tx, "Patient", system, ("_has:Observation:patient:code", f"{LOINC}|2339-0")) == {maria}
    assert await found(tx, "Patient", system, ("_has:Observation:subject:code", "718-7")) == {maria, jose}
    assert await found(tx, "Patient", system, ("_has:Observation:patient:code", "2339-0,718-7")) == {maria, jose}
    assert await found(tx, "Patient", system, ("_has:Observation:patient:code", "2339-0"),
                       ("_has:Observation:patient:code", "718-7")) == {maria}
    assert await found(tx, "Patient", system, ("_has:Observation:patient:code", "8480-6")) == set()


async def test_nested_has_through_a_diagnostic_report(tx):
    system = unique_system()
    maria = await make(tx, person(system, "1", "Pérez", "María"))
    jose = await make(tx, person(system, "2", "López", "José"))
    reported = await make(tx, lab(system, "1", f"Patient/{maria}"))
    pending = await make(tx, lab(system, "2", f"Patient/{jose}"))

    async def report(status: str, result: str) -> None:
        await make(tx, {"resourceType": "DiagnosticReport", "status": status, "code": {"text": "Química sanguínea"},
                        "result": [{"reference": f"Observation/{result}"}]})

    await report("final", reported)
    await report("preliminary", pending)

    assert await found(tx, "Patient", system, ("_has:Observation:patient:_has:DiagnosticReport:result:status",
                                               "final")) == {maria}
    assert await found(tx, "Patient", system, ("_has:Observation:patient:_has:DiagnosticReport:result:status",
                                               "final,preliminary")) == {maria, jose}


async def test_has_ignores_deleted_referrers(tx):
    system = unique_system()
    maria = await make(tx, person(system, "1", "Pérez", "María"))
    glucose = await make(tx, lab(system, "1", f"Patient/{maria}"))
    await store.delete(tx, resource_type="Observation", resource_id=glucose)

    assert await found(tx, "Patient", system, ("_has:Observation:patient:code", "2339-0")) == set()


async def test_has_ending_in_id(tx):
    system = unique_system()
    maria = await make(tx, person(system, "1", "Pérez", "María"))
    await make(tx, person(system, "2", "López", "José"))
    glucose = await make(tx, lab(system, "1", f"Patient/{maria}"))

    assert await found(tx, "Patient", system, ("_has:Observation:patient:_id", glucose)) == {maria}
