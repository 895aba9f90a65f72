"""The generated data, without a database: determinism, national profiles, DNIs, pyramid, case mix."""

from __future__ import annotations

from collections import Counter
from functools import cache

import pytest

from ece import fhirjson
from ece.validation import check_resource
from fhir_profiles import catalog, systems
from fhir_profiles.validator import validate
from synthetic import clinical, geography, network, people
from synthetic.patients import ADULT_AGE, BIRTH_PLACE, person_and_patient

SEED = 11
FACILITIES = 40  # the hospitals plus a few first-level facilities: quick to build
PATIENTS = 120


@cache
def _net(seed: int = SEED) -> network.Network:
    return network.build(seed, FACILITIES)


@cache
def _patients(seed: int = SEED) -> tuple[tuple[dict, ...], ...]:
    return tuple(tuple(clinical.patient_records(_net(seed), i)) for i in range(PATIENTS))


def _all(seed: int = SEED) -> list[dict]:
    return [*_net(seed).resources, *(r for records in _patients(seed) for r in records)]


def _bytes(resources: list[dict]) -> bytes:
    return b"\n".join(fhirjson.dumps(r) for r in resources)


def test_same_seed_gives_byte_identical_resources_and_ids():
    net = network.build(SEED, FACILITIES)
    again = [*net.resources, *(r for i in range(PATIENTS) for r in clinical.patient_records(net, i))]
    assert _bytes(again) == _bytes(_all())


def test_different_seed_gives_different_ids_and_people():
    first, other = _all(SEED), _all(SEED + 1)
    assert not {r["id"] for r in first} & {r["id"] for r in other}
    names = [r["name"][0]["text"] for r in first if r["resourceType"] == "Patient"]
    other_names = [r["name"][0]["text"] for r in other if r["resourceType"] == "Patient"]
    assert names != other_names


def test_a_patient_is_the_same_alone_as_within_a_run():
    """What lets worker processes generate any slice of patients in any order."""
    alone = clinical.patient_records(network.build(SEED, FACILITIES), 57)
    assert _bytes(alone) == _bytes(list(_patients()[57]))


def test_ids_are_unique():
    ids = Counter((r["resourceType"], r["id"]) for r in _all())
    assert ids.most_common(1)[0][1] == 1


def test_every_resource_meets_the_base_specification_and_its_national_profile():
    enforced = frozenset(catalog.national_types())
    failures = []
    for data in [*_net().resources, *(r for records in _patients()[:30] for r in records)]:
        resource_type = check_resource(data, max_json_depth=96)
        issues = [i for i in validate(data, resource_type=resource_type, location=resource_type,
                                      enforced_types=enforced) if i.severity in ("error", "fatal")]
        if issues:
            failures.append((resource_type, data["id"], [i.diagnostics for i in issues][:3]))
    assert failures == []


def test_every_national_profile_is_used():
    declared = {p for r in _all() for p in r.get("meta", {}).get("profile", [])}
    expected = {p["url"] for p in catalog.profiles()
                if p["type"] not in ("ServiceRequest", "Task", "Composition")}  # the referral engine writes these
    expected.discard(systems.canonical("StructureDefinition", "hn-signo-vital"))  # declared via derived profiles
    assert expected - declared == set()


def test_network_has_every_level_and_the_national_hospitals():
    net = _net()
    kinds = Counter(f.kind for f in net.facilities)
    assert set(kinds) == {"UAPS", "CIS", "HB", "HG", "HE"} or set(kinds) == {"UAPS", "CIS", "POLI", "HB", "HG", "HE"}
    national = {f.municipality.code for f in net.facilities if f.kind == "HE"}
    assert national == {"0801", "0501"}  # Tegucigalpa (Distrito Central) and San Pedro Sula
    assert {f.municipality.department for f in net.facilities if f.level == "1"} == set(geography.BY_CODE)
    regions = {e["valueCoding"]["code"] for r in net.resources if r["resourceType"] == "Organization"
               for e in r["extension"] if e["url"] == systems.EXT_HEALTH_REGION}
    assert {"19", "20"} <= regions


def test_full_network_has_polyclinics_and_facilities_per_department_by_population():
    net = network.build(SEED)
    first_level = Counter(f.municipality.department for f in net.facilities if f.level == "1")
    assert "POLI" in {f.kind for f in net.facilities}
    assert first_level["05"] > first_level["11"]  # Cortés has many more people than Islas de la Bahía


def _birth_place_municipality(patient: dict) -> str:
    place = next(e["valueAddress"] for e in patient["extension"] if e["url"] == BIRTH_PLACE)
    return next(e["valueCoding"]["code"] for e in place["extension"] if e["url"] == systems.EXT_MUNICIPALITY)


def test_adult_dnis_follow_the_layout_and_the_department_of_birth_registration():
    net = network.build(SEED)
    checked = 0
    for index in range(400):
        _rng, person, patient = person_and_patient(net, index)
        dnis = [i["value"] for i in patient["identifier"] if i["system"] == systems.DNI]
        if person.age < ADULT_AGE:
            assert dnis == []
            continue
        (dni,) = dnis
        assert systems.is_dni(dni)
        municipality = _birth_place_municipality(patient)
        assert dni[:4] == municipality and dni[:2] == geography.MUNICIPALITIES[municipality].department
        assert person.birth_date.year <= int(dni[4:8]) <= person.birth_date.year + 5
        checked += 1
    assert checked > 200


def test_dnis_are_unique_across_patients():
    net = network.build(SEED)
    values = [person_and_patient(net, i)[2]["identifier"][0]["value"] for i in range(3000)]
    assert len(set(values)) == len(values)


def test_children_carry_a_birth_registration_number_or_only_their_record_number():
    net = network.build(SEED)
    systems_of_children = Counter()
    for index in range(600):
        _rng, person, patient = person_and_patient(net, index)
        if person.age < ADULT_AGE:
            systems_of_children[tuple(sorted(i["system"] for i in patient["identifier"]))] += 1
    assert systems_of_children[tuple(sorted((systems.BIRTH_REGISTRATION, systems.RECORD_NUMBER)))] > 100
    assert set(systems_of_children) <= {tuple(sorted((systems.BIRTH_REGISTRATION, systems.RECORD_NUMBER))),
                                        (systems.RECORD_NUMBER,)}


@pytest.fixture(scope="module")
def persons():
    net = network.build(SEED)
    return [person_and_patient(net, i)[1] for i in range(6000)]


def test_ages_and_sexes_follow_the_population_pyramid(persons):
    total = sum(b[1] for b in people.PYRAMID)
    bands = Counter(max(s for s in people.BAND_STARTS if s <= p.age) for p in persons)
    for start, share, _men in people.PYRAMID:
        assert abs(100 * bands[start] / len(persons) - 100 * share / total) < 1.5, start
    children = sum(1 for p in persons if p.age < 15) / len(persons)
    assert 0.26 < children < 0.32
    men = sum(1 for p in persons if p.gender == "male") / len(persons)
    assert 0.47 < men < 0.52
    old_men = [p.gender == "male" for p in persons if p.age >= 70]
    assert sum(old_men) / len(old_men) < 0.5


def test_a_share_of_patients_belong_to_indigenous_and_afro_honduran_peoples(persons):
    peoples = Counter(p.people for p in persons)
    share = 1 - peoples[None] / len(persons)
    assert 0.05 < share < 0.14
    miskito = [p.municipality.department for p in persons if p.people == "miskito"]
    assert miskito and set(miskito) == {"09"}  # Gracias a Dios
    assert peoples["lenca"] > peoples["tolupan"]


def test_about_fifty_resources_per_patient_with_the_expected_case_mix():
    records = _patients()
    assert 40 <= sum(len(r) for r in records) / len(records) <= 60
    codes = Counter(r["code"]["coding"][0]["code"] for rs in records for r in rs if r["resourceType"] == "Condition")
    for expected in ("I10", "E11.9", "J06.9", "A09.0"):
        assert codes[expected] > 0, expected
    assert any(c.startswith("Z34") for c in codes) and any(c.startswith("S") for c in codes)
    types = Counter(r["resourceType"] for rs in records for r in rs)
    assert {"Encounter", "Observation", "Condition", "MedicationRequest", "DiagnosticReport", "Immunization"} \
        <= set(types)


def test_dengue_is_seasonal():
    net = network.build(SEED)
    months = Counter()
    for index in range(1500):
        for r in clinical.patient_records(net, index):
            if r["resourceType"] == "Condition" and r["code"]["coding"][0]["code"].startswith("A97"):
                months[int(r["recordedDate"][5:7]) in clinical.RAINY_MONTHS] += 1
    assert months[True] > months[False]
