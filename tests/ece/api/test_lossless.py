"""What goes in comes out: the live server stores and serves what the client sent (R4 json.html),
apart from the id and the meta.versionId/lastUpdated it assigns (R4 resource.html#Meta).

Bodies are sent as raw bytes and compared as raw text or parsed with ``Decimal`` so that no float
round trip can hide a lost digit.
"""

from __future__ import annotations

import copy
import json
import uuid
from decimal import Decimal

import httpx

FHIR_JSON = {"Content-Type": "application/fhir+json"}
DNI = "urn:oid:2.16.340.1.1.1"



def unique_system() -> str:
    return f"urn:ece-test:{uuid.uuid4().hex}"


def exact(raw: bytes | str) -> dict:
    return json.loads(raw, parse_float=Decimal)


def without_server_fields(resource: dict) -> dict:
    """The resource minus what the server assigns: id, meta.versionId and meta.lastUpdated."""
    out = copy.deepcopy(resource)
    out.pop("id", None)
    meta = out.pop("meta", {})
    meta = {k: v for k, v in meta.items() if k not in ("versionId", "lastUpdated")}
    if meta:
        out["meta"] = meta
    return out


def post_raw(http: httpx.Client, resource_type: str, raw: bytes) -> httpx.Response:
    response = http.post(f"/{resource_type}", content=raw, headers=FHIR_JSON)
    assert response.status_code == 201, response.text
    return response


def read_raw(http: httpx.Client, resource_type: str, resource_id: str) -> httpx.Response:
    response = http.get(f"/{resource_type}/{resource_id}")
    assert response.status_code == 200, response.text
    return response


WEIGHT = (b'{"resourceType":"Observation","status":"final","code":{"text":"Peso"},'
          b'"valueQuantity":{"value":72.50,"unit":"kg","system":"http://unitsofmeasure.org","code":"kg"},'
          b'"referenceRange":[{"low":{"value":1.000,"unit":"kg"},"high":{"value":150.0,"unit":"kg"}}]}')


def test_decimals_keep_their_written_text_on_create_and_read(http):
    created = post_raw(http, "Observation", WEIGHT)

    read = read_raw(http, "Observation", created.json()["id"])

    for response in (created, read):
        assert '"value":72.50' in response.text
        assert '"value":1.000' in response.text
        assert '"value":150.0' in response.text


def test_decimals_keep_their_written_text_in_search_results_and_history(http):
    system = unique_system()
    raw = WEIGHT.replace(b'"status":"final"', b'"identifier":[{"system":"%s","value":"1"}],"status":"final"'
                         % system.encode())
    resource_id = post_raw(http, "Observation", raw).json()["id"]

    found = http.get("/Observation", params={"identifier": f"{system}|1"})
    history = http.get(f"/Observation/{resource_id}/_history")

    for response in (found, history):
        assert response.status_code == 200
        assert '"value":72.50' in response.text and '"value":1.000' in response.text


def test_very_small_decimal_keeps_its_written_text(http):
    raw = (b'{"resourceType":"Observation","status":"final","code":{"text":"Troponina"},'
           b'"valueQuantity":{"value":0.00000010,"unit":"ng/mL"}}')

    created = post_raw(http, "Observation", raw)

    # The value and its precision survive either way; the written form is what the store promises.
    assert exact(created.text)["valueQuantity"]["value"].as_tuple() == Decimal("0.00000010").as_tuple()
    assert '"value":0.00000010' in created.text


def test_instant_with_microseconds_and_offset_is_unchanged(http):
    moment = "2026-11-29T10:15:30.123456-06:00"
    raw = json.dumps({"resourceType": "Observation", "status": "final", "code": {"text": "Presión arterial"},
                      "effectiveDateTime": moment, "issued": moment}).encode()

    resource_id = post_raw(http, "Observation", raw).json()["id"]
    stored = read_raw(http, "Observation", resource_id).json()

    assert stored["issued"] == moment
    assert stored["effectiveDateTime"] == moment


def test_primitive_extensions_are_kept_with_their_null_alignment(http):
    resource = {
        "resourceType": "Patient",
        "identifier": [{"system": unique_system(), "value": "0801199012345"}],
        "birthDate": "1990-05-02",
        "_birthDate": {"extension": [{"url": "http://hl7.org/fhir/StructureDefinition/patient-birthTime",
                                      "valueDateTime": "1990-05-02T08:30:00-06:00"}]},
        "name": [{"family": "Zelaya", "given": ["José", "Ramón"],
                  "_given": [None, {"extension": [{
                      "url": "http://hl7.org/fhir/StructureDefinition/iso21090-EN-qualifier", "valueCode": "CL"}]}]}],
    }

    resource_id = post_raw(http, "Patient", json.dumps(resource).encode()).json()["id"]
    stored = read_raw(http, "Patient", resource_id).json()

    assert stored["_birthDate"] == resource["_birthDate"]
    assert stored["name"] == resource["name"]


def test_unicode_text_is_kept_as_written(http):
    raw = json.dumps({
        "resourceType": "Patient",
        "identifier": [{"system": unique_system(), "value": "0801199012345"}],
        "name": [{"family": "Muñoz Peña", "given": ["María", "Ángel"]}],
        "address": [{"line": ["Barrio Guanacaste, 3.ª avenida"], "city": "Comayagüela", "state": "Francisco Morazán",
                     "country": "HN"}],
    }, ensure_ascii=False).encode()

    resource_id = post_raw(http, "Patient", raw).json()["id"]
    stored = read_raw(http, "Patient", resource_id)

    assert "Muñoz Peña" in stored.text and "Ángel" in stored.text and "Comayagüela" in stored.text
    assert stored.json()["address"][0]["state"] == "Francisco Morazán"


def rich_patient(system: str) -> dict:
    return {
        "resourceType": "Patient",
        "meta": {"profile": ["http://hl7.org/fhir/StructureDefinition/Patient"],
                 "tag": [{"system": "urn:ece-test:tags", "code": "prueba"}]},
        "text": {"status": "generated",
                 "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>María José López Zelaya</p></div>"},
        "extension": [{"url": "http://hl7.org/fhir/StructureDefinition/patient-nationality",
                       "extension": [{"url": "code", "valueCodeableConcept": {
                           "coding": [{"system": "urn:iso:std:iso:3166", "code": "HN"}]}}]}],
        "identifier": [{"use": "official", "type": {"text": "DNI"}, "system": DNI, "value": "0801199012345"},
                       {"system": system, "value": "expediente-7731"}],
        "active": True,
        "name": [{"use": "official", "text": "María José López Zelaya", "family": "López Zelaya",
                  "given": ["María", "José"], "period": {"start": "1990-05-02"}}],
        "telecom": [{"system": "phone", "value": "+504 2232-1234", "use": "home", "rank": 1},
                    {"system": "email", "value": "maria.lopez@example.hn"}],
        "gender": "female",
        "birthDate": "1990-05-02",
        "deceasedBoolean": False,
        "address": [{"use": "home", "type": "physical", "line": ["Colonia Kennedy, bloque 12, casa 4"],
                     "city": "Tegucigalpa", "district": "Distrito Central", "state": "Francisco Morazán",
                     "country": "HN"}],
        "maritalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus",
                                      "code": "M", "display": "Married"}]},
        "multipleBirthInteger": 2,
        "contact": [{"relationship": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0131",
                                                   "code": "N"}]}],
                     "name": {"family": "Pérez", "given": ["Rosa"]},
                     "telecom": [{"system": "phone", "value": "+504 9988-7766"}], "gender": "female"}],
        "communication": [{"language": {"coding": [{"system": "urn:ietf:bcp:47", "code": "es-HN"}]},
                           "preferred": True}],
        "generalPractitioner": [{"reference": "Practitioner/medico-1", "display": "Dr. José Zelaya"}],
        "managingOrganization": {"identifier": {"system": "urn:ece-test:establecimientos", "value": "HE-001"},
                                 "display": "Hospital Escuela"},
    }


def test_every_element_of_a_rich_patient_is_kept(http):
    sent = rich_patient(unique_system())

    resource_id = post_raw(http, "Patient", json.dumps(sent, ensure_ascii=False).encode()).json()["id"]
    stored = exact(read_raw(http, "Patient", resource_id).content)

    assert without_server_fields(stored) == exact(json.dumps(sent))
    assert stored["meta"]["tag"] == sent["meta"]["tag"]


def test_every_element_of_a_rich_observation_is_kept(http):
    raw = (b'{"resourceType":"Observation","status":"final",'
           b'"category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category",'
           b'"code":"vital-signs"}]}],'
           b'"code":{"coding":[{"system":"http://loinc.org","code":"85354-9"}],"text":"Presi\xc3\xb3n arterial"},'
           b'"subject":{"reference":"Patient/hn-123","display":"Mar\xc3\xada P\xc3\xa9rez"},'
           b'"effectivePeriod":{"start":"2026-11-29T10:15:00-06:00","end":"2026-11-29T10:20:00.5-06:00"},'
           b'"performer":[{"display":"Enf. Rosa L\xc3\xb3pez"}],'
           b'"note":[{"text":"Tomada en brazo izquierdo, paciente sentada"}],'
           b'"component":['
           b'{"code":{"coding":[{"system":"http://loinc.org","code":"8480-6"}]},'
           b'"valueQuantity":{"value":120.0,"unit":"mmHg","system":"http://unitsofmeasure.org","code":"mm[Hg]"}},'
           b'{"code":{"coding":[{"system":"http://loinc.org","code":"8462-4"}]},'
           b'"valueQuantity":{"value":80.00,"unit":"mmHg","system":"http://unitsofmeasure.org","code":"mm[Hg]"}},'
           b'{"code":{"text":"Ritmo"},"valueString":"regular"},'
           b'{"code":{"text":"Sentada"},"valueBoolean":true},'
           b'{"code":{"text":"Serie"},"valueInteger":3}]}')

    resource_id = post_raw(http, "Observation", raw).json()["id"]
    stored = read_raw(http, "Observation", resource_id)

    assert without_server_fields(exact(stored.content)) == exact(raw)
    assert '"value":120.0' in stored.text and '"value":80.00' in stored.text


def test_update_keeps_what_was_sent_and_history_keeps_both_versions(http):
    sent = rich_patient(unique_system())
    resource_id = post_raw(http, "Patient", json.dumps(sent).encode()).json()["id"]
    changed = {**sent, "id": resource_id, "gender": "other", "birthDate": "1990-05"}

    response = http.put(f"/Patient/{resource_id}", content=json.dumps(changed).encode(), headers=FHIR_JSON)
    history = exact(http.get(f"/Patient/{resource_id}/_history").content)

    assert response.status_code == 200
    newest, oldest = (e["resource"] for e in history["entry"])
    assert without_server_fields(newest) == without_server_fields(exact(json.dumps(changed)))
    assert without_server_fields(oldest) == exact(json.dumps(sent))
