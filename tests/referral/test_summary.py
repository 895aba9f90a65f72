"""The clinical summary document that travels with a referral (issue 7 §4; R4 documents.html)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from ece import fhirjson, reads
from ece.errors import NotFound, UnprocessableEntity
from fhir_profiles import systems as s
from referral import summary
from tests.referral.network import organization, put

AT = datetime(2026, 11, 29, 15, 0, tzinfo=UTC)
PATIENT = "Patient/ana"
OTHER = "Patient/otro"


def coded(system: str, code: str, display: str) -> dict:
    return {"coding": [{"system": system, "code": code, "display": display}]}


def status_of(kind: str, code: str) -> dict:
    return {"coding": [{"system": f"http://terminology.hl7.org/CodeSystem/{kind}", "code": code}]}


def observation(id: str, *, category: str, loinc: str, display: str, when: str, value: str, unit: str,
                patient: str = PATIENT, status: str = "final") -> dict:
    return {"resourceType": "Observation", "id": id, "status": status,
            "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                      "code": category}]}],
            "code": coded(s.LOINC, loinc, display), "subject": {"reference": patient}, "effectiveDateTime": when,
            "valueQuantity": {"value": Decimal(value), "unit": unit, "system": s.UCUM, "code": unit}}


def condition(id: str, *, code: str, display: str, clinical: str, onset: str, verification: str = "confirmed",
              patient: str = PATIENT) -> dict:
    return {"resourceType": "Condition", "id": id, "clinicalStatus": status_of("condition-clinical", clinical),
            "verificationStatus": status_of("condition-ver-status", verification),
            "code": coded(s.ICD10, code, display), "subject": {"reference": patient}, "onsetDateTime": onset}


async def record(tx) -> None:
    """Ana's record at the UAPS: what belongs in her summary and what does not."""
    await put(tx, organization("uaps-origen", name="UAPS Villa de San Francisco", kind="UAPS", region="08"))
    await put(tx, {"resourceType": "Practitioner", "id": "med-1", "name": [{"family": "Zelaya", "given": ["Rosa"]}]})
    await put(tx, {"resourceType": "PractitionerRole", "id": "rol-1", "active": True,
                   "practitioner": {"reference": "Practitioner/med-1"},
                   "organization": {"reference": "Organization/uaps-origen"}})
    for id in ("ana", "otro"):
        await put(tx, {"resourceType": "Patient", "id": id, "name": [{"family": "Mejía", "given": ["Ana"]}],
                       "gender": "female", "birthDate": "1988-03-14"})
    await put(tx, condition("hta", code="I10", display="Essential (primary) hypertension", clinical="active",
                            onset="2025-01-10"))
    await put(tx, condition("diarrea", code="A09", display="Gastroenteritis", clinical="resolved", onset="2026-10-01"))
    await put(tx, condition("error", code="E11", display="Type 2 diabetes", clinical="active", onset="2026-02-01",
                            verification="entered-in-error"))
    await put(tx, condition("ajeno", code="J45", display="Asthma", clinical="active", onset="2026-02-01",
                            patient=OTHER))
    await put(tx, {"resourceType": "Medication", "id": "metformina", "code": coded(s.SNOMED, "109081006",
                                                                                     "Metformin")})
    await put(tx, {"resourceType": "MedicationRequest", "id": "enalapril", "status": "active", "intent": "order",
                   "medicationCodeableConcept": {"text": "Enalapril 10 mg"}, "subject": {"reference": PATIENT},
                   "authoredOn": "2026-06-01", "dosageInstruction": [{"text": "1 tableta cada 12 horas"}]})
    await put(tx, {"resourceType": "MedicationRequest", "id": "metformina-rx", "status": "active", "intent": "order",
                   "medicationReference": {"reference": "Medication/metformina"}, "subject": {"reference": PATIENT},
                   "authoredOn": "2026-07-01"})
    await put(tx, {"resourceType": "MedicationRequest", "id": "amoxicilina", "status": "stopped", "intent": "order",
                   "medicationCodeableConcept": {"text": "Amoxicilina"}, "subject": {"reference": PATIENT},
                   "authoredOn": "2026-03-01"})
    await put(tx, {"resourceType": "AllergyIntolerance", "id": "penicilina",
                   "clinicalStatus": status_of("allergyintolerance-clinical", "active"),
                   "code": {"text": "Penicilina"}, "patient": {"reference": PATIENT}, "criticality": "high",
                   "reaction": [{"manifestation": [{"text": "Urticaria"}]}]})
    await put(tx, {"resourceType": "AllergyIntolerance", "id": "mariscos",
                   "clinicalStatus": status_of("allergyintolerance-clinical", "resolved"),
                   "code": {"text": "Mariscos"}, "patient": {"reference": PATIENT}})
    for id, when, value in (("fc-vieja", "2026-01-05T10:00:00-06:00", "88"), ("fc-nueva", "2026-11-20T09:00:00-06:00",
                                                                              "76")):
        await put(tx, observation(id, category="vital-signs", loinc="8867-4", display="Heart rate", when=when,
                                  value=value, unit="/min"))
    await put(tx, observation("peso", category="vital-signs", loinc="29463-7", display="Body weight",
                              when="2026-11-20T09:00:00-06:00", value="61.5", unit="kg"))
    await put(tx, observation("hb-reciente", category="laboratory", loinc="718-7", display="Hemoglobin",
                              when="2026-10-01T08:00:00-06:00", value="11.2", unit="g/dL"))
    await put(tx, observation("hb-antigua", category="laboratory", loinc="718-7", display="Hemoglobin",
                              when="2025-12-01T08:00:00-06:00", value="12.9", unit="g/dL"))
    await put(tx, {"resourceType": "DiagnosticReport", "id": "ego", "status": "final", "code": {"text": "Examen "
                   "general de orina"}, "subject": {"reference": PATIENT}, "effectiveDateTime": "2026-09-15",
                   "conclusion": "Sin hallazgos"})
    await put(tx, {"resourceType": "ImagingStudy", "id": "usg", "status": "available",
                   "subject": {"reference": PATIENT}, "started": "2026-08-01T10:00:00-06:00",
                   "description": "Ultrasonido abdominal"})
    await put(tx, {"resourceType": "ImagingStudy", "id": "rx-antigua", "status": "available",
                   "subject": {"reference": PATIENT}, "started": "2026-01-01T10:00:00-06:00",
                   "description": "Radiografía de tórax"})
    await put(tx, {"resourceType": "Immunization", "id": "td", "status": "completed",
                   "vaccineCode": coded(s.CVX, "09", "Td (adult)"), "patient": {"reference": PATIENT},
                   "occurrenceDateTime": "2020-05-04"})
    await put(tx, {"resourceType": "Immunization", "id": "hepb-no", "status": "not-done",
                   "vaccineCode": coded(s.CVX, "08", "Hep B"), "patient": {"reference": PATIENT},
                   "occurrenceDateTime": "2026-05-04"})


async def compiled(tx, **options) -> dict:
    result = await summary.compile_summary(tx, patient=PATIENT, requester="PractitionerRole/rol-1", at=AT, **options)
    assert result.status == 201 and result.resource_type == "Bundle"
    stored = await reads.read(tx.conn, resource_type="Bundle", resource_id=result.id)
    return fhirjson.loads(stored.content)


def by_section(document: dict) -> dict[str, list[str]]:
    """Section LOINC code -> ids of the resources its entries point to."""
    ids = {e["fullUrl"]: f"{e['resource']['resourceType']}/{e['resource']['id']}" for e in document["entry"]}
    composition = document["entry"][0]["resource"]
    return {sec["code"]["coding"][0]["code"]: [ids[ref["reference"]] for ref in sec.get("entry", ())]
            for sec in composition["section"]}


async def test_summary_is_a_stored_document_bundle_led_by_its_composition(tx):
    await record(tx)
    document = await compiled(tx)
    assert document["type"] == "document"
    assert document["identifier"]["value"].startswith("urn:uuid:")
    assert document["timestamp"] == "2026-11-29T15:00:00.000Z"
    composition = document["entry"][0]["resource"]
    assert composition["resourceType"] == "Composition" and composition["status"] == "final"
    assert composition["type"]["coding"][0]["code"] == "60591-5"
    assert [sec["code"]["coding"][0]["code"] for sec in composition["section"]] == [
        "11450-4", "10160-0", "48765-2", "8716-3", "30954-2", "18748-4", "11369-6"]


async def test_summary_holds_what_is_current_and_leaves_out_what_is_not(tx):
    await record(tx)
    sections = by_section(await compiled(tx))
    assert sections["11450-4"] == ["Condition/hta"]
    assert sorted(sections["10160-0"]) == ["MedicationRequest/enalapril", "MedicationRequest/metformina-rx"]
    assert sections["48765-2"] == ["AllergyIntolerance/penicilina"]
    assert sorted(sections["8716-3"]) == ["Observation/fc-nueva", "Observation/peso"]  # latest of each sign
    assert sections["30954-2"] == ["Observation/hb-reciente", "DiagnosticReport/ego"]
    assert sections["18748-4"] == ["ImagingStudy/usg"]
    assert sections["11369-6"] == ["Immunization/td"]


async def test_a_longer_period_brings_older_results_and_studies(tx):
    await record(tx)
    sections = by_section(await compiled(tx, since_months=12))
    assert "Observation/hb-antigua" in sections["30954-2"]
    assert "ImagingStudy/rx-antigua" in sections["18748-4"]


async def test_the_document_resolves_every_reference_it_needs_inside_itself(tx):
    await record(tx)
    document = await compiled(tx)
    urls = {e["fullUrl"]: e["resource"] for e in document["entry"]}
    assert len(urls) == len(document["entry"])
    composition = document["entry"][0]["resource"]
    assert urls[composition["subject"]["reference"]]["id"] == "ana"
    assert urls[composition["author"][0]["reference"]]["resourceType"] == "PractitionerRole"
    assert urls[composition["custodian"]["reference"]]["id"] == "uaps-origen"
    role = urls[composition["author"][0]["reference"]]
    assert urls[role["practitioner"]["reference"]]["id"] == "med-1"
    prescription = next(r for r in urls.values() if r.get("id") == "metformina-rx")
    assert urls[prescription["medicationReference"]["reference"]]["resourceType"] == "Medication"
    hypertension = next(r for r in urls.values() if r.get("id") == "hta")
    assert hypertension["subject"]["reference"] == composition["subject"]["reference"]
    assert hypertension["meta"]["versionId"] == "1"  # the copy names the version it was read from


async def test_sections_are_readable_and_empty_ones_say_why(tx):
    await record(tx)
    await put(tx, {"resourceType": "Patient", "id": "sin-datos", "gender": "male", "birthDate": "2001-01-01"})
    result = await summary.compile_summary(tx, patient="Patient/sin-datos", requester="Organization/uaps-origen",
                                           at=AT)
    document = fhirjson.loads((await reads.read(tx.conn, resource_type="Bundle", resource_id=result.id)).content)
    sections = document["entry"][0]["resource"]["section"]
    assert all(sec["emptyReason"]["coding"][0]["code"] == "nilknown" and "entry" not in sec for sec in sections)
    assert all(sec["text"]["div"].startswith('<div xmlns="http://www.w3.org/1999/xhtml">') for sec in sections)
    ana = (await compiled(tx))["entry"][0]["resource"]["section"]
    assert "Penicilina: Urticaria (criticidad / criticality: high)" in ana[2]["text"]["div"]
    assert "Heart rate: 76 /min (2026-11-20)" in ana[3]["text"]["div"]


async def test_a_long_section_keeps_the_newest_and_says_how_many_were_left_out(tx, monkeypatch):
    await record(tx)
    for year in (2021, 2022, 2023):
        await put(tx, {"resourceType": "Immunization", "id": f"influenza-{year}", "status": "completed",
                       "vaccineCode": coded(s.CVX, "141", "Influenza"), "patient": {"reference": PATIENT},
                       "occurrenceDateTime": f"{year}-10-01"})
    monkeypatch.setattr(summary, "MAX_ENTRIES_PER_SECTION", 2)
    document = await compiled(tx)
    assert by_section(document)["11369-6"] == ["Immunization/influenza-2023", "Immunization/influenza-2022"]
    assert "2 más no incluidos" in document["entry"][0]["resource"]["section"][6]["text"]["div"]


async def test_summary_of_an_unknown_patient_answers_404(tx):
    await record(tx)
    with pytest.raises(NotFound):
        await summary.compile_summary(tx, patient="Patient/nadie", requester="Organization/uaps-origen", at=AT)


async def test_a_requester_that_is_not_a_facility_or_role_is_refused(tx):
    await record(tx)
    with pytest.raises(UnprocessableEntity):
        await summary.compile_summary(tx, patient=PATIENT, requester="Practitioner/med-1", at=AT)


def test_months_before_keeps_the_day_or_takes_the_last_of_a_shorter_month():
    assert summary.months_before(datetime(2026, 11, 29, tzinfo=UTC), 6) == datetime(2026, 5, 29, tzinfo=UTC)
    assert summary.months_before(datetime(2026, 8, 31, tzinfo=UTC), 6) == datetime(2026, 2, 28, tzinfo=UTC)
    assert summary.months_before(datetime(2026, 1, 15, tzinfo=UTC), 13) == datetime(2024, 12, 15, tzinfo=UTC)
