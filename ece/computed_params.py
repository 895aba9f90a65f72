"""Official R4 search parameters whose FHIRPath is not a navigation, evaluated by accessors written here.

The registry generator compiles every expression that is a plain navigation into path steps
(``ece.indexing``); the few left use functions (``exists()``, comparisons, an indexer, ``hasExtension()``),
so each gets a small accessor mirroring its expression. They answer the values to index, in the datatype
the parameter's type expects, keyed by the parameter's canonical URL.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

IS_SUBJECT = "http://hl7.org/fhir/StructureDefinition/questionnaireresponse-isSubject"


def patient_deceased(patient: dict) -> list[bool]:
    """``Patient.deceased.exists() and Patient.deceased != false``: always true or false, so every patient
    is indexed (``deceased=false`` finds the living, with or without the element). A deceasedDateTime
    differs from ``false``, so it counts as deceased."""
    if "deceasedDateTime" in patient:
        return [True]
    return [patient.get("deceasedBoolean") is True]


def _first_entry_resource(bundle: dict, resource_type: str) -> list[dict]:
    """``Bundle.entry[0].resource``, as a reference to it: the Composition of a document, the MessageHeader
    of a message (R4 bundle.html#document, #message). Only a resource of the parameter's target type with an
    id can be referred to."""
    entries = bundle.get("entry")
    if not isinstance(entries, list) or not entries or not isinstance(entries[0], dict):
        return []
    resource = entries[0].get("resource")
    if not isinstance(resource, dict) or resource.get("resourceType") != resource_type:
        return []
    resource_id = resource.get("id")
    return [{"reference": f"{resource_type}/{resource_id}"}] if isinstance(resource_id, str) and resource_id else []


def questionnaire_subject(response: dict) -> list[dict]:
    """``QuestionnaireResponse.item.where(hasExtension(isSubject)).answer.value.ofType(Reference)``: the
    answers that name what the response is about, in the top-level items flagged with the extension."""
    found = []
    for item in response.get("item") or ():
        if not isinstance(item, dict):
            continue
        flags = item.get("extension") or ()
        if not any(isinstance(e, dict) and e.get("url") == IS_SUBJECT for e in flags):
            continue
        found.extend(answer["valueReference"] for answer in item.get("answer") or ()
                     if isinstance(answer, dict) and isinstance(answer.get("valueReference"), dict))
    return found


COMPUTED: dict[str, Callable[[dict], list[Any]]] = {
    "http://hl7.org/fhir/SearchParameter/Patient-deceased": patient_deceased,
    "http://hl7.org/fhir/SearchParameter/Bundle-composition": lambda b: _first_entry_resource(b, "Composition"),
    "http://hl7.org/fhir/SearchParameter/Bundle-message": lambda b: _first_entry_resource(b, "MessageHeader"),
    "http://hl7.org/fhir/SearchParameter/questionnaireresponse-extensions-QuestionnaireResponse-item-subject":
        questionnaire_subject,
}
