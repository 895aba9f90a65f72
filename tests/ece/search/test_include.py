"""``_include`` and ``_revinclude``, written from R4 search.html §3.1.1.5.4 (source type, reference parameter
and optional target type; the ``*`` wildcard; ``:iterate``; entries marked ``include``), §3.1.1.5.7 (each page
carries the includes of its own matches), §3.1.1.5.3 (``total`` counts matches only), §3.1.1.5.9 (``_elements``
does not apply to included resources) and R4 bundle.html (entries are not repeated).

Store-level tests use a rolled-back transaction and scope each query with an identifier system of their own;
one HTTP test checks the wire format (``search.mode``).
"""

from __future__ import annotations

import uuid

import httpx

from ece import fhirjson, search, store

LOINC = "http://loinc.org"
FHIR_JSON = {"Content-Type": "application/fhir+json"}


def unique_system() -> str:
    return f"urn:ece-test:{uuid.uuid4().hex}"


async def make(tx, data: dict) -> str:
    return (await store.create(tx, data=data)).id


async def run(tx, resource_type: str, system: str, *pairs: tuple[str, str]) -> search.SearchPage:
    return await search.search(tx.conn, resource_types=[resource_type],
                               pairs=[("identifier", f"{system}|"), *pairs])


def keys(rows: list[tuple[str, str, bytes]]) -> list[tuple[str, str]]:
    return [(t, i) for t, i, _c in rows]


def person(system: str, key: str, family: str, **fields) -> dict:
    return {"resourceType": "Patient", "identifier": [{"system": system, "value": key}],
            "name": [{"family": family, "given": ["María"]}], **fields}


def lab(system: str, key: str, **references: str) -> dict:
    return {"resourceType": "Observation", "identifier": [{"system": system, "value": key}], "status": "final",
            "code": {"coding": [{"system": LOINC, "code": "2339-0"}]},
            **{name: {"reference": target} for name, target in references.items()}}


def visit(system: str, key: str, patient_id: str) -> dict:
    return {"resourceType": "Encounter", "identifier": [{"system": system, "value": key}], "status": "finished",
            "class": {"code": "AMB"}, "subject": {"reference": f"Patient/{patient_id}"}}


async def test_include_adds_each_referenced_subject_once(tx):
    system = unique_system()
    maria = await make(tx, person(system, "1", "Pérez"))
    jose = await make(tx, person(system, "2", "López"))
    for key, owner in (("1", maria), ("2", maria), ("3", jose)):
        await make(tx, lab(system, key, subject=f"Patient/{owner}"))

    page = await run(tx, "Observation", system, ("_include", "Observation:subject"))

    assert len(page.matches) == 3 and page.total == 3
    assert sorted(keys(page.included)) == sorted([("Patient", maria), ("Patient", jose)])


async def test_includes_of_two_parameters_come_once_each_in_type_and_id_order(tx):
    system = unique_system()
    patients = [await make(tx, person(system, str(n), "Pérez")) for n in range(3)]
    visits = [await make(tx, visit(system, str(n), patients[n])) for n in range(3)]
    for n in range(3):
        await make(tx, lab(system, str(n), subject=f"Patient/{patients[n]}", encounter=f"Encounter/{visits[n]}"))

    page = await run(tx, "Observation", system, ("_include", "Observation:subject"),
                     ("_include", "Observation:encounter"), ("_include", "Observation:patient"))

    assert keys(page.included) == sorted([("Patient", p) for p in patients] + [("Encounter", v) for v in visits])


async def test_include_with_a_target_type_and_with_the_wildcard(tx):
    system = unique_system()
    maria = await make(tx, person(system, "1", "Pérez"))
    ward = await make(tx, {"resourceType": "Location", "name": "Sala de Maternidad"})
    doctor = await make(tx, {"resourceType": "Practitioner", "name": [{"family": "Mejía", "given": ["Juana"]}]})
    encounter = await make(tx, visit(system, "1", maria))
    await make(tx, {**lab(system, "1", subject=f"Patient/{maria}", encounter=f"Encounter/{encounter}"),
                    "performer": [{"reference": f"Practitioner/{doctor}"}]})
    await make(tx, lab(system, "2", subject=f"Location/{ward}"))

    patients_only = await run(tx, "Observation", system, ("_include", "Observation:subject:Patient"))
    locations_only = await run(tx, "Observation", system, ("_include", "Observation:subject:Location"))
    everything = await run(tx, "Observation", system, ("_include", "Observation:*"))

    assert keys(patients_only.included) == [("Patient", maria)]
    assert keys(locations_only.included) == [("Location", ward)]
    assert set(keys(everything.included)) == {("Patient", maria), ("Location", ward), ("Encounter", encounter),
                                              ("Practitioner", doctor)}


async def test_iterate_follows_the_included_resources(tx):
    system = unique_system()
    maria = await make(tx, person(system, "1", "Pérez"))
    encounter = await make(tx, visit(system, "1", maria))
    await make(tx, lab(system, "1", encounter=f"Encounter/{encounter}"))

    once = await run(tx, "Observation", system, ("_include", "Observation:encounter"),
                     ("_include", "Encounter:subject"))
    iterated = await run(tx, "Observation", system, ("_include", "Observation:encounter"),
                         ("_include:iterate", "Encounter:subject"))

    assert keys(once.included) == [("Encounter", encounter)]
    assert sorted(keys(iterated.included)) == [("Encounter", encounter), ("Patient", maria)]


async def test_revinclude_adds_the_resources_that_refer_to_the_matches(tx):
    system = unique_system()
    maria = await make(tx, person(system, "1", "Pérez"))
    jose = await make(tx, person(system, "2", "López"))
    glucose = await make(tx, lab(system, "1", subject=f"Patient/{maria}"))
    encounter = await make(tx, visit(system, "1", maria))
    in_visit = await make(tx, lab(system, "2", encounter=f"Encounter/{encounter}"))

    page = await run(tx, "Patient", system, ("_revinclude", "Observation:subject"))
    iterated = await run(tx, "Patient", system, ("_id", maria), ("_revinclude", "Encounter:patient"),
                         ("_revinclude:iterate", "Observation:encounter"))

    assert set(keys(page.matches)) == {("Patient", maria), ("Patient", jose)} and page.total == 2
    assert keys(page.included) == [("Observation", glucose)]
    assert sorted(keys(iterated.included)) == [("Encounter", encounter), ("Observation", in_visit)]


async def test_revinclude_wildcards_add_what_refers_to_the_matches_through_any_parameter(tx):
    system = unique_system()
    maria = await make(tx, person(system, "1", "Pérez"))
    glucose = await make(tx, lab(system, "1", subject=f"Patient/{maria}"))
    encounter = await make(tx, visit(system, "1", maria))

    everything = await run(tx, "Patient", system, ("_revinclude", "*"))
    observations = await run(tx, "Patient", system, ("_revinclude", "Observation:*"))

    assert keys(everything.included) == [("Encounter", encounter), ("Observation", glucose)]
    assert keys(observations.included) == [("Observation", glucose)]


async def test_a_match_is_never_repeated_as_an_include(tx):
    system = unique_system()
    outside = await make(tx, {"resourceType": "Patient", "name": [{"family": "Pérez", "given": ["María"]}]})
    older = await make(tx, person(system, "1", "Pérez", link=[{"other": {"reference": f"Patient/{outside}"},
                                                                "type": "seealso"}]))
    newer = await make(tx, person(system, "2", "Pérez", link=[{"other": {"reference": f"Patient/{older}"},
                                                                "type": "replaces"}]))

    page = await run(tx, "Patient", system, ("_include", "Patient:link"))

    assert set(keys(page.matches)) == {("Patient", older), ("Patient", newer)}
    assert keys(page.included) == [("Patient", outside)]


async def test_deleted_targets_are_omitted_without_error(tx):
    system = unique_system()
    maria = await make(tx, person(system, "1", "Pérez"))
    await make(tx, lab(system, "1", subject=f"Patient/{maria}"))
    await store.delete(tx, resource_type="Patient", resource_id=maria)

    page = await run(tx, "Observation", system, ("_include", "Observation:subject"))

    assert len(page.matches) == 1 and page.included == []


async def test_each_page_carries_the_includes_of_its_own_matches(tx):
    system = unique_system()
    maria = await make(tx, person(system, "1", "Pérez"))
    await make(tx, lab(system, "1", subject=f"Patient/{maria}"))
    await make(tx, lab(system, "2", subject=f"Patient/{maria}"))

    first = await run(tx, "Observation", system, ("_include", "Observation:subject"), ("_count", "1"))
    second = await run(tx, "Observation", system, ("_include", "Observation:subject"), ("_count", "1"),
                       ("_cursor", first.next_cursor))

    assert keys(first.included) == keys(second.included) == [("Patient", maria)]
    assert keys(first.matches) != keys(second.matches) and second.next_cursor is None


async def test_elements_do_not_trim_included_resources(tx):
    system = unique_system()
    maria = await make(tx, person(system, "1", "Pérez", gender="female", birthDate="1990-05-02"))
    await make(tx, lab(system, "1", subject=f"Patient/{maria}"))

    page = await run(tx, "Observation", system, ("_include", "Observation:subject"), ("_elements", "status"))

    included = fhirjson.loads(page.included[0][2])
    assert included["birthDate"] == "1990-05-02" and included["name"][0]["family"] == "Pérez"


def test_included_entries_are_marked_include_after_the_matches(http: httpx.Client):
    system = unique_system()

    def create(resource: dict) -> str:
        response = http.post(f"/{resource['resourceType']}", json=resource, headers=FHIR_JSON)
        assert response.status_code == 201, response.text
        return response.json()["id"]

    maria = create(person(system, "1", "Pérez"))
    glucose = create(lab(system, "1", subject=f"Patient/{maria}"))

    response = http.get("/Observation", params={"identifier": f"{system}|", "_include": "Observation:subject"})

    assert response.status_code == 200, response.text
    bundle = response.json()
    entries = [(e["search"]["mode"], e["resource"]["resourceType"], e["resource"]["id"]) for e in bundle["entry"]]
    assert entries == [("match", "Observation", glucose), ("include", "Patient", maria)]
    assert bundle["total"] == 1
    assert bundle["entry"][1]["fullUrl"].endswith(f"/Patient/{maria}")
