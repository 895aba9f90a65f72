"""Default matching per search parameter type, written from R4 search.html: §3.1.1.4.6 number, §3.1.1.4.7 date
(with the §3.1.1.4.5 prefix table over ranges), §3.1.1.4.8 string, §3.1.1.4.10 token, §3.1.1.4.11 quantity,
§3.1.1.4.12 reference, §3.1.1.4.17 composite, and §3.1.1.4.1 the parameters of every resource (``_id``,
``_lastUpdated``, ``_tag``, ``_profile``, ``_security``, ``_source``). The uri type is in test_modifiers.py.

Store-level: each test writes its resources in a rolled-back transaction and scopes every query with an
identifier system of its own (``identifier=system|``), since other tests may have committed data; absolute
reference URLs are checked over HTTP, where the server's base is known.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import httpx
import pytest

from ece import store
from tests.ece.search.helpers import LAB_HE, LOINC, UCUM, found, make, unique_system

FHIR_JSON = {"Content-Type": "application/fhir+json"}


def observation(system: str, key: str, **fields) -> dict:
    return {"resourceType": "Observation", "identifier": [{"system": system, "value": key}], "status": "final",
            "code": {"text": "Examen"}, **fields}


def patient(system: str, key: str, **fields) -> dict:
    return {"resourceType": "Patient", "identifier": [{"system": system, "value": key}], **fields}


# --- token (§3.1.1.4.10) ------------------------------------------------------------------------------


async def test_token_system_and_code_forms(tx):
    system = unique_system()
    loinc = await make(tx, observation(system, "1", code={"coding": [{"system": LOINC, "code": "2339-0"}]}))
    bare = await make(tx, observation(system, "2", code={"coding": [{"code": "2339-0"}]}))
    local = await make(tx, observation(system, "3", code={"coding": [{"system": LAB_HE, "code": "2339-0"}]}))
    other = await make(tx, observation(system, "4", code={"coding": [{"system": LOINC, "code": "718-7"}]}))

    assert await found(tx, "Observation", system, ("code", f"{LOINC}|2339-0")) == {loinc}
    assert await found(tx, "Observation", system, ("code", "|2339-0")) == {bare}
    assert await found(tx, "Observation", system, ("code", f"{LOINC}|")) == {loinc, other}
    assert await found(tx, "Observation", system, ("code", "2339-0")) == {loinc, bare, local}


async def test_token_matches_any_coding_of_a_codeable_concept(tx):
    system = unique_system()
    glucose = await make(tx, observation(system, "1", code={"coding": [{"system": LAB_HE, "code": "GLU"},
                                                                       {"system": LOINC, "code": "2339-0"}]}))

    assert await found(tx, "Observation", system, ("code", f"{LAB_HE}|GLU")) == {glucose}
    assert await found(tx, "Observation", system, ("code", f"{LOINC}|2339-0")) == {glucose}
    assert await found(tx, "Observation", system, ("code", f"{LAB_HE}|2339-0")) == set()


async def test_token_on_boolean_code_and_contact_point(tx):
    system = unique_system()
    active = await make(tx, patient(system, "1", active=True, gender="female",
                                    telecom=[{"system": "phone", "value": "+50422321234"},
                                             {"system": "email", "value": "maria.perez@salud.gob.hn"}]))
    inactive = await make(tx, patient(system, "2", active=False, gender="male"))

    assert await found(tx, "Patient", system, ("active", "true")) == {active}
    assert await found(tx, "Patient", system, ("active", "false")) == {inactive}
    assert await found(tx, "Patient", system, ("gender", "male")) == {inactive}
    assert await found(tx, "Patient", system, ("phone", "+50422321234")) == {active}
    assert await found(tx, "Patient", system, ("email", "maria.perez@salud.gob.hn")) == {active}
    assert await found(tx, "Patient", system, ("phone", "maria.perez@salud.gob.hn")) == set()


# --- string (§3.1.1.4.8) ------------------------------------------------------------------------------


async def test_string_matches_the_start_ignoring_case_and_accents(tx):
    system = unique_system()
    perez = await make(tx, patient(system, "1", name=[{"family": "Pérez", "given": ["María", "José"]}]))
    nunez = await make(tx, patient(system, "2", name=[{"family": "Núñez", "given": ["Ángel"]}]))

    assert await found(tx, "Patient", system, ("family", "perez")) == {perez}
    assert await found(tx, "Patient", system, ("family", "PÉR")) == {perez}
    assert await found(tx, "Patient", system, ("family", "nunez")) == {nunez}
    assert await found(tx, "Patient", system, ("given", "angel")) == {nunez}
    assert await found(tx, "Patient", system, ("given", "jose")) == {perez}
    assert await found(tx, "Patient", system, ("family", "erez")) == set()
    assert await found(tx, "Patient", system, ("family", "pereza")) == set()


async def test_address_string_searches_every_string_part(tx):
    system = unique_system()
    home = {"line": ["Colonia Kennedy, bloque 5"], "city": "Tegucigalpa", "state": "Francisco Morazán",
            "country": "HN", "use": "home"}
    capital = await make(tx, patient(system, "1", address=[home]))
    await make(tx, patient(system, "2", address=[{"city": "San Pedro Sula", "state": "Cortés"}]))

    assert await found(tx, "Patient", system, ("address", "colonia kennedy")) == {capital}
    assert await found(tx, "Patient", system, ("address", "kennedy")) == {capital}
    assert await found(tx, "Patient", system, ("address", "francisco mora")) == {capital}
    assert await found(tx, "Patient", system, ("address-city", "tegucigalpa")) == {capital}
    assert await found(tx, "Patient", system, ("address-state", "francisco morazan")) == {capital}
    assert await found(tx, "Patient", system, ("address", "home")) == set()  # `use` is not a string part


async def test_each_surname_of_a_double_family_name_is_searched(tx):
    """§3.1.1.4.8: servers should search the parts of a family name independently ("Carreno Quinones")."""
    system = unique_system()
    both = await make(tx, patient(system, "1", name=[{"family": "Pérez Zelaya", "given": ["María"]}]))
    single = await make(tx, patient(system, "2", name=[{"family": "Zelaya", "given": ["Ana"]}]))

    assert await found(tx, "Patient", system, ("family", "zelaya")) == {both, single}
    assert await found(tx, "Patient", system, ("family", "perez zel")) == {both}
    assert await found(tx, "Patient", system, ("name", "perez")) == {both}
    assert await found(tx, "Patient", system, ("family", "laya")) == set()
    assert await found(tx, "Patient", system, ("family:exact", "Zelaya")) == {single}


# --- date (§3.1.1.4.7 with §3.1.1.4.5) ----------------------------------------------------------------


@pytest.mark.parametrize(("query", "expected"), [
    ("1990", {"year", "month", "day"}),
    ("1990-05", {"month", "day"}),
    ("1990-05-02", {"day"}),
    ("ne1990-05-02", {"year", "month", "other"}),
    ("lt1990-05-02", {"year", "month"}),
    ("gt1990-05-02", {"year", "month", "other"}),
    ("le1990-05-02", {"year", "month", "day"}),
    ("ge1990-05-02", {"year", "month", "day", "other"}),
    ("sa1990-05", {"other"}),
    ("eb1990-05", set()),
    ("eb1991", {"year", "month", "day"}),
    ("ap1990-05-02", {"year", "month", "day"}),
])
async def test_birthdate_prefixes_against_year_month_and_day_precision(tx, query, expected):
    system = unique_system()
    born = {"year": "1990", "month": "1990-05", "day": "1990-05-02", "other": "2003-11-20"}
    ids = {key: await make(tx, patient(system, key, birthDate=value)) for key, value in born.items()}

    assert await found(tx, "Patient", system, ("birthdate", query)) == {ids[k] for k in expected}


@pytest.mark.parametrize(("query", "matches"), [
    ("2024-03-14", True),
    ("2024-03-14T16:30:15Z", True),
    ("2024-03-14T10:30:15-06:00", True),
    ("2024-03-14T10:30-06:00", True),
    ("2024-03-14T10:30:16-06:00", False),
    ("gt2024-03-14T10:30:15-06:00", False),
    ("ge2024-03-14T10:30:15-06:00", True),
    ("lt2024-03-14T10:30:15-06:00", False),
    ("le2024-03-14T10:30:15-06:00", True),
    ("sa2024-03-14T10:30:14-06:00", True),
    ("sa2024-03-14T10:30:15-06:00", False),
    ("eb2024-03-14T10:30:16-06:00", True),
    ("eb2024-03-14T10:30:15-06:00", False),
])
async def test_date_time_at_second_precision_with_the_honduran_offset(tx, query, matches):
    system = unique_system()
    taken = await make(tx, observation(system, "1", effectiveDateTime="2024-03-14T10:30:15-06:00"))

    assert await found(tx, "Observation", system, ("date", query)) == ({taken} if matches else set())


@pytest.mark.parametrize(("query", "expected"), [
    ("ge2013-03-14", {"from-jan", "from-mar-15", "march"}),
    ("gt2013-03-14", {"from-jan", "from-mar-15", "march"}),
    ("le2013-03-14", {"from-jan", "until-jan", "march"}),
    ("lt2013-03-14", {"from-jan", "until-jan", "march"}),
    ("sa2013-03-14", {"from-mar-15"}),
    ("eb2013-03-14", {"until-jan"}),
    ("eq2013-03", {"march"}),
    ("ne2013-03", {"from-jan", "from-mar-15", "until-jan"}),
    ("2013-03-14", set()),
])
async def test_encounter_period_and_open_ended_periods(tx, query, expected):
    """The examples of §3.1.1.4.7: "from 21-Jan 2013 onwards", "from 15-Mar 2013 onwards", "before and
    including 21-Jan 2013", plus a closed period inside March 2013."""
    system = unique_system()
    periods = {"from-jan": {"start": "2013-01-21"}, "from-mar-15": {"start": "2013-03-15"},
               "until-jan": {"end": "2013-01-21"}, "march": {"start": "2013-03-10", "end": "2013-03-20"}}
    ids = {key: await make(tx, {"resourceType": "Encounter", "identifier": [{"system": system, "value": key}],
                                "status": "finished", "class": {"code": "AMB"}, "period": period})
           for key, period in periods.items()}

    assert await found(tx, "Encounter", system, ("date", query)) == {ids[k] for k in expected}


# --- number (§3.1.1.4.6): RiskAssessment.prediction.probabilityDecimal --------------------------------


@pytest.mark.parametrize(("query", "expected"), [
    ("0.8", {"0.75", "0.8", "0.849"}),
    ("0.80", {"0.8"}),
    ("8e-1", {"0.75", "0.8", "0.849"}),
    ("ne0.8", {"0.5", "0.74", "0.85", "0.95"}),
    ("gt0.8", {"0.849", "0.85", "0.95"}),
    ("gt8e-1", {"0.849", "0.85", "0.95"}),
    ("ge0.8", {"0.8", "0.849", "0.85", "0.95"}),
    ("lt0.8", {"0.5", "0.74", "0.75"}),
    ("le0.8", {"0.5", "0.74", "0.75", "0.8"}),
    ("ap0.8", {"0.74", "0.75", "0.8", "0.849", "0.85"}),
])
async def test_probability_number_with_implicit_precision_and_prefixes(tx, query, expected):
    system = unique_system()
    subject = await make(tx, patient(system, "p", name=[{"family": "Zelaya"}]))
    ids = {}
    for value in ("0.5", "0.74", "0.75", "0.8", "0.849", "0.85", "0.95"):
        ids[value] = await make(tx, {"resourceType": "RiskAssessment", "status": "final",
                                     "identifier": [{"system": system, "value": value}],
                                     "subject": {"reference": f"Patient/{subject}"},
                                     "prediction": [{"outcome": {"text": "Preeclampsia"},
                                                     "probabilityDecimal": Decimal(value)}]})

    assert await found(tx, "RiskAssessment", system, ("probability", query)) == {ids[v] for v in expected}


# --- quantity (§3.1.1.4.11) ---------------------------------------------------------------------------


async def test_quantity_by_value_system_code_and_unit(tx):
    system = unique_system()

    async def measured(key: str, quantity: dict) -> str:
        return await make(tx, observation(system, key, valueQuantity=quantity))

    ucum_mg = await measured("1", {"value": Decimal("5.4"), "unit": "mg", "system": UCUM, "code": "mg"})
    unit_only = await measured("2", {"value": Decimal("5.4"), "unit": "mg"})
    grams = await measured("3", {"value": Decimal("5.4"), "unit": "g", "system": UCUM, "code": "g"})
    more = await measured("4", {"value": Decimal("5.5"), "unit": "mg", "system": UCUM, "code": "mg"})
    less = await measured("5", {"value": Decimal("5.34"), "unit": "mg", "system": UCUM, "code": "mg"})

    async def q(value: str) -> set[str]:
        return await found(tx, "Observation", system, ("value-quantity", value))

    assert await q(f"5.4|{UCUM}|mg") == {ucum_mg}
    assert await q("5.4||mg") == {ucum_mg, unit_only}
    assert await q("5.4") == {ucum_mg, unit_only, grams}
    assert await q(f"gt5.4|{UCUM}|mg") == {more, grams}  # UCUM units compare converted: 5.4 g > 5.4 mg
    assert await q(f"le5.4|{UCUM}|mg") == {ucum_mg, less}
    assert await q(f"ap5.4|{UCUM}|mg") == {ucum_mg, more, less}
    assert await q(f"5.40e-3|{UCUM}|g") == {ucum_mg}  # the spec's example: 0.0054(+/-0.000005) g


# --- reference (§3.1.1.4.12) --------------------------------------------------------------------------


async def test_reference_by_type_and_id_by_id_and_with_a_type_modifier(tx):
    system = unique_system()
    maria = await make(tx, patient(system, "p", name=[{"family": "Pérez"}]))
    ward = await make(tx, {"resourceType": "Location", "name": "Sala de Pediatría"})
    of_maria = await make(tx, observation(system, "1", subject={"reference": f"Patient/{maria}"}))
    of_ward = await make(tx, observation(system, "2", subject={"reference": f"Location/{ward}"}))
    versioned = await make(tx, observation(system, "3", subject={"reference": f"Patient/{maria}/_history/1"}))

    assert await found(tx, "Observation", system, ("subject", f"Patient/{maria}")) == {of_maria, versioned}
    assert await found(tx, "Observation", system, ("subject", maria)) == {of_maria, versioned}
    assert await found(tx, "Observation", system, ("subject:Patient", maria)) == {of_maria, versioned}
    assert await found(tx, "Observation", system, ("subject:Location", ward)) == {of_ward}
    assert await found(tx, "Observation", system, ("subject:Location", maria)) == set()
    assert await found(tx, "Observation", system, ("patient", maria)) == {of_maria, versioned}
    assert await found(tx, "Observation", system, ("patient", ward)) == set()


def observations_about(http: httpx.Client, system: str, subject: str) -> set[str]:
    response = http.get("/Observation", params={"identifier": f"{system}|", "subject": subject})
    assert response.status_code == 200, response.text
    return {e["resource"]["id"] for e in response.json().get("entry", [])}


def http_create(http: httpx.Client, resource: dict) -> str:
    response = http.post(f"/{resource['resourceType']}", json=resource, headers=FHIR_JSON)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def test_absolute_url_on_this_server_and_its_relative_form_match_each_other(http):
    system, base = unique_system(), str(http.base_url).rstrip("/")
    maria = http_create(http, patient(system, "p"))
    relative = http_create(http, observation(system, "1", subject={"reference": f"Patient/{maria}"}))
    absolute = http_create(http, observation(system, "2", subject={"reference": f"{base}/Patient/{maria}"}))

    assert observations_about(http, system, f"Patient/{maria}") == {relative, absolute}
    assert observations_about(http, system, f"{base}/Patient/{maria}") == {relative, absolute}


def test_a_patient_on_another_server_is_not_the_local_patient_with_that_id(http):
    system, elsewhere = unique_system(), "http://hospital-atlantida.hn/fhir"
    maria = http_create(http, patient(system, "p"))
    local = http_create(http, observation(system, "1", subject={"reference": f"Patient/{maria}"}))
    remote = http_create(http, observation(system, "2", subject={"reference": f"{elsewhere}/Patient/{maria}"}))

    assert observations_about(http, system, f"Patient/{maria}") == {local}
    assert observations_about(http, system, f"{elsewhere}/Patient/{maria}") == {remote}


# --- composite (§3.1.1.4.17) --------------------------------------------------------------------------


def blood_pressure(system: str, key: str, systolic: float, diastolic: float) -> dict:
    def component(code: str, value: float) -> dict:
        return {"code": {"coding": [{"system": LOINC, "code": code}]},
                "valueQuantity": {"value": value, "unit": "mmHg", "system": UCUM, "code": "mm[Hg]"}}

    return observation(system, key, code={"coding": [{"system": LOINC, "code": "85354-9"}]},
                       component=[component("8480-6", systolic), component("8462-4", diastolic)])


async def test_code_value_quantity_needs_both_parts_on_the_observation(tx):
    system = unique_system()

    async def systolic(key: str, code: str, value: float) -> str:
        return await make(tx, observation(system, key, code={"coding": [{"system": LOINC, "code": code}]},
                                          valueQuantity={"value": value, "system": UCUM, "code": "mm[Hg]"}))

    high = await systolic("1", "8480-6", 150)
    await systolic("2", "8480-6", 95)
    await systolic("3", "8462-4", 150)

    assert await found(tx, "Observation", system, ("code-value-quantity", f"{LOINC}|8480-6$gt100")) == {high}
    assert await found(tx, "Observation", system,
                       ("code-value-quantity", f"{LOINC}|8480-6$150|{UCUM}|mm[Hg]")) == {high}
    assert await found(tx, "Observation", system, ("code-value-quantity", f"{LOINC}|8480-6$150|{UCUM}|mg")) == set()


async def test_component_code_and_value_must_come_from_the_same_component(tx):
    system = unique_system()
    hypertensive = await make(tx, blood_pressure(system, "1", systolic=150, diastolic=95))
    normal = await make(tx, blood_pressure(system, "2", systolic=118, diastolic=76))

    async def q(value: str) -> set[str]:
        return await found(tx, "Observation", system, ("component-code-value-quantity", value))

    assert await q(f"{LOINC}|8480-6$gt140") == {hypertensive}
    assert await q(f"{LOINC}|8480-6$lt140") == {normal}
    assert await q(f"{LOINC}|8462-4$gt140") == set()  # 150 is the systolic component, not the diastolic
    assert await q(f"{LOINC}|8462-4$gt90,{LOINC}|8480-6$lt120") == {hypertensive, normal}


# --- parameters of every resource (§3.1.1.4.1) --------------------------------------------------------


async def test_id_matches_exactly_and_case_sensitively(tx):
    system = unique_system()
    first = await make(tx, patient(system, "1"))
    second = await make(tx, patient(system, "2"))
    upper = (await store.update(tx, resource_type="Patient", resource_id="HN-Caso-1",
                                data=patient(system, "3", id="HN-Caso-1"))).id

    assert await found(tx, "Patient", system, ("_id", first)) == {first}
    assert await found(tx, "Patient", system, ("_id", f"{first},{second}")) == {first, second}
    assert await found(tx, "Patient", system, ("_id", "hn-caso-1")) == set()
    assert await found(tx, "Patient", system, ("_id", upper)) == {upper}


async def test_last_updated_is_the_instant_of_the_write(tx):
    system = unique_system()
    written = await store.create(tx, data=patient(system, "1"))
    moment = written.last_updated

    def instant(delta: timedelta) -> str:
        return (moment + delta).isoformat()

    assert await found(tx, "Patient", system, ("_lastUpdated", f"ge{instant(timedelta())}")) == {written.id}
    assert await found(tx, "Patient", system, ("_lastUpdated", f"gt{instant(timedelta(seconds=1))}")) == set()
    assert await found(tx, "Patient", system, ("_lastUpdated", f"lt{instant(timedelta())}")) == set()
    assert await found(tx, "Patient", system, ("_lastUpdated", moment.date().isoformat())) == {written.id}


async def test_meta_tag_security_profile_and_source(tx):
    system = unique_system()
    profile = "http://salud.gob.hn/fhir/StructureDefinition/paciente-hn"
    meta = {"tag": [{"system": "http://salud.gob.hn/fhir/etiquetas", "code": "referencia-urgente"}],
            "security": [{"system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "code": "R"}],
            "profile": [profile], "source": "http://hospital-escuela.hn/his#admision"}
    tagged = await make(tx, patient(system, "1", meta=meta))
    await make(tx, patient(system, "2"))

    assert await found(tx, "Patient", system, ("_tag", "http://salud.gob.hn/fhir/etiquetas|referencia-urgente")) \
        == {tagged}
    assert await found(tx, "Patient", system, ("_tag", "referencia-urgente")) == {tagged}
    assert await found(tx, "Patient", system, ("_security", "R")) == {tagged}
    assert await found(tx, "Patient", system, ("_security", "N")) == set()
    assert await found(tx, "Patient", system, ("_profile", profile)) == {tagged}
    assert await found(tx, "Patient", system, ("_source", "http://hospital-escuela.hn/his#admision")) == {tagged}
    assert await found(tx, "Patient", system, ("_source", "http://hospital-escuela.hn/his")) == set()
