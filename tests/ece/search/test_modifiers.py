"""Search modifiers, written from R4 search.html §3.1.1.4.4 (Modifiers), §3.1.1.4.18 (Handling Missing Data:
``:missing`` on every parameter type), §3.1.1.4.10 (token ``:not``, ``:text``, ``:in``, ``:not-in``,
``:below``, ``:above``, ``:of-type``),
§3.1.1.4.8 (string ``:exact``, ``:contains``), §3.1.1.4.9 (uri: the whole URI by default, ``:below``,
``:above``), §3.1.1.4.12 (reference ``:identifier``), and §3.1.1.4.19 (escaped ``\\,``, ``\\|``, ``\\$``).

Store-level: every test writes its resources in a rolled-back transaction and scopes each query with an
identifier system of its own.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from ece.errors import BadRequest
from tests.ece.search.helpers import DNI, LAB_HE, LOINC, UCUM, found, make, unique_system


def lab(system: str, key: str, *codings: dict, **fields) -> dict:
    return {"resourceType": "Observation", "identifier": [{"system": system, "value": key}], "status": "final",
            "code": {"coding": list(codings)} if codings else {"text": "Examen"}, **fields}


def loinc(code: str, display: str | None = None) -> dict:
    return {"system": LOINC, "code": code, **({"display": display} if display else {})}


# --- :missing on every type (§3.1.1.4.18) -------------------------------------------------------------

BASES = {"Patient": {}, "Observation": {"status": "final", "code": {"coding": [loinc("8480-6")]}},
         "RiskAssessment": {"status": "final", "subject": {"reference": "Patient/hn-0801199012345"}},
         "ValueSet": {"status": "active"}}
MISSING_CASES = [
    ("token", "Patient", "gender", {"gender": "female"}),
    ("string", "Patient", "family", {"name": [{"family": "Zelaya"}]}),
    ("date", "Patient", "birthdate", {"birthDate": "1990-05-02"}),
    ("reference", "Patient", "organization", {"managingOrganization": {"reference": "Organization/hosp-escuela"}}),
    ("number", "RiskAssessment", "probability",
     {"prediction": [{"outcome": {"text": "Diabetes gestacional"}, "probabilityDecimal": Decimal("0.3")}]}),
    ("quantity", "Observation", "value-quantity",
     {"valueQuantity": {"value": 120, "system": UCUM, "code": "mm[Hg]"}}),
    ("uri", "ValueSet", "url", {"url": f"http://salud.gob.hn/fhir/ValueSet/{uuid.uuid4().hex}"}),
    ("composite", "Observation", "code-value-quantity",
     {"valueQuantity": {"value": 120, "system": UCUM, "code": "mm[Hg]"}}),
]


@pytest.mark.parametrize(("kind", "resource_type", "name", "fields"), MISSING_CASES, ids=[c[0] for c in MISSING_CASES])
async def test_missing_true_and_false_on_every_parameter_type(tx, kind, resource_type, name, fields):
    system = unique_system()

    async def one(key: str, extra: dict) -> str:
        return await make(tx, {"resourceType": resource_type, "identifier": [{"system": system, "value": key}],
                               **BASES[resource_type], **extra})

    with_value, without = await one("con", fields), await one("sin", {})

    assert await found(tx, resource_type, system, (f"{name}:missing", "true")) == {without}
    assert await found(tx, resource_type, system, (f"{name}:missing", "false")) == {with_value}


# --- token :not, :text (§3.1.1.4.10) ------------------------------------------------------------------


async def test_not_includes_resources_without_a_value(tx):
    system = unique_system()

    async def person(key: str, **fields) -> str:
        return await make(tx, {"resourceType": "Patient", "identifier": [{"system": system, "value": key}], **fields})

    woman, man, unknown = await person("1", gender="female"), await person("2", gender="male"), await person("3")

    assert await found(tx, "Patient", system, ("gender:not", "male")) == {woman, unknown}
    assert await found(tx, "Patient", system, ("gender:not", "male,female")) == {unknown}
    assert await found(tx, "Patient", system, ("gender:not", "other")) == {woman, man, unknown}


async def test_not_negates_the_set_of_codings_not_each_one(tx):
    system = unique_system()
    glucose = await make(tx, lab(system, "1", loinc("2339-0"), {"system": LAB_HE, "code": "GLU"}))
    hemoglobin = await make(tx, lab(system, "2", loinc("718-7")))

    assert await found(tx, "Observation", system, ("code:not", f"{LOINC}|2339-0")) == {hemoglobin}
    assert await found(tx, "Observation", system, ("code:not", f"{LAB_HE}|GLU")) == {hemoglobin}
    assert await found(tx, "Observation", system, ("code:not", f"{LAB_HE}|2339-0")) == {glucose, hemoglobin}


async def test_text_searches_concept_text_coding_display_and_identifier_type_text(tx):
    system = unique_system()
    by_text = await make(tx, lab(system, "1", code={"text": "Glucosa en ayunas", "coding": [loinc("1558-6")]}))
    by_display = await make(tx, lab(system, "2", loinc("718-7", "Hemoglobina en sangre")))
    await make(tx, lab(system, "3", loinc("2339-0")))
    dni_type = {"text": "Documento Nacional de Identificación"}
    person = await make(tx, {"resourceType": "Patient",
                             "identifier": [{"system": system, "value": "0801199012345", "type": dni_type}]})

    assert await found(tx, "Observation", system, ("code:text", "glucosa")) == {by_text}
    assert await found(tx, "Observation", system, ("code:text", "GLUCOSA EN")) == {by_text}
    assert await found(tx, "Observation", system, ("code:text", "hemoglobina")) == {by_display}
    assert await found(tx, "Observation", system, ("code:text", "glucosa,hemoglobina")) == {by_text, by_display}
    assert await found(tx, "Patient", system, ("identifier:text", "documento nacional de identificacion")) \
        == {person}


# --- token :in and :not-in against stored value sets (§3.1.1.4.10) ---------------------------------------


async def test_in_and_not_in_with_a_value_set_listing_concepts(tx):
    system = unique_system()
    url = f"http://salud.gob.hn/fhir/ValueSet/hematologia-{uuid.uuid4().hex}"
    value_set = await make(tx, {"resourceType": "ValueSet", "status": "active", "url": url, "compose": {
        "include": [{"system": LOINC, "concept": [{"code": "718-7"}, {"code": "4544-3"}]}]}})
    hemoglobin = await make(tx, lab(system, "1", loinc("718-7")))
    hematocrit = await make(tx, lab(system, "2", loinc("4544-3")))
    glucose = await make(tx, lab(system, "3", loinc("2339-0")))
    other_system = await make(tx, lab(system, "4", {"system": "http://snomed.info/sct", "code": "718-7"}))

    assert await found(tx, "Observation", system, ("code:in", url)) == {hemoglobin, hematocrit}
    assert await found(tx, "Observation", system, ("code:in", f"ValueSet/{value_set}")) == {hemoglobin, hematocrit}
    assert await found(tx, "Observation", system, ("code:not-in", url)) == {glucose, other_system}


async def test_in_with_a_value_set_including_a_whole_stored_code_system(tx):
    system = unique_system()
    code_system = f"http://salud.gob.hn/fhir/CodeSystem/laboratorio-{uuid.uuid4().hex}"
    await make(tx, {"resourceType": "CodeSystem", "status": "active", "url": code_system, "content": "complete",
                    "concept": [{"code": "GLU", "display": "Glucosa"},
                                {"code": "HB", "display": "Hemoglobina",
                                 "concept": [{"code": "HBA1C", "display": "Hemoglobina glicosilada"}]}]})
    whole, branch = f"{code_system}/vs/todo", f"{code_system}/vs/hemoglobinas"
    await make(tx, {"resourceType": "ValueSet", "status": "active", "url": whole,
                    "compose": {"include": [{"system": code_system}]}})
    await make(tx, {"resourceType": "ValueSet", "status": "active", "url": branch, "compose": {"include": [
        {"system": code_system, "filter": [{"property": "concept", "op": "is-a", "value": "HB"}]}]}})
    glucose = await make(tx, lab(system, "1", {"system": code_system, "code": "GLU"}))
    a1c = await make(tx, lab(system, "2", {"system": code_system, "code": "HBA1C"}))
    elsewhere = await make(tx, lab(system, "3", loinc("2339-0")))

    assert await found(tx, "Observation", system, ("code:in", whole)) == {glucose, a1c}
    assert await found(tx, "Observation", system, ("code:in", branch)) == {a1c}
    assert await found(tx, "Observation", system, ("code:not-in", whole)) == {elsewhere}


# --- token :below and :above: subsumption in a stored code system (§3.1.1.4.10) --------------------------


async def stored_hierarchy(tx) -> str:
    """GLU; HB > HBA1C by nesting; HBA1C > HBA1C-IFCC by a ``parent`` property (R4 codesystem.html#hierarchy)."""
    url = f"http://salud.gob.hn/fhir/CodeSystem/laboratorio-{uuid.uuid4().hex}"
    await make(tx, {"resourceType": "CodeSystem", "status": "active", "url": url, "content": "complete",
                    "hierarchyMeaning": "is-a", "concept": [
                        {"code": "GLU", "display": "Glucosa"},
                        {"code": "HB", "display": "Hemoglobina",
                         "concept": [{"code": "HBA1C", "display": "Hemoglobina glicosilada"}]},
                        {"code": "HBA1C-IFCC", "display": "HbA1c (IFCC)",
                         "property": [{"code": "parent", "valueCode": "HBA1C"}]}]})
    return url


async def test_below_finds_the_code_and_every_code_it_subsumes(tx):
    system, code_system = unique_system(), await stored_hierarchy(tx)
    hemoglobin = await make(tx, lab(system, "1", {"system": code_system, "code": "HB"}))
    a1c = await make(tx, lab(system, "2", {"system": code_system, "code": "HBA1C"}))
    ifcc = await make(tx, lab(system, "3", {"system": code_system, "code": "HBA1C-IFCC"}))
    await make(tx, lab(system, "4", {"system": code_system, "code": "GLU"}))
    await make(tx, lab(system, "5", {"system": "http://otro.hn/sistema", "code": "HBA1C"}))

    assert await found(tx, "Observation", system, ("code:below", f"{code_system}|HB")) == {hemoglobin, a1c, ifcc}
    assert await found(tx, "Observation", system, ("code:below", f"{code_system}|HBA1C")) == {a1c, ifcc}
    assert await found(tx, "Observation", system, ("code:below", f"{code_system}|HBA1C-IFCC")) == {ifcc}


async def test_above_finds_the_code_and_every_code_that_subsumes_it(tx):
    system, code_system = unique_system(), await stored_hierarchy(tx)
    hemoglobin = await make(tx, lab(system, "1", {"system": code_system, "code": "HB"}))
    a1c = await make(tx, lab(system, "2", {"system": code_system, "code": "HBA1C"}))
    ifcc = await make(tx, lab(system, "3", {"system": code_system, "code": "HBA1C-IFCC"}))
    await make(tx, lab(system, "4", {"system": code_system, "code": "GLU"}))

    assert await found(tx, "Observation", system, ("code:above", f"{code_system}|HBA1C-IFCC")) == {
        hemoglobin, a1c, ifcc}
    assert await found(tx, "Observation", system, ("code:above", f"{code_system}|HBA1C")) == {hemoglobin, a1c}
    assert await found(tx, "Observation", system, ("code:above", f"{code_system}|HB")) == {hemoglobin}


async def test_below_combines_with_or_and_a_value_set_filter_follows_parent_properties(tx):
    system, code_system = unique_system(), await stored_hierarchy(tx)
    glucose = await make(tx, lab(system, "1", {"system": code_system, "code": "GLU"}))
    ifcc = await make(tx, lab(system, "2", {"system": code_system, "code": "HBA1C-IFCC"}))
    value_set = f"{code_system}/vs/hba1c"
    await make(tx, {"resourceType": "ValueSet", "status": "active", "url": value_set, "compose": {"include": [
        {"system": code_system, "filter": [{"property": "concept", "op": "descendent-of", "value": "HB"}]}]}})

    assert await found(tx, "Observation", system,
                       ("code:below", f"{code_system}|GLU,{code_system}|HBA1C")) == {glucose, ifcc}
    assert await found(tx, "Observation", system, ("code:in", value_set)) == {ifcc}


@pytest.mark.parametrize("value", ["HB", "|HB", "{system}|", "{system}|NO-EXISTE", "http://no.existe.hn/cs|HB"])
async def test_below_without_a_known_system_and_code_is_a_bad_request(tx, value):
    code_system = await stored_hierarchy(tx)
    with pytest.raises(BadRequest) as refused:
        await found(tx, "Observation", unique_system(), ("code:below", value.format(system=code_system)))
    assert refused.value.issues[0].expression == ("code:below",)


# --- token :of-type on identifiers (§3.1.1.4.10) ----------------------------------------------------------

V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"


def typed(type_code: str, value: str, system: str = "https://hospital-escuela.hn/sid/expediente") -> dict:
    return {"type": {"coding": [{"system": V2_0203, "code": type_code}]}, "system": system, "value": value}


async def test_of_type_matches_the_identifier_type_and_value_together(tx):
    system = unique_system()

    async def patient(key: str, *identifiers: dict) -> str:
        return await make(tx, {"resourceType": "Patient", "identifier": [{"system": system, "value": key},
                                                                         *identifiers]})

    record = await patient("1", typed("MR", "EXP-2031"))
    national_id = await patient("2", typed("NI", "EXP-2031", DNI))
    other_record = await patient("3", typed("MR", "EXP-7788"))
    untyped = await patient("4", {"system": "https://hospital-escuela.hn/sid/expediente", "value": "EXP-2031"})

    assert await found(tx, "Patient", system, ("identifier:of-type", f"{V2_0203}|MR|EXP-2031")) == {record}
    assert await found(tx, "Patient", system, ("identifier:of-type", f"{V2_0203}|NI|EXP-2031")) == {national_id}
    assert await found(tx, "Patient", system,
                       ("identifier:of-type", f"{V2_0203}|MR|EXP-2031,{V2_0203}|MR|EXP-7788")) == {record, other_record}
    # the type rows never widen or narrow the other forms of the parameter
    assert await found(tx, "Patient", system, ("identifier", "EXP-2031")) == {record, national_id, untyped}
    assert await found(tx, "Patient", system, ("identifier", f"{V2_0203}|MR")) == set()


@pytest.mark.parametrize(("name", "value"), [("identifier:of-type", "MR|EXP-2031"),
                                             ("identifier:of-type", f"{V2_0203}||EXP-2031"),
                                             ("gender:of-type", f"{V2_0203}|MR|female")])
async def test_of_type_needs_system_code_and_value_on_an_identifier_parameter(tx, name, value):
    with pytest.raises(BadRequest) as refused:
        await found(tx, "Patient", unique_system(), (name, value))
    assert refused.value.issues[0].expression == (name,)


# --- string :exact and :contains (§3.1.1.4.8) ---------------------------------------------------------


async def test_exact_matches_the_whole_string_with_case_and_accents(tx):
    system = unique_system()

    async def person(key: str, family: str) -> str:
        return await make(tx, {"resourceType": "Patient", "identifier": [{"system": system, "value": key}],
                               "name": [{"family": family}]})

    perez, perez_zelaya = await person("1", "Pérez"), await person("2", "Pérez Zelaya")

    assert await found(tx, "Patient", system, ("family:exact", "Pérez")) == {perez}
    assert await found(tx, "Patient", system, ("family:exact", "Pérez Zelaya")) == {perez_zelaya}
    assert await found(tx, "Patient", system, ("family:exact", "Perez")) == set()
    assert await found(tx, "Patient", system, ("family:exact", "pérez")) == set()


async def test_contains_matches_anywhere_ignoring_case_and_accents(tx):
    system = unique_system()
    nunez = await make(tx, {"resourceType": "Patient", "identifier": [{"system": system, "value": "1"}],
                            "name": [{"family": "Núñez", "given": ["Severina"]}]})

    assert await found(tx, "Patient", system, ("family:contains", "UNE")) == {nunez}
    assert await found(tx, "Patient", system, ("given:contains", "eve")) == {nunez}
    assert await found(tx, "Patient", system, ("given", "eve")) == set()
    assert await found(tx, "Patient", system, ("family:contains", "nunx")) == set()


# --- uri: whole and case-sensitive by default, :below and :above (§3.1.1.4.9) -----------------------------


async def test_uri_matches_the_whole_uri_or_with_below_and_above_a_part_of_it(tx):
    system = unique_system()
    base = f"http://salud.gob.hn/fhir/{uuid.uuid4().hex}/ValueSet"

    async def value_set(key: str, url: str) -> str:
        return await make(tx, {"resourceType": "ValueSet", "status": "active", "url": url,
                               "identifier": [{"system": system, "value": key}]})

    root = await value_set("1", base)
    departments = await value_set("2", f"{base}/departamentos")
    municipalities = await value_set("3", f"{base}/departamentos-municipios")
    oid = await value_set("4", "urn:oid:2.16.340.1.1.9")

    assert await found(tx, "ValueSet", system, ("url", f"{base}/departamentos")) == {departments}
    assert await found(tx, "ValueSet", system, ("url", f"{base}/DEPARTAMENTOS")) == set()
    assert await found(tx, "ValueSet", system, ("url", "urn:oid:2.16.340.1.1.9")) == {oid}
    assert await found(tx, "ValueSet", system, ("url:below", f"{base}/")) == {departments, municipalities}
    assert await found(tx, "ValueSet", system, ("url:below", base)) == {root, departments, municipalities}
    assert await found(tx, "ValueSet", system, ("url:above", f"{base}/departamentos/_history/5")) \
        == {root, departments}
    assert await found(tx, "ValueSet", system, ("url:above", base)) == {root}


# --- reference :identifier (§3.1.1.4.12) --------------------------------------------------------------


async def test_identifier_modifier_searches_the_reference_identifier_as_a_token(tx):
    system = unique_system()

    def of(key: str, identifier: dict) -> dict:
        return lab(system, key, subject={"identifier": identifier, "display": "María Pérez"})

    with_dni = await make(tx, of("1", {"system": DNI, "value": "0801199012345"}))
    bare = await make(tx, of("2", {"value": "0801199012345"}))
    other_dni = await make(tx, of("3", {"system": DNI, "value": "0501198800123"}))

    assert await found(tx, "Observation", system, ("subject:identifier", f"{DNI}|0801199012345")) == {with_dni}
    assert await found(tx, "Observation", system, ("subject:identifier", "0801199012345")) == {with_dni, bare}
    assert await found(tx, "Observation", system, ("subject:identifier", "|0801199012345")) == {bare}
    assert await found(tx, "Observation", system, ("subject:identifier", f"{DNI}|")) == {with_dni, other_dni}


# --- escaping (§3.1.1.4.19) ---------------------------------------------------------------------------


async def test_escaped_comma_pipe_and_dollar_are_part_of_the_value(tx):
    system = unique_system()
    comma = await make(tx, lab(system, "1", {"system": LAB_HE, "code": "a,b"}))
    single = await make(tx, lab(system, "2", {"system": LAB_HE, "code": "a"}))
    piped = await make(tx, lab(system, "3", {"code": "sangre|orina"}))
    dollar = await make(tx, lab(system, "4", {"system": LAB_HE, "code": "GS$RH"}, valueString="O positivo"))

    assert await found(tx, "Observation", system, ("code", "a\\,b")) == {comma}
    assert await found(tx, "Observation", system, ("code", "a,b")) == {single}
    assert await found(tx, "Observation", system, ("code", "sangre\\|orina")) == {piped}
    assert await found(tx, "Observation", system, ("code", "sangre|orina")) == set()
    assert await found(tx, "Observation", system, ("code", f"{LAB_HE}|GS\\$RH")) == {dollar}
    assert await found(tx, "Observation", system, ("code-value-string", f"{LAB_HE}|GS\\$RH$o posi")) == {dollar}
