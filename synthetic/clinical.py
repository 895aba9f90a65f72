"""A patient's clinical record over the two years before ``DATA_END``: encounters (hn-atencion), vital signs
(hn-signo-vital and its derived profiles), CIE-10 diagnoses (hn-diagnostico), prescriptions (hn-receta),
laboratory results and imaging reports (hn-informe-diagnostico), immunizations (hn-vacuna) and allergies
(hn-alergia).

What happens to a patient follows from age and sex: well-child visits with the PAI vaccines for small
children, acute episodes from ``catalog.ACUTE_MIX``, control visits every three to six months for
hypertension and diabetes, prenatal care and delivery for some women. Primary care happens at the
patient's facility; emergencies, admissions and deliveries at the department's hospital.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

from fhir_profiles import systems as s
from synthetic import catalog as c
from synthetic import records as r
from synthetic.ids import DATA_END, local_instant, new_id
from synthetic.network import Facility, Network
from synthetic.patients import Person, person_and_patient
from synthetic.records import Visit

WINDOW_DAYS = 730
WINDOW_START = DATA_END - timedelta(days=WINDOW_DAYS)
EPISODES_SCALE = 1.5  # acute episodes a year: the weights of ACUTE_MIX times this (about 50 resources a patient)
RAINY_MONTHS = frozenset({6, 7, 8, 9, 10})  # dengue season
PREGNANCY_CHANCE = 0.16  # women 15-44 with a pregnancy followed in the window
ALLERGY_CHANCE = 0.04
ENCOUNTER_CLASSES = {"AMB": ("ambulatory", "Consulta externa"), "EMER": ("emergency", "Atención de emergencia"),
                     "IMP": ("inpatient encounter", "Hospitalización")}


def _meta(profile: str) -> dict:
    return {"profile": [s.canonical("StructureDefinition", profile)]}


def patient_records(network: Network, index: int) -> list[dict]:
    """Patient ``index`` and every record of it, in a fixed order."""
    rng, person, patient = person_and_patient(network, index)
    chart = Chart(rng, network, person)
    chart.out.append(patient)
    chart.history()
    return chart.out


class Chart:
    """Builds one patient's records into ``out``."""

    def __init__(self, rng: random.Random, network: Network, person: Person):
        self.rng = rng
        self.person = person
        self.patient = person.reference
        self.out: list[dict] = []
        self.hospital = network.hospitals(person.municipality.department)[0]

    # --- what happens to the patient ---------------------------------------------------------------

    def history(self) -> None:
        person, rng = self.person, self.rng
        if rng.random() < ALLERGY_CHANCE:
            self.out.append(r.allergy(rng, self.patient, self._day(WINDOW_START, DATA_END)))
        if person.age < 6:
            self.childhood()
        elif person.gender == "female" and 11 <= person.age <= 12:
            self.vaccine_doses(c.HPV, start=person.birth_date)
        hypertension, diabetes = c.chronic_risk(person.age)
        chronic = [d for d, p in ((c.HYPERTENSION, hypertension), (c.DIABETES, diabetes)) if rng.random() < p]
        if person.age < 15 and rng.random() < 0.05:
            chronic.append(c.ASTHMA)
        if chronic:
            self.controls(chronic)
        if person.gender == "female" and 15 <= person.age <= 44 and rng.random() < PREGNANCY_CHANCE:
            self.pregnancy()
        if (person.age >= 60 or chronic) and rng.random() < 0.5:
            self.vaccine_doses(c.INFLUENZA, start=self._day(WINDOW_START, DATA_END))
        for diagnosis in self._episodes():
            self.episode(diagnosis)

    def _episodes(self) -> list[c.Diagnosis]:
        person, rng = self.person, self.rng
        mix = next(m for low, high, m in c.ACUTE_MIX if low <= person.age <= high)
        weights = {k: w * (2 if k in c.TRAUMA and person.gender == "male" and 15 <= person.age < 45 else 1)
                   * (1.5 if k in c.FEMALE_MORE and person.gender == "female" else 1) for k, w in mix.items()}
        expected = sum(weights.values()) * EPISODES_SCALE * min(WINDOW_DAYS, self._age_days(DATA_END)) / 365
        count = sum(1 for _ in range(round(expected * 3)) if rng.random() < 1 / 3)  # binomial, mean = expected
        keys = list(weights)
        return [c.ACUTE[k] for k in rng.choices(keys, weights=[weights[k] for k in keys], k=count)]

    def childhood(self) -> None:
        """PAI doses since birth; the well-child visits inside the window are encounters."""
        visits: dict[date, list[tuple[c.Vaccine, int]]] = {}
        for vaccine in c.CHILD_VACCINES:
            for number, months in enumerate(vaccine.doses_at_months, start=1):
                day = self.person.birth_date + timedelta(days=int(months * 30.4))
                if day < DATA_END:
                    visits.setdefault(day, []).append((vaccine, number))
        home = self.person.home
        for day in sorted(visits):
            visit = None
            if day >= WINDOW_START:
                visit = self.encounter(home, day, c.WELL_CHILD, ("enfermeria",), [])
                self.vitals(visit, fever=False, full=False)
            for vaccine, number in visits[day]:
                self.out.append(r.immunization(self.rng, self.patient, vaccine, number, day, visit, home))

    def vaccine_doses(self, vaccine: c.Vaccine, *, start: date) -> None:
        for number, months in enumerate(vaccine.doses_at_months or (0,), start=1):
            day = start + timedelta(days=int(months * 30.4))
            if WINDOW_START <= day < DATA_END:
                self.out.append(r.immunization(self.rng, self.patient, vaccine, number, day, None,
                                               self.person.home))

    def controls(self, chronic: list[c.Diagnosis]) -> None:
        """Control visits at the home facility every three to six months; one Condition per disease."""
        rng = self.rng
        drugs = {c.HYPERTENSION.key: rng.choice((("enalapril",), ("losartan",), ("enalapril", "hctz"),
                                                 ("amlodipino",))),
                 c.DIABETES.key: rng.choice((("metformina",), ("metformina", "glibenclamida"), ("insulina",))),
                 c.ASTHMA.key: ("salbutamol",)}
        hypertensive = c.HYPERTENSION in chronic
        day = max(WINDOW_START, self.person.birth_date) + timedelta(days=rng.randrange(120))
        condition_ids: list[str] = []
        visit_number = 0
        while day < DATA_END:
            visit = self.encounter(self.person.home, day, chronic[0], ("medicina-general",), condition_ids)
            if not condition_ids:
                for diagnosis in chronic:
                    onset = day - timedelta(days=rng.randrange(30, 365 * 6))
                    condition_ids.append(self.condition(diagnosis, visit, onset=onset, chronic=True))
                self._diagnoses(visit, condition_ids)
            self.vitals(visit, fever=False, full=False, hypertensive=hypertensive and rng.random() < 0.6)
            last = day + timedelta(days=180) >= DATA_END
            for diagnosis in chronic:
                for drug in drugs[diagnosis.key]:
                    self.out.append(r.prescription(rng, visit, self.patient, drug, active=last))
                if diagnosis.panel and visit_number % 2 == 0:
                    self.lab(visit, diagnosis.panel, diagnosis.key)
            visit_number += 1
            day += timedelta(days=rng.randrange(90, 181))

    def pregnancy(self) -> None:
        """Five prenatal visits (weeks 10 to 36) at the home facility and, if it happened, the delivery."""
        rng = self.rng
        last_period = WINDOW_START + timedelta(days=rng.randrange(WINDOW_DAYS - 70))
        delivery_day = last_period + timedelta(weeks=39, days=rng.randrange(-10, 8))
        code = ("Z34.0", "Supervisión de primer embarazo normal") if rng.random() < 0.35 else \
            ("Z34.8", "Supervisión de otros embarazos normales")
        condition_ids: list[str] = []
        for number, week in enumerate((10, 16, 24, 30, 36)):
            day = last_period + timedelta(weeks=week, days=rng.randrange(5))
            if day >= DATA_END:
                break
            visit = self.encounter(self.person.home, day, c.PREGNANCY, ("ginecologia-obstetricia",),
                                   condition_ids)
            if not condition_ids:
                condition_ids.append(self.condition(c.PREGNANCY, visit, onset=last_period, chronic=False,
                                                    code=code, resolved_on=delivery_day))
                self._diagnoses(visit, condition_ids)
                for drug in c.PREGNANCY.drugs:
                    self.out.append(r.prescription(rng, visit, self.patient, drug,
                                                   active=delivery_day >= DATA_END))
                self.lab(visit, c.PREGNANCY.panel, None)
            self.vitals(visit, fever=False, full=False, fetal=week >= 16)
            if number in (1, 2):
                self.out.append(r.immunization(rng, self.patient, c.TD, number, day, visit, visit.site))
            if week == 24:
                self.out.append(r.imaging(rng, visit, self.patient, c.PREGNANCY.imaging))
        if delivery_day < DATA_END:
            self.episode(c.CESAREAN if rng.random() < 0.2 else c.DELIVERY, day=delivery_day, site=self.hospital)

    def episode(self, diagnosis: c.Diagnosis, *, day: date | None = None, site: Facility | None = None) -> None:
        """One acute problem: its encounter, vital signs, diagnosis, prescriptions and tests."""
        rng = self.rng
        if day is None:
            day = self._day(max(WINDOW_START, self.person.birth_date), DATA_END,
                            seasonal=diagnosis.key.startswith("dengue"))
        if site is None:
            site = self.person.home if diagnosis.setting == "AMB" else self.hospital
        visit = self.encounter(site, day, diagnosis, self._specialties(diagnosis, site), [])
        condition_id = self.condition(diagnosis, visit, onset=day - timedelta(days=rng.randrange(4)), chronic=False,
                                      resolved_on=day + timedelta(days=rng.randrange(5, 21)))
        self._diagnoses(visit, [condition_id])
        self.vitals(visit, fever=diagnosis.fever and rng.random() < 0.8,
                    full=diagnosis.setting != "AMB" or diagnosis.fever, head_injury=diagnosis.key == "trauma-craneo",
                    low_oxygen=diagnosis.key == "neumonia")
        for drug in diagnosis.drugs if self.person.age >= 12 else diagnosis.child_drugs:
            self.out.append(r.prescription(rng, visit, self.patient, drug, active=False))
        if diagnosis.panel:
            self.lab(visit, diagnosis.panel, diagnosis.key)
        if diagnosis.imaging:
            self.out.append(r.imaging(rng, visit, self.patient, diagnosis.imaging))

    def _specialties(self, diagnosis: c.Diagnosis, site: Facility) -> tuple[str, ...]:
        if diagnosis.key in ("parto", "cesarea"):
            return ("ginecologia-obstetricia",)
        if diagnosis.key in ("fractura-antebrazo", "esguince") and site.level == "2":
            return ("ortopedia", "cirugia-general")
        if self.person.age < 15 and site.kind != "UAPS":
            return ("pediatria",)
        return ("medicina-interna",) if diagnosis.setting == "IMP" else ("medicina-general",)

    # --- resources ---------------------------------------------------------------------------------

    def _age_days(self, day: date) -> int:
        return max((day - self.person.birth_date).days, 0)

    def _day(self, start: date, end: date, *, seasonal: bool = False) -> date:
        span = max((end - start).days, 1)
        day = start + timedelta(days=self.rng.randrange(span))
        if seasonal and day.month not in RAINY_MONTHS and self.rng.random() < 0.75:
            day = start + timedelta(days=self.rng.randrange(span))
        return day

    def _role(self, facility: Facility, wanted: tuple[str, ...]) -> str:
        for specialty in (*wanted, "medicina-general"):
            if specialty in facility.roles:
                return f"PractitionerRole/{self.rng.choice(facility.roles[specialty])}"
        return f"PractitionerRole/{self.rng.choice(next(iter(facility.roles.values())))}"

    @staticmethod
    def _diagnoses(visit: Visit, condition_ids: list[str]) -> None:
        visit.resource["diagnosis"] = [{"condition": {"reference": f"Condition/{cid}"}, "rank": rank}
                                       for rank, cid in enumerate(condition_ids, start=1)]

    def encounter(self, site: Facility, day: date, diagnosis: c.Diagnosis, wanted: tuple[str, ...],
                  condition_ids: list[str]) -> Visit:
        rng, setting = self.rng, diagnosis.setting
        start = rng.randrange(7 * 60, 15 * 60) if setting == "AMB" else rng.randrange(24 * 60)
        length = {"AMB": rng.randrange(15, 45), "EMER": rng.randrange(90, 480),
                  "IMP": rng.randrange(2, 6) * 24 * 60}[setting]
        role = self._role(site, wanted)
        data = {"resourceType": "Encounter", "id": new_id(rng), "meta": _meta("hn-atencion"), "status": "finished",
                "class": {"system": c.ACT_CODE, "code": setting, "display": ENCOUNTER_CLASSES[setting][0]},
                "type": [{"text": ENCOUNTER_CLASSES[setting][1]}],
                "subject": {"reference": self.patient},
                "participant": [{"individual": {"reference": role}}],
                "period": {"start": local_instant(day, start), "end": local_instant(day, start + length)},
                "reasonCode": [{"text": diagnosis.text}],
                "location": [{"location": {"reference": f"Location/{site.location_id}"}}],
                "serviceProvider": {"reference": site.reference}}
        visit = Visit(data, role, site, day, start)
        if condition_ids:
            self._diagnoses(visit, condition_ids)
        self.out.append(data)
        return visit

    def condition(self, diagnosis: c.Diagnosis, visit: Visit, *, onset: date, chronic: bool,
                  code: tuple[str, str] | None = None, resolved_on: date | None = None) -> str:
        icd10, text = code or (diagnosis.icd10, diagnosis.text)
        resolved = not chronic and resolved_on is not None and resolved_on < DATA_END
        data = {"resourceType": "Condition", "id": new_id(self.rng), "meta": _meta("hn-diagnostico"),
                "clinicalStatus": {"coding": [{"system": c.CONDITION_CLINICAL,
                                               "code": "resolved" if resolved else "active"}]},
                "verificationStatus": {"coding": [{"system": c.CONDITION_VERIFICATION, "code": "confirmed"}]},
                "category": [{"coding": [{"system": c.CONDITION_CATEGORY,
                                          "code": "problem-list-item" if chronic else "encounter-diagnosis"}]}],
                "code": {"coding": [{"system": s.ICD10, "code": icd10}], "text": text},
                "subject": {"reference": self.patient}, "encounter": {"reference": visit.reference},
                "onsetDateTime": max(onset, self.person.birth_date).isoformat()}
        if resolved:
            data["abatementDateTime"] = resolved_on.isoformat()
        data["recordedDate"] = visit.day.isoformat()
        data["recorder"] = {"reference": visit.role}
        self.out.append(data)
        return data["id"]

    def vitals(self, visit: Visit, **kinds: bool) -> None:
        self.out.extend(r.vital_signs(self.rng, visit, self.patient, age_days=self._age_days(visit.day),
                                      gender=self.person.gender, **kinds))

    def lab(self, visit: Visit, panel: tuple, abnormal: str | None) -> None:
        lab = visit.site if visit.site.level == "2" or visit.site.kind != "UAPS" else self.hospital
        self.out.extend(r.lab_panel(self.rng, visit, self.patient, panel, abnormal=abnormal, lab=lab))
