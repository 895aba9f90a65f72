"""Refused and ignored search parameters, written from R4 search.html §3.1.1.3 (Handling Errors: a
syntactically incorrect value is an error answered with an OperationOutcome, a logical condition that
cannot be satisfied is an empty result, empty parameters are ignored; ``Prefer: handling=strict|lenient``
for unknown parameters), §3.1.1.4.4 (a server SHALL reject a modifier it does not support, with 400) and
§3.1.1.6 (the self link lists the parameters actually used).

Over HTTP against the live server, with identifier systems of their own; one store-level test checks that
a malformed value is refused even in lenient mode.
"""

from __future__ import annotations

import uuid
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from ece import search
from ece.errors import BadRequest

FHIR_JSON = {"Content-Type": "application/fhir+json"}
STRICT = {"Prefer": "handling=strict"}
LENIENT = {"Prefer": "handling=lenient"}


def unique_system() -> str:
    return f"urn:ece-test:{uuid.uuid4().hex}"


def create(http: httpx.Client, resource: dict) -> str:
    response = http.post(f"/{resource['resourceType']}", json=resource, headers=FHIR_JSON)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def refusal(response: httpx.Response) -> dict:
    assert response.status_code == 400, response.text
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome" and outcome["issue"][0]["severity"] == "error"
    return outcome["issue"][0]


def names(issue: dict, parameter: str) -> bool:
    return parameter in issue.get("expression", []) and f"'{parameter}'" in issue["diagnostics"]


@pytest.mark.parametrize(("resource_type", "parameter", "value"), [
    ("Patient", "birthdate", "1990-13-45"),
    ("Patient", "birthdate", "2 de mayo de 1990"),
    ("Patient", "birthdate", "xx1990-05-02"),
    ("Observation", "value-quantity", "zz5.4|http://unitsofmeasure.org|mg"),
    ("RiskAssessment", "probability", "alta"),
    ("Observation", "subject:Paciente.name", "perez"),
    ("Observation", "subject:Patient.apodo", "chepe"),
    ("Patient", "gender.name", "female"),
    ("Patient", "_has:Paciente:patient:code", "2339-0"),
    ("Patient", "_has:Observation:sujeto:code", "2339-0"),
    ("Patient", "family:below", "perez"),
    ("Patient", "gender:exact", "female"),
    ("Patient", "birthdate:contains", "1990"),
    ("Patient", "gender:missing", "quizas"),
    ("Observation", "code-value-quantity", "http://loinc.org|8480-6"),
    ("Observation", "code:in", "http://salud.gob.hn/fhir/ValueSet/no-existe"),
    ("Patient", "_count", "diez"),
    ("Patient", "_total", "mucho"),
    ("Patient", "_summary", "resumen"),
    ("Patient", "_include", "Patient:nada"),
    ("Patient", "_cursor", "no-es-un-cursor"),
    ("Condition", "_content", " "),
    ("Condition", "_text", '"" -'),
    ("Condition", "_text:exact", "neumonia"),
])
def test_malformed_value_is_refused_with_an_outcome_naming_the_parameter(http, resource_type, parameter, value):
    response = http.get(f"/{resource_type}", params={parameter: value})

    assert names(refusal(response), parameter)


def test_unsupported_modifier_is_refused_even_when_lenient(http):
    issue = refusal(http.get("/Patient", params={"family:below": "perez"}, headers=LENIENT))

    assert names(issue, "family:below")


def test_strict_handling_refuses_an_unknown_parameter(http):
    issue = refusal(http.get("/Patient", params={"colonia": "kennedy"}, headers=STRICT))

    assert names(issue, "colonia")


def test_strict_handling_accepts_known_parameters(http):
    system = unique_system()
    maria = create(http, {"resourceType": "Patient", "identifier": [{"system": system, "value": "1"}],
                          "name": [{"family": "Pérez"}]})

    response = http.get("/Patient", params={"identifier": f"{system}|", "family": "perez"}, headers=STRICT)

    assert response.status_code == 200, response.text
    assert [e["resource"]["id"] for e in response.json()["entry"]] == [maria]


@pytest.mark.parametrize("headers", [LENIENT, {}], ids=["lenient", "no-preference"])
def test_lenient_handling_ignores_an_unknown_parameter_and_leaves_it_out_of_the_self_link(http, headers):
    system = unique_system()
    maria = create(http, {"resourceType": "Patient", "identifier": [{"system": system, "value": "1"}],
                          "name": [{"family": "Pérez"}]})

    response = http.get("/Patient", params={"identifier": f"{system}|", "colonia": "kennedy"}, headers=headers)

    assert response.status_code == 200, response.text
    bundle = response.json()
    assert [e["resource"]["id"] for e in bundle["entry"]] == [maria]
    self_query = parse_qs(urlsplit(next(x["url"] for x in bundle["link"] if x["relation"] == "self")).query)
    assert self_query == {"identifier": [f"{system}|"]}


def test_a_condition_that_cannot_be_satisfied_is_an_empty_result_not_an_error(http):
    system = unique_system()
    create(http, {"resourceType": "Observation", "identifier": [{"system": system, "value": "1"}],
                  "status": "final", "code": {"coding": [{"system": "http://loinc.org", "code": "2339-0"}]}})

    for params in ({"subject": "Patient/no-existe"}, {"code": "http://loinc.org|1234-1"},
                   {"patient.identifier": "urn:oid:2.16.340.1.1.1|0000000000000"}):
        response = http.get("/Observation", params={"identifier": f"{system}|", **params})
        assert response.status_code == 200, response.text
        assert response.json()["total"] == 0


def test_empty_parameter_is_ignored(http):
    system = unique_system()
    maria = create(http, {"resourceType": "Patient", "identifier": [{"system": system, "value": "1"}],
                          "name": [{"family": "Pérez"}]})

    response = http.get("/Patient", params={"identifier": f"{system}|", "family": ""})

    assert response.status_code == 200, response.text
    assert [e["resource"]["id"] for e in response.json()["entry"]] == [maria]


async def test_malformed_value_is_refused_by_the_store_even_when_lenient(tx):
    with pytest.raises(BadRequest) as refused:
        await search.search(tx.conn, resource_types=["Patient"], pairs=[("birthdate", "ge1990-02-30")], strict=False)

    assert refused.value.issues[0].expression == ("birthdate",)
