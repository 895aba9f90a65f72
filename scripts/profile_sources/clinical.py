"""Clinical profiles: Encounter, Condition (CIE-10), vital signs, AllergyIntolerance, MedicationRequest,
Immunization and DiagnosticReport (R4 profiling.html; vital signs after R4 observation-vitalsigns.html)."""

from __future__ import annotations

from fhir_profiles import systems as s

from .dsl import bind, el, inv, profile, ref, sliced
from .terminology import VITAL_SIGNS

ENCOUNTER = profile("hn-atencion", "Encounter", "Atención (Honduras)", "Consulta, emergencia u hospitalización "
                    "en un establecimiento. / An encounter at a facility.", [
    el("Encounter.subject", min=1, type=ref("hn-paciente")),
    el("Encounter.serviceProvider", min=1, type=ref("hn-establecimiento")),
    el("Encounter.period", min=1),
    el("Encounter.period.start", min=1),
    el("Encounter.participant.individual", type=ref("hn-profesional", "hn-rol-profesional")),
    el("Encounter.diagnosis.condition", type=ref("hn-diagnostico")),
])

CONDITION = profile("hn-diagnostico", "Condition", "Diagnóstico CIE-10 (Honduras)", "Diagnóstico codificado con "
                    "la CIE-10 de la OMS. / A diagnosis coded in WHO ICD-10.", [
    el("Condition.clinicalStatus", min=1),
    el("Condition.code", min=1),
    sliced("Condition.code.coding", ("value", "system"), min=1),
    el("Condition.code.coding:cie10", min=1, max="1", binding=bind("cie-10")),
    el("Condition.code.coding:cie10.system", min=1, fixedUri=s.ICD10),
    el("Condition.code.coding:cie10.code", min=1),
    el("Condition.subject", min=1, type=ref("hn-paciente")),
    el("Condition.encounter", type=ref("hn-atencion")),
    el("Condition.recordedDate", min=1),
])

_VITALS_CATEGORY = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                "code": "vital-signs"}]}

VITAL_SIGN = profile("hn-signo-vital", "Observation", "Signo vital (Honduras)", "Signo vital con código LOINC y "
                     "unidad UCUM. / A vital sign coded in LOINC with a UCUM unit.", [
    el("Observation", constraint=[inv(
        "hn-sv-1", "Un signo vital tiene un valor, componentes o la razón de su ausencia / a vital sign has a value, "
        "components or a data-absent reason",
        "value.exists() or component.exists() or dataAbsentReason.exists()")]),
    sliced("Observation.category", ("pattern", "$this"), min=1),
    el("Observation.category:signosVitales", min=1, max="1", patternCodeableConcept=_VITALS_CATEGORY),
    el("Observation.code", binding=bind("signos-vitales", "extensible")),
    el("Observation.subject", min=1, type=ref("hn-paciente")),
    el("Observation.encounter", type=ref("hn-atencion")),
    el("Observation.effective[x]", min=1, type=[{"code": "dateTime"}, {"code": "Period"}]),
    el("Observation.value[x]", type=[{"code": "Quantity"}]),
    el("Observation.component.value[x]", type=[{"code": "Quantity"}]),
])

# (profile id, LOINC code, title, value invariant or None)
_SIGNS = {
    "8867-4": ("hn-frecuencia-cardiaca", None),
    "9279-1": ("hn-frecuencia-respiratoria", None),
    "8310-5": ("hn-temperatura", "value.ofType(Quantity).value >= 25 and value.ofType(Quantity).value <= 45"),
    "59408-5": ("hn-saturacion-oxigeno", "value.ofType(Quantity).value <= 100"),
    "29463-7": ("hn-peso", None),
    "8302-2": ("hn-talla", None),
    "9269-2": ("hn-glasgow", "value.ofType(Quantity).value >= 3 and value.ofType(Quantity).value <= 15"),
    "55283-6": ("hn-frecuencia-cardiaca-fetal", None),
}


def _sign(code: str, spanish: str, english: str, unit: str) -> dict:
    pid, value_rule = _SIGNS[code]
    elements = [el("Observation.code", patternCodeableConcept={"coding": [{"system": s.LOINC, "code": code}]}),
                el("Observation.value[x]", patternQuantity={"system": s.UCUM, "code": unit},
                   short=f"{spanish} en {unit} / {english} in {unit}")]
    if value_rule:
        elements.insert(0, el("Observation", constraint=[inv(
            f"{pid}-1", f"{spanish}: valor fuera del rango posible / {english}: value outside the possible range",
            f"value.exists() implies ({value_rule})")]))
    return profile(pid, "Observation", f"{spanish} (Honduras)", f"{spanish} en {unit}. / {english} in {unit}.",
                   elements, base="hn-signo-vital")


_BP_UNIT = {"system": s.UCUM, "code": "mm[Hg]"}
BLOOD_PRESSURE = profile("hn-presion-arterial", "Observation", "Presión arterial (Honduras)", "Presión arterial "
                         "sistólica y diastólica en mm[Hg] como componentes. / Blood pressure with systolic and "
                         "diastolic components in mm[Hg].", [
    el("Observation", constraint=[inv(
        "hn-pa-1", "La sistólica es mayor que la diastólica / systolic is higher than diastolic",
        "component.where(code.coding.code = '8480-6').value.ofType(Quantity).value > "
        "component.where(code.coding.code = '8462-4').value.ofType(Quantity).value or "
        "component.value.ofType(Quantity).count() < 2")]),
    el("Observation.code", patternCodeableConcept={"coding": [{"system": s.LOINC, "code": "85354-9"}]}),
    el("Observation.value[x]", max="0"),
    sliced("Observation.component", ("pattern", "code"), min=2),
    el("Observation.component:sistolica", min=1, max="1"),
    el("Observation.component:sistolica.code", patternCodeableConcept={"coding": [{"system": s.LOINC,
                                                                                   "code": "8480-6"}]}),
    el("Observation.component:sistolica.value[x]", patternQuantity=_BP_UNIT),
    el("Observation.component:diastolica", min=1, max="1"),
    el("Observation.component:diastolica.code", patternCodeableConcept={"coding": [{"system": s.LOINC,
                                                                                    "code": "8462-4"}]}),
    el("Observation.component:diastolica.value[x]", patternQuantity=_BP_UNIT),
], base="hn-signo-vital")

ALLERGY = profile("hn-alergia", "AllergyIntolerance", "Alergia o intolerancia (Honduras)", "Alergia o intolerancia "
                  "registrada. / A recorded allergy or intolerance.", [
    el("AllergyIntolerance.clinicalStatus", min=1),
    el("AllergyIntolerance.verificationStatus", min=1),
    el("AllergyIntolerance.code", min=1),
    el("AllergyIntolerance.patient", min=1, type=ref("hn-paciente")),
    el("AllergyIntolerance.recordedDate", min=1),
])

MEDICATION_REQUEST = profile("hn-receta", "MedicationRequest", "Prescripción de medicamento (Honduras)",
                             "Medicamento prescrito con su pauta escrita. / A prescription with written dosage.", [
    el("MedicationRequest.subject", min=1, type=ref("hn-paciente")),
    el("MedicationRequest.authoredOn", min=1),
    el("MedicationRequest.requester", min=1, type=ref("hn-profesional", "hn-rol-profesional")),
    el("MedicationRequest.dosageInstruction", min=1),
    el("MedicationRequest.dosageInstruction.text", min=1, short="Pauta en palabras / dosage in words"),
])

IMMUNIZATION = profile("hn-vacuna", "Immunization", "Vacunación (Honduras)", "Dosis de vacuna aplicada "
                       "(Programa Ampliado de Inmunizaciones). / A vaccine dose given.", [
    el("Immunization.vaccineCode.text", min=1),
    el("Immunization.patient", min=1, type=ref("hn-paciente")),
    el("Immunization.occurrence[x]", type=[{"code": "dateTime"}]),
    el("Immunization.lotNumber", min=1),
    el("Immunization.protocolApplied.doseNumber[x]", type=[{"code": "positiveInt"}]),
])

DIAGNOSTIC_REPORT = profile("hn-informe-diagnostico", "DiagnosticReport", "Informe diagnóstico (Honduras)",
                            "Informe de laboratorio o de imagen. / A laboratory or imaging report.", [
    el("DiagnosticReport", constraint=[inv(
        "hn-inf-1", "El informe tiene resultados o una conclusión / the report has results or a conclusion",
        "result.exists() or conclusion.exists() or presentedForm.exists()")]),
    el("DiagnosticReport.subject", min=1, type=ref("hn-paciente")),
    el("DiagnosticReport.effective[x]", min=1),
    el("DiagnosticReport.issued", min=1),
    el("DiagnosticReport.performer", min=1),
])

VITAL_PROFILES = [_sign(code, es, en, unit) for code, es, en, unit in VITAL_SIGNS if code in _SIGNS]
PROFILES = [ENCOUNTER, CONDITION, VITAL_SIGN, *VITAL_PROFILES, BLOOD_PRESSURE, ALLERGY, MEDICATION_REQUEST,
            IMMUNIZATION, DIAGNOSTIC_REPORT]
