"""The resources recorded during a visit: vital signs, prescriptions, laboratory and imaging reports,
immunizations and allergies, each meeting its national profile.

Vital-sign values depend on age, fever, and the disease being controlled; laboratory values are normal
unless the diagnosis changes them (low platelets in dengue, high glucose in diabetes, ...).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from fhir_profiles import systems as s
from synthetic import catalog as c
from synthetic.ids import local_instant, new_id
from synthetic.network import Facility

VITALS = {  # LOINC code: (profile, Spanish text, UCUM unit)
    "8867-4": ("hn-frecuencia-cardiaca", "Frecuencia cardiaca", "/min"),
    "9279-1": ("hn-frecuencia-respiratoria", "Frecuencia respiratoria", "/min"),
    "8310-5": ("hn-temperatura", "Temperatura corporal", "Cel"),
    "59408-5": ("hn-saturacion-oxigeno", "Saturación de oxígeno", "%"),
    "29463-7": ("hn-peso", "Peso corporal", "kg"),
    "8302-2": ("hn-talla", "Talla", "cm"),
    "9269-2": ("hn-glasgow", "Escala de coma de Glasgow", "{score}"),
    "55283-6": ("hn-frecuencia-cardiaca-fetal", "Frecuencia cardiaca fetal", "/min"),
}
BLOOD_PRESSURE = ("85354-9", "8480-6", "8462-4")  # panel, systolic, diastolic (LOINC)
# Laboratory values of a diagnosis that differ from normal: (test, low, high)
ABNORMAL = {
    "dengue": (("plaquetas", 60, 140), ("leucocitos", 2.5, 4.4)),
    "dengue-grave": (("plaquetas", 15, 90), ("hematocrito", 46, 54), ("leucocitos", 2.0, 4.0)),
    "neumonia": (("leucocitos", 12.0, 19.0),),
    "anemia": (("hemoglobina", 7.5, 10.8), ("hematocrito", 24.0, 33.0)),
    "dm2": (("glucosa", 125, 260), ("hba1c", 6.6, 11.0)),
    "hta": (("colesterol", 190, 260),),
}


@dataclass(frozen=True)
class Visit:
    """An encounter and who saw the patient there: what the records made during it point to."""

    resource: dict
    role: str  # "PractitionerRole/<id>"
    site: Facility
    day: date
    minute: int  # minute of the day the encounter started

    @property
    def reference(self) -> str:
        return f"Encounter/{self.resource['id']}"

    def at(self, minutes_later: int) -> str:
        return local_instant(self.day, self.minute + minutes_later)


def _meta(profile: str) -> dict:
    return {"profile": [s.canonical("StructureDefinition", profile)]}


def _number(value: float, decimals: int) -> Decimal | int:
    return int(round(value)) if decimals == 0 else Decimal(f"{value:.{decimals}f}")


def _quantity(value: Decimal | int, unit: str) -> dict:
    return {"value": value, "unit": unit, "system": s.UCUM, "code": unit}


def _observation(rng: random.Random, category: str) -> dict:
    return {"resourceType": "Observation", "id": new_id(rng), "status": "final",
            "category": [{"coding": [{"system": c.OBSERVATION_CATEGORY, "code": category}]}]}


def vital(rng: random.Random, visit: Visit, patient: str, code: str, value: Decimal | int) -> dict:
    profile, text, unit = VITALS[code]
    data = _observation(rng, "vital-signs")
    data["meta"] = _meta(profile)
    data.update({"code": {"coding": [{"system": s.LOINC, "code": code}], "text": text},
                 "subject": {"reference": patient}, "encounter": {"reference": visit.reference},
                 "effectiveDateTime": visit.at(5), "performer": [{"reference": visit.role}],
                 "valueQuantity": _quantity(value, unit)})
    return data


def blood_pressure(rng: random.Random, visit: Visit, patient: str, systolic: int, diastolic: int) -> dict:
    panel, sys_code, dia_code = BLOOD_PRESSURE
    data = _observation(rng, "vital-signs")
    data["meta"] = _meta("hn-presion-arterial")
    data.update({"code": {"coding": [{"system": s.LOINC, "code": panel}], "text": "Presión arterial"},
                 "subject": {"reference": patient}, "encounter": {"reference": visit.reference},
                 "effectiveDateTime": visit.at(5), "performer": [{"reference": visit.role}],
                 "component": [
                     {"code": {"coding": [{"system": s.LOINC, "code": sys_code}], "text": "Sistólica"},
                      "valueQuantity": _quantity(systolic, "mm[Hg]")},
                     {"code": {"coding": [{"system": s.LOINC, "code": dia_code}], "text": "Diastólica"},
                      "valueQuantity": _quantity(diastolic, "mm[Hg]")}]})
    return data


def body_size(age_days: int, gender: str, rng: random.Random) -> tuple[float, float]:
    """Plausible weight (kg) and height (cm) at an age."""
    months = age_days / 30.4
    if months < 12:
        weight, height = 3.3 + 0.6 * months, 50 + 2.1 * months
    elif months < 144:
        years = months / 12
        weight, height = 2.2 * years + 8, 6 * years + 76
    elif months < 216:
        share = (months - 144) / 72
        adult_weight, adult_height = (75, 168) if gender == "male" else (63, 156)
        weight, height = 34 + share * (adult_weight - 34), 148 + share * (adult_height - 148)
    else:
        weight, height = (75, 168) if gender == "male" else (64, 156)
    return weight * rng.uniform(0.85, 1.2), height * rng.uniform(0.96, 1.04)


def vital_signs(rng: random.Random, visit: Visit, patient: str, *, age_days: int, gender: str, fever: bool,
                full: bool, hypertensive: bool = False, fetal: bool = False, head_injury: bool = False,
                low_oxygen: bool = False) -> list[dict]:
    """The vital signs taken at a visit (more of them at emergencies and febrile visits)."""
    years = age_days / 365.25
    weight, height = body_size(age_days, gender, rng)
    out = [vital(rng, visit, patient, "29463-7", _number(weight, 1))]
    if years < 18 or rng.random() < 0.3:
        out.append(vital(rng, visit, patient, "8302-2", _number(height, 1)))
    temperature = rng.uniform(38.0, 39.8) if fever else rng.uniform(36.2, 37.2)
    out.append(vital(rng, visit, patient, "8310-5", _number(temperature, 1)))
    base_rate = 130 if years < 1 else (100 if years < 10 else 75)
    out.append(vital(rng, visit, patient, "8867-4", _number(base_rate * rng.uniform(0.85, 1.15)
                                                            + (15 if fever else 0), 0)))
    if years >= 12:
        systolic = rng.randrange(138, 172) if hypertensive else rng.randrange(100, 129)
        diastolic = rng.randrange(88, 105) if hypertensive else rng.randrange(60, 83)
        out.append(blood_pressure(rng, visit, patient, systolic, diastolic))
    if full:
        breathing = 38 if years < 1 else (24 if years < 10 else 16)
        out.append(vital(rng, visit, patient, "9279-1", _number(breathing * rng.uniform(0.85, 1.2)
                                                                + (8 if low_oxygen else 0), 0)))
        out.append(vital(rng, visit, patient, "59408-5",
                         _number(rng.uniform(86, 94) if low_oxygen else rng.uniform(95, 99.4), 0)))
    if head_injury:
        out.append(vital(rng, visit, patient, "9269-2", rng.randrange(13, 16)))
    if fetal:
        out.append(vital(rng, visit, patient, "55283-6", rng.randrange(120, 161)))
    return out


def prescription(rng: random.Random, visit: Visit, patient: str, drug_key: str, *, active: bool) -> dict:
    drug = c.DRUGS[drug_key]
    return {"resourceType": "MedicationRequest", "id": new_id(rng), "meta": _meta("hn-receta"),
            "status": "active" if active else "completed", "intent": "order",
            "medicationCodeableConcept": {"coding": [{"system": c.ATC, "code": drug.atc}], "text": drug.text},
            "subject": {"reference": patient}, "encounter": {"reference": visit.reference},
            "authoredOn": visit.at(20), "requester": {"reference": visit.role},
            "dosageInstruction": [{"text": drug.dosage}]}


def lab_panel(rng: random.Random, visit: Visit, patient: str, panel: tuple, *, abnormal: str | None,
              lab: Facility) -> list[dict]:
    """The results of one panel and their report (hn-informe-diagnostico)."""
    name, code, tests = panel
    changed = {test: (low, high) for test, low, high in ABNORMAL.get(abnormal or "", ())}
    results = []
    for key in tests:
        test = c.LABS[key]
        low, high = changed.get(key, (test.low, test.high))
        data = _observation(rng, "laboratory")
        data.update({"code": {"coding": [{"system": s.LOINC, "code": test.loinc}], "text": test.text},
                     "subject": {"reference": patient}, "encounter": {"reference": visit.reference},
                     "effectiveDateTime": visit.at(30), "issued": visit.at(240),
                     "performer": [{"reference": lab.reference}],
                     "valueQuantity": _quantity(_number(rng.uniform(low, high), test.decimals), test.unit),
                     "referenceRange": [{"low": _quantity(_number(test.low, test.decimals), test.unit),
                                         "high": _quantity(_number(test.high, test.decimals), test.unit)}]})
        results.append(data)
    report_code: dict = {"text": name}
    if code:
        report_code["coding"] = [{"system": s.LOINC, "code": code}]
    report = {"resourceType": "DiagnosticReport", "id": new_id(rng), "meta": _meta("hn-informe-diagnostico"),
              "status": "final",
              "category": [{"coding": [{"system": c.REPORT_CATEGORY, "code": "LAB"}], "text": "Laboratorio"}],
              "code": report_code, "subject": {"reference": patient}, "encounter": {"reference": visit.reference},
              "effectiveDateTime": visit.at(30), "issued": visit.at(240),
              "performer": [{"reference": lab.reference}],
              "result": [{"reference": f"Observation/{r['id']}"} for r in results]}
    return [*results, report]


def imaging(rng: random.Random, visit: Visit, patient: str, study: tuple[str, tuple[str, ...]]) -> dict:
    name, conclusions = study
    return {"resourceType": "DiagnosticReport", "id": new_id(rng), "meta": _meta("hn-informe-diagnostico"),
            "status": "final",
            "category": [{"coding": [{"system": c.REPORT_CATEGORY, "code": "RAD"}], "text": "Imagenología"}],
            "code": {"text": name}, "subject": {"reference": patient}, "encounter": {"reference": visit.reference},
            "effectiveDateTime": visit.at(60), "issued": visit.at(180),
            "performer": [{"reference": visit.site.reference}], "conclusion": rng.choice(conclusions)}


def immunization(rng: random.Random, patient: str, vaccine: c.Vaccine, dose: int, day: date,
                 visit: Visit | None, site: Facility) -> dict:
    data = {"resourceType": "Immunization", "id": new_id(rng), "meta": _meta("hn-vacuna"), "status": "completed",
            "vaccineCode": {"coding": [{"system": s.CVX, "code": vaccine.cvx}], "text": vaccine.text},
            "patient": {"reference": patient}}
    if visit is not None:
        data["encounter"] = {"reference": visit.reference}
    data.update({"occurrenceDateTime": day.isoformat(), "primarySource": visit is not None,
                 "location": {"reference": f"Location/{site.location_id}"},
                 "lotNumber": f"{vaccine.cvx.zfill(3)}-{day.year}-{rng.randrange(1, 400):03d}",
                 "protocolApplied": [{"series": "PAI Honduras", "doseNumberPositiveInt": dose}]})
    if visit is not None:
        data["performer"] = [{"actor": {"reference": visit.role}}]
    return data


def allergy(rng: random.Random, patient: str, recorded: date) -> dict:
    substance, category = rng.choice(c.ALLERGIES)
    return {"resourceType": "AllergyIntolerance", "id": new_id(rng), "meta": _meta("hn-alergia"),
            "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/"
                                                     "allergyintolerance-clinical", "code": "active"}]},
            "verificationStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/"
                                                         "allergyintolerance-verification", "code": "confirmed"}]},
            "type": "allergy", "category": [category], "code": {"text": substance},
            "patient": {"reference": patient}, "recordedDate": recorded.isoformat()}
