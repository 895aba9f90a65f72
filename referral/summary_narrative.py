"""The human-readable narrative of the clinical summary (R4 narrative.html): what a receiving clinician reads
first, in Spanish. Only the XHTML the store accepts (txt-1), every value escaped."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from html import escape

XHTML_OPEN = '<div xmlns="http://www.w3.org/1999/xhtml">'
NOTHING_RECORDED = {
    "problemas": "Sin problemas activos registrados / no active problems recorded",
    "medicacion": "Sin medicación activa registrada / no active medications recorded",
    "alergias": "Sin alergias registradas / no allergies recorded",
    "signos-vitales": "Sin signos vitales registrados / no vital signs recorded",
    "resultados": "Sin resultados en el periodo / no results in the period",
    "imagenes": "Sin estudios de imagen en el periodo / no imaging studies in the period",
    "vacunas": "Sin vacunas registradas / no immunizations recorded",
}


def concept_text(concept: dict | None) -> str:
    if not concept:
        return ""
    if concept.get("text"):
        return str(concept["text"])
    for coding in concept.get("coding") or ():
        if coding.get("display") or coding.get("code"):
            return str(coding.get("display") or coding.get("code"))
    return ""


def _quantity(quantity: dict | None) -> str:
    if not quantity or quantity.get("value") is None:
        return ""
    value = quantity["value"]
    number = value.literal if hasattr(value, "literal") else str(Decimal(str(value)))
    return f"{number} {quantity.get('unit') or quantity.get('code') or ''}".strip()


def _value(observation: dict) -> str:
    if "valueQuantity" in observation:
        return _quantity(observation["valueQuantity"])
    if "valueCodeableConcept" in observation:
        return concept_text(observation["valueCodeableConcept"])
    for name in ("valueString", "valueBoolean", "valueInteger", "valueDateTime"):
        if name in observation:
            return str(observation[name])
    parts = [f"{concept_text(c.get('code'))} {_value(c)}".strip() for c in observation.get("component") or ()]
    return "; ".join(p for p in parts if p)


def clinical_date(resource: dict) -> str:
    """The date that orders a resource in the summary (ISO text sorts in time order at equal precision)."""
    for name in ("effectiveDateTime", "occurrenceDateTime", "onsetDateTime", "recordedDate", "recorded",
                 "authoredOn", "dateAsserted", "started", "issued", "date"):
        if isinstance(resource.get(name), str):
            return resource[name]
    for name in ("effectivePeriod", "onsetPeriod"):
        if isinstance((resource.get(name) or {}).get("start"), str):
            return resource[name]["start"]
    return ""


def describe(resource: dict) -> str:
    """One line about a resource: what, value or detail, and when."""
    kind = resource["resourceType"]
    if kind in ("MedicationRequest", "MedicationStatement"):
        what = concept_text(resource.get("medicationCodeableConcept")) or \
            (resource.get("medicationReference") or {}).get("display") or "medicamento / medication"
        dosage = "; ".join(d.get("text", "") for d in resource.get("dosageInstruction") or resource.get("dosage") or ()
                           if d.get("text"))
        detail = dosage
    elif kind == "Immunization":
        what, detail = concept_text(resource.get("vaccineCode")), ""
    elif kind == "AllergyIntolerance":
        what = concept_text(resource.get("code"))
        detail = ", ".join(concept_text(m) for reaction in resource.get("reaction") or ()
                           for m in reaction.get("manifestation") or ())
        if resource.get("criticality"):
            detail = f"{detail} (criticidad / criticality: {resource['criticality']})".strip()
    elif kind == "DiagnosticReport":
        what, detail = concept_text(resource.get("code")), resource.get("conclusion", "")
    elif kind == "ImagingStudy":
        what = resource.get("description") or ", ".join(concept_text(p) for p in resource.get("procedureCode") or ())
        detail = ""
    elif kind == "Observation":
        what, detail = concept_text(resource.get("code")), _value(resource)
    else:
        what, detail = concept_text(resource.get("code")), ""
    when = clinical_date(resource)[:10]
    line = what or kind
    if detail:
        line += f": {detail}"
    return f"{line} ({when})" if when else line


def section_text(key: str, resources: list[dict], total: int) -> str:
    if not resources:
        return f"{XHTML_OPEN}<p>{escape(NOTHING_RECORDED[key])}</p></div>"
    items = "".join(f"<li>{escape(describe(r))}</li>" for r in resources)
    more = ""
    if total > len(resources):
        more = (f"<p>{total - len(resources)} más no incluidos (los más antiguos) / {total - len(resources)} older "
                "ones not included</p>")
    return f"{XHTML_OPEN}<ul>{items}</ul>{more}</div>"


def composition_text(patient: dict, moment: datetime, since: datetime) -> str:
    name = next(iter(patient.get("name") or ()), {})
    full = " ".join([*name.get("given", ()), name.get("family", "")]).strip() or f"Patient/{patient['id']}"
    return (f"{XHTML_OPEN}<p><b>Resumen clínico para la referencia / Clinical summary for the referral</b></p>"
            f"<p>{escape(full)}; compilado / compiled {moment.date().isoformat()}; resultados desde / results since "
            f"{since.date().isoformat()}</p></div>")
