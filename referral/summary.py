"""The clinical summary that travels with a referral (issue 7 §4): a FHIR document (R4 documents.html).

A document is a Bundle of type ``document`` whose first entry is a Composition; the Bundle carries an
identifier and a timestamp (bdl-9, bdl-10), and every resource the Composition refers to (subject, author,
custodian, section entries) is inside it. The Bundle is stored whole through ``ece.store`` (the single write path)
and the referral links it from ``ServiceRequest.supportingInfo``: it is the record as the referring clinician saw
it when the patient was sent, not a live view.

Entries get ``urn:uuid:`` fullUrls and references between included resources are rewritten to them, so the
document resolves on its own wherever it travels (R4 bundle.html#references); each copy keeps its id and
``meta.versionId``, which name the version read from this server.

Sections follow the International Patient Summary's LOINC section codes: active problems, medications,
allergies, latest vital signs, results and imaging studies of the last ``since_months`` months, immunizations.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from ece import fhirjson, store
from ece.errors import Issue, UnprocessableEntity
from ece.references import local_reference
from ece.store import WriteResult
from ece.tx import Transaction
from fhir_profiles import systems
from referral import directory
from referral.summary_narrative import clinical_date, composition_text, section_text

MAX_ENTRIES_PER_SECTION = 100
SUMMARY_DOCUMENT_TYPE = {"system": systems.LOINC, "code": "60591-5", "display": "Patient summary Document"}
EMPTY_REASON_SYSTEM = "http://terminology.hl7.org/CodeSystem/list-empty-reason"
# Statuses that say a record is wrong or void; such resources never go into a summary.
VOID_STATUSES = frozenset({"entered-in-error", "cancelled", "refuted", "not-done", "stopped", "revoked"})
RESULT_STATUSES = "registered,preliminary,final,amended,corrected,appended"


@dataclass(frozen=True)
class Section:
    key: str
    title: str  # "Spanish / English"
    loinc: str
    loinc_display: str


PROBLEMS = Section("problemas", "Problemas activos / Active problems", "11450-4", "Problem list - Reported")
MEDICATIONS = Section("medicacion", "Medicación / Medications", "10160-0", "History of Medication use Narrative")
ALLERGIES = Section("alergias", "Alergias e intolerancias / Allergies and intolerances", "48765-2",
                    "Allergies and adverse reactions Document")
VITAL_SIGNS = Section("signos-vitales", "Signos vitales más recientes / Latest vital signs", "8716-3",
                      "Vital signs")
RESULTS = Section("resultados", "Resultados de laboratorio e informes / Laboratory results and reports", "30954-2",
                  "Relevant diagnostic tests/laboratory data Narrative")
IMAGING = Section("imagenes", "Estudios de imagen / Imaging studies", "18748-4", "Diagnostic imaging study")
IMMUNIZATIONS = Section("vacunas", "Vacunas / Immunizations", "11369-6", "History of Immunization Narrative")
SECTIONS = (PROBLEMS, MEDICATIONS, ALLERGIES, VITAL_SIGNS, RESULTS, IMAGING, IMMUNIZATIONS)


def months_before(moment: datetime, months: int) -> datetime:
    """The same day and time ``months`` calendar months earlier (the last day when that month is shorter)."""
    index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(index, 12)
    month += 1
    for day in range(moment.day, 27, -1):
        try:
            return moment.replace(year=year, month=month, day=day)
        except ValueError:
            continue
    return moment.replace(year=year, month=month, day=min(moment.day, 28))


async def compile_summary(tx: Transaction, *, patient: str, requester: str, since_months: int = 6,
                          at: datetime | None = None) -> WriteResult:
    """Compile and store the patient's summary document; ``requester`` (the referring PractitionerRole or
    Organization) is its author, the requester's facility its custodian. ``at`` is the moment of compilation
    (now by default)."""
    if not 1 <= since_months <= 120:
        raise UnprocessableEntity([Issue("invalid", "since_months debe estar entre 1 y 120 / must be between 1 and "
                                                    "120", ("since_months",))])
    moment = at or store.now()
    since = months_before(moment, since_months)
    subject = await directory.read_resource(tx, patient, expected="Patient")
    author = await directory.read_resource(tx, requester)
    custodian_ref = await directory.origin_facility(tx, requester=requester)
    people = [subject, author]
    if custodian_ref != requester:
        people.append(await directory.read_resource(tx, custodian_ref, expected="Organization"))
    practitioner = _local((author.get("practitioner") or {}).get("reference"))
    if author["resourceType"] == "PractitionerRole" and practitioner:
        people.append(await directory.read_resource(tx, practitioner, expected="Practitioner"))
    patient_ref = f"Patient/{subject['id']}"
    found = {section.key: await _gather(tx, section, patient_ref, since) for section in SECTIONS}
    medications = await _referenced_medications(tx, found[MEDICATIONS.key])
    included = [*people, *(r for key in found for r in found[key][0]), *medications]
    urns = {f"{r['resourceType']}/{r['id']}": f"urn:uuid:{uuid.uuid4()}" for r in included}
    composition = _composition(subject, requester, custodian_ref, found, urns, moment=moment, since=since)
    composition_urn = f"urn:uuid:{uuid.uuid4()}"
    entries = [{"fullUrl": composition_urn, "resource": _rewrite(composition, urns)}]
    entries += [{"fullUrl": urns[f"{r['resourceType']}/{r['id']}"], "resource": _rewrite(r, urns)} for r in included]
    document = {"resourceType": "Bundle",
                "identifier": {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{uuid.uuid4()}"},
                "type": "document", "timestamp": fhirjson.instant(moment), "entry": entries}
    return await store.create(tx, data=document, expected_type="Bundle")


def _local(reference: str | None) -> str | None:
    key = local_reference(reference) if reference else None
    return f"{key[0]}/{key[1]}" if key else None


async def _gather(tx: Transaction, section: Section, patient: str, since: datetime) -> tuple[list[dict], int]:
    """The resources of a section, newest first, at most ``MAX_ENTRIES_PER_SECTION``, and how many there were."""
    day = since.date().isoformat()
    plans: dict[str, list[tuple[str, list[tuple[str, str]], Callable[[dict], bool]]]] = {
        PROBLEMS.key: [("Condition", [("patient", patient), ("clinical-status", "active,recurrence,relapse")],
                        _not_void)],
        MEDICATIONS.key: [("MedicationRequest", [("patient", patient), ("status", "active,on-hold")], _not_void),
                          ("MedicationStatement", [("patient", patient), ("status", "active,intended")], _not_void)],
        ALLERGIES.key: [("AllergyIntolerance", [("patient", patient)], _current_allergy)],
        VITAL_SIGNS.key: [("Observation", [("patient", patient), ("category", "vital-signs"),
                                           ("status", RESULT_STATUSES)], _not_void)],
        RESULTS.key: [("Observation", [("patient", patient), ("category", "laboratory"), ("date", f"ge{day}"),
                                       ("status", RESULT_STATUSES)], _not_void),
                      ("DiagnosticReport", [("patient", patient), ("date", f"ge{day}")], _not_void)],
        IMAGING.key: [("ImagingStudy", [("patient", patient), ("started", f"ge{day}")], _not_void)],
        IMMUNIZATIONS.key: [("Immunization", [("patient", patient), ("status", "completed")], _not_void)],
    }
    found: list[dict] = []
    for resource_type, pairs, keep in plans[section.key]:
        found += [r async for r in directory.search_all(tx, resource_type, pairs) if keep(r)]
    found.sort(key=lambda r: (clinical_date(r), r["resourceType"], r["id"]), reverse=True)
    if section is VITAL_SIGNS:
        found = _latest_per_code(found)
    return found[:MAX_ENTRIES_PER_SECTION], len(found)


def _not_void(resource: dict) -> bool:
    codes = {resource.get("status")}
    codes.update(c.get("code") for c in (resource.get("verificationStatus") or {}).get("coding") or ())
    return not (codes & VOID_STATUSES)


def _current_allergy(resource: dict) -> bool:
    clinical = {c.get("code") for c in (resource.get("clinicalStatus") or {}).get("coding") or ()}
    return _not_void(resource) and not clinical & {"inactive", "resolved"}


def _latest_per_code(observations: list[dict]) -> list[dict]:
    """The most recent observation of each vital sign (by its first coding), the list already newest first."""
    seen: set[tuple[str | None, str | None]] = set()
    latest = []
    for observation in observations:
        coding = ((observation.get("code") or {}).get("coding") or [{}])[0]
        key = (coding.get("system"), coding.get("code"))
        if key not in seen:
            seen.add(key)
            latest.append(observation)
    return latest


async def _referenced_medications(tx: Transaction, found: tuple[list[dict], int]) -> list[dict]:
    """Medication resources the prescriptions point to, so the document names the drug on its own."""
    references = sorted({ref for r in found[0] if (ref := _local((r.get("medicationReference") or {})
                                                              .get("reference"))) and ref.startswith("Medication/")})
    return [await directory.read_resource(tx, ref, expected="Medication") for ref in references]


def _composition(subject: dict, requester: str, custodian: str, found: dict[str, tuple[list[dict], int]],
                 urns: dict[str, str], *, moment: datetime, since: datetime) -> dict:
    sections = []
    for section in SECTIONS:
        resources, total = found[section.key]
        entry: dict = {"title": section.title,
                       "code": {"coding": [{"system": systems.LOINC, "code": section.loinc,
                                            "display": section.loinc_display}]},
                       "text": {"status": "generated", "div": section_text(section.key, resources, total)}}
        if resources:
            entry["entry"] = [{"reference": urns[f"{r['resourceType']}/{r['id']}"]} for r in resources]
        else:  # R4 composition.html cmp-2: an empty section says why
            entry["emptyReason"] = {"coding": [{"system": EMPTY_REASON_SYSTEM, "code": "nilknown",
                                                "display": "Nil Known"}]}
        sections.append(entry)
    return {
        "resourceType": "Composition",
        "id": str(uuid.uuid4()),
        "text": {"status": "generated", "div": composition_text(subject, moment, since)},
        "status": "final",
        "type": {"coding": [SUMMARY_DOCUMENT_TYPE]},
        "subject": {"reference": f"Patient/{subject['id']}"},
        "date": fhirjson.instant(moment),
        "author": [{"reference": requester}],
        "title": "Resumen clínico para la referencia / Clinical summary for the referral",
        "custodian": {"reference": custodian},
        "event": [{"period": {"start": fhirjson.instant(since), "end": fhirjson.instant(moment)}}],
        "section": sections,
    }


def _rewrite(value: object, urns: dict[str, str]) -> object:
    """A copy of ``value`` whose references to included resources name their entries' urn:uuid fullUrls."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key == "reference" and isinstance(item, str) and (local := _local(item)) in urns:
                out[key] = urns[local]
            else:
                out[key] = _rewrite(item, urns)
        return out
    if isinstance(value, list):
        return [_rewrite(item, urns) for item in value]
    return value
