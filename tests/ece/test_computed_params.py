"""R4 search parameters whose expression is not a navigation (ece.computed_params), and the extension ones the
generator now compiles: extracted as their FHIRPath says, and searchable through the store."""

from __future__ import annotations

from ece import search
from ece.computed_params import COMPUTED, IS_SUBJECT, patient_deceased, questionnaire_subject
from ece.indexing import extract, indexed_param, indexed_params
from tests.ece.search.helpers import found, make, unique_system

MAIDEN_NAME = "http://hl7.org/fhir/StructureDefinition/patient-mothersMaidenName"


def test_a_patient_without_deceased_is_indexed_as_not_deceased():
    assert patient_deceased({"resourceType": "Patient"}) == [False]
    assert patient_deceased({"resourceType": "Patient", "deceasedBoolean": False}) == [False]


def test_a_date_of_death_or_deceased_true_is_indexed_as_deceased():
    assert patient_deceased({"resourceType": "Patient", "deceasedBoolean": True}) == [True]
    assert patient_deceased({"resourceType": "Patient", "deceasedDateTime": "2026-03-01"}) == [True]


def test_only_answers_of_items_flagged_as_subject_are_the_item_subject():
    response = {"resourceType": "QuestionnaireResponse", "status": "completed", "item": [
        {"linkId": "1", "extension": [{"url": IS_SUBJECT, "valueBoolean": True}],
         "answer": [{"valueReference": {"reference": "Patient/p-1"}}, {"valueString": "no es referencia"}]},
        {"linkId": "2", "answer": [{"valueReference": {"reference": "Patient/p-2"}}]},
    ]}
    assert questionnaire_subject(response) == [{"reference": "Patient/p-1"}]


def test_a_document_bundle_is_indexed_by_its_first_entry_composition_only():
    document = {"resourceType": "Bundle", "type": "document", "entry": [
        {"resource": {"resourceType": "Composition", "id": "c-1"}},
        {"resource": {"resourceType": "Composition", "id": "c-2"}}]}
    assert [r for r in extract("Bundle", document).reference if r[0] == "composition"] == [
        ("composition", "Composition", "c-1", None, None, None)]
    message = {"resourceType": "Bundle", "type": "message", "entry": [
        {"resource": {"resourceType": "MessageHeader", "id": "m-1"}}]}
    rows = extract("Bundle", message).reference
    assert ("message", "MessageHeader", "m-1", None, None, None) in rows
    assert not [r for r in rows if r[0] == "composition"]


async def test_deceased_search_separates_the_living_from_the_dead(tx):
    system = unique_system()
    living = await make(tx, {"resourceType": "Patient", "identifier": [{"system": system, "value": "1"}]})
    said_alive = await make(tx, {"resourceType": "Patient", "identifier": [{"system": system, "value": "2"}],
                                 "deceasedBoolean": False})
    died = await make(tx, {"resourceType": "Patient", "identifier": [{"system": system, "value": "3"}],
                           "deceasedDateTime": "2026-03-01T10:00:00-06:00"})
    assert await found(tx, "Patient", system, ("deceased", "true")) == {died}
    assert await found(tx, "Patient", system, ("deceased", "false")) == {living, said_alive}


async def test_mothers_maiden_name_is_found_by_the_published_extension_accent_free(tx):
    system = unique_system()
    daughter = await make(tx, {"resourceType": "Patient", "identifier": [{"system": system, "value": "1"}],
                               "extension": [{"url": MAIDEN_NAME, "valueString": "Núñez"}]})
    await make(tx, {"resourceType": "Patient", "identifier": [{"system": system, "value": "2"}]})
    assert await found(tx, "Patient", system, ("mothersMaidenName", "nunez")) == {daughter}


def test_every_accessor_serves_an_official_parameter():
    served = {param.compute for resource_type in ("Patient", "Bundle", "QuestionnaireResponse")
              for param in indexed_params(resource_type) if param.compute is not None}
    assert served == set(COMPUTED.values())
    assert indexed_param("QuestionnaireResponse", "item-subject").compute is questionnaire_subject


async def test_item_subject_search_finds_the_response_about_the_patient(tx):
    patient = await make(tx, {"resourceType": "Patient", "name": [{"family": "Zelaya"}]})
    response = await make(tx, {
        "resourceType": "QuestionnaireResponse", "status": "completed", "item": [
            {"linkId": "1", "extension": [{"url": IS_SUBJECT, "valueBoolean": True}],
             "answer": [{"valueReference": {"reference": f"Patient/{patient}"}}]}]})
    page = await search.search(tx.conn, resource_types=["QuestionnaireResponse"],
                               pairs=[("item-subject", f"Patient/{patient}")])
    assert [i for _t, i, _c in page.matches] == [response]
