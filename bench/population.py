"""Synthetic Honduran clinical records for the search benchmark, and their fast in-process load.

Each patient has exactly ``RESOURCES_PER_PATIENT`` resources: the Patient, 5 Encounters over two years, at
each encounter the 6 vital signs (LOINC, heart rate 8867-4 among them), 8 laboratory results, 4 Conditions
(ICD-10) and 2 MedicationRequests (ATC), all referencing the patient and an encounter. Patient ``i`` is
generated from its own seeded generator, so any patient is reproducible alone and data sets grow
cumulatively: the 8k set is the 1k set plus 7k more patients.

Loading goes through the store's single write path (``ece.store.WritePlan``, one flush per batch of about
1,000 resources in one transaction, as ``ece.loader`` does), without national-profile enforcement; the
next batch is generated and index-extracted while the previous one is being written.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from bench import fixtures

RESOURCES_PER_PATIENT = 50
ENCOUNTERS = 5
LABS_PER_PATIENT = 8
CONDITIONS = 4
MEDICATIONS = 2
ICD10 = "http://hl7.org/fhir/sid/icd-10"
ATC = "http://www.whocc.no/atc"
HEART_RATE = "8867-4"
# Diagnoses common in Honduran primary care and hospitals (ICD-10, WHO).
DIAGNOSES = [("I10", "Hipertensión esencial"), ("E11.9", "Diabetes mellitus tipo 2 sin complicaciones"),
             ("J06.9", "Infección aguda de las vías respiratorias superiores"), ("A90", "Dengue clásico"),
             ("A09", "Diarrea y gastroenteritis de presunto origen infeccioso"),
             ("N39.0", "Infección de vías urinarias"),
             ("J45.9", "Asma"), ("K29.7", "Gastritis"), ("D50.9", "Anemia por deficiencia de hierro"),
             ("E66.9", "Obesidad"), ("B54", "Paludismo"), ("O80", "Parto único espontáneo")]
DRUGS = [("C09AA02", "Enalapril 10 mg tableta"), ("A10BA02", "Metformina 850 mg tableta"),
         ("N02BE01", "Acetaminofén 500 mg tableta"), ("J01CA04", "Amoxicilina 500 mg cápsula"),
         ("B03AA07", "Sulfato ferroso 300 mg tableta"), ("R03AC02", "Salbutamol inhalador 100 mcg")]


@dataclass(frozen=True)
class PatientKey:
    """What the query mix needs of a loaded patient."""

    index: int
    id: str
    dni: str
    family: str
    birth_date: str


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _rng(seed: int, index: int) -> random.Random:
    return random.Random(seed * 1_000_003 + index)


def patient_key(seed: int, index: int) -> PatientKey:
    """The key of patient ``index`` without generating its records (same draws as ``records``)."""
    rng = _rng(seed, index)
    resource = _patient(rng, index)
    return _key(index, resource)


def _patient(rng: random.Random, index: int) -> dict:
    patient_id = _uuid(rng)
    return fixtures.patient(rng, dni_value=fixtures.dni(rng, index), mrn=f"HN{index:07d}", resource_id=patient_id)


def _key(index: int, patient: dict) -> PatientKey:
    return PatientKey(index, patient["id"], patient["identifier"][0]["value"], patient["name"][0]["family"],
                      patient["birthDate"])


def records(seed: int, index: int) -> tuple[PatientKey, list[dict]]:
    """Patient ``index`` and its ``RESOURCES_PER_PATIENT - 1`` records."""
    rng = _rng(seed, index)
    patient = _patient(rng, index)
    subject = {"reference": f"Patient/{patient['id']}"}
    out = [patient]
    visits = []
    for _ in range(ENCOUNTERS):
        encounter = fixtures.encounter(rng, subject=subject["reference"], resource_id=_uuid(rng))
        visits.append((f"Encounter/{encounter['id']}", datetime.fromisoformat(encounter["period"]["start"])))
        out.append(encounter)
    for reference, start in visits:
        for code in fixtures.VITALS:
            out.append(_observation(rng, code, "vital-signs", "Vital Signs", subject, reference, start))
    for _ in range(LABS_PER_PATIENT):
        reference, start = rng.choice(visits)
        out.append(_observation(rng, rng.choice(fixtures.LABS), "laboratory", "Laboratory", subject, reference,
                                start + timedelta(hours=rng.randrange(1, 48))))
    for _ in range(CONDITIONS):
        out.append(_condition(rng, subject, *rng.choice(visits)))
    for _ in range(MEDICATIONS):
        out.append(_medication(rng, subject, *rng.choice(visits)))
    return _key(index, patient), out


def _observation(rng: random.Random, code: tuple, category: str, category_display: str, subject: dict,
                 encounter: str, moment: datetime) -> dict:
    loinc, display, unit, low, high, decimals = code
    value = round(rng.uniform(low, high), decimals)
    return {
        "resourceType": "Observation", "id": _uuid(rng), "status": "final",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                  "code": category, "display": category_display}]}],
        "code": {"coding": [{"system": fixtures.LOINC, "code": loinc, "display": display}], "text": display},
        "subject": subject, "encounter": {"reference": encounter},
        "effectiveDateTime": (moment + timedelta(minutes=rng.randrange(0, 30))).isoformat(timespec="seconds"),
        "valueQuantity": {"value": value if decimals else int(value), "unit": unit, "system": fixtures.UCUM,
                          "code": unit},
    }


def _condition(rng: random.Random, subject: dict, encounter: str, moment: datetime) -> dict:
    code, display = rng.choice(DIAGNOSES)
    return {
        "resourceType": "Condition", "id": _uuid(rng),
        "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                       "code": rng.choice(["active", "active", "resolved"])}]},
        "verificationStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                                           "code": "confirmed"}]},
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-category",
                                  "code": "encounter-diagnosis"}]}],
        "code": {"coding": [{"system": ICD10, "code": code, "display": display}], "text": display},
        "subject": subject, "encounter": {"reference": encounter},
        "onsetDateTime": moment.isoformat(timespec="seconds"), "recordedDate": moment.date().isoformat(),
    }


def _medication(rng: random.Random, subject: dict, encounter: str, moment: datetime) -> dict:
    code, display = rng.choice(DRUGS)
    return {
        "resourceType": "MedicationRequest", "id": _uuid(rng), "status": rng.choice(["active", "completed"]),
        "intent": "order",
        "medicationCodeableConcept": {"coding": [{"system": ATC, "code": code, "display": display}],
                                      "text": display},
        "subject": subject, "encounter": {"reference": encounter},
        "authoredOn": moment.isoformat(timespec="seconds"),
        "dosageInstruction": [{"text": rng.choice(["1 cada 8 horas por 7 días", "1 cada 12 horas",
                                                   "1 diaria", "2 inhalaciones si hay dificultad respiratoria"])}],
    }


# --- loading --------------------------------------------------------------------------------------------


@dataclass
class LoadStats:
    patients: int = 0
    resources: int = 0
    seconds: float = 0.0
    client_cpu_s: float = 0.0

    @property
    def per_s(self) -> float:
        return self.resources / self.seconds if self.seconds else 0.0


def _batches(seed: int, start: int, stop: int, batch: int) -> Iterator[list[dict]]:
    pending: list[dict] = []
    for index in range(start, stop):
        pending.extend(records(seed, index)[1])
        if len(pending) >= batch:
            yield pending
            pending = []
    if pending:
        yield pending


async def _load(url: str, seed: int, start: int, stop: int, batch: int, in_flight: int, progress) -> int:
    from sqlalchemy.ext.asyncio import create_async_engine

    from app.db import sqlalchemy_url
    from ece import store
    from ece.tx import unit_of_work

    # app.db.make_async_engine's engine, without the bench database's statement timeout.
    engine = create_async_engine(sqlalchemy_url(url), pool_size=in_flight, max_overflow=0,
                                 connect_args={"options": "-c TimeZone=UTC -c statement_timeout=0"})

    async def flush(plan: store.WritePlan) -> None:
        async with unit_of_work(engine) as tx:
            await plan.flush(tx)

    written = 0
    writing: set[asyncio.Task] = set()
    try:
        for resources in _batches(seed, start, stop, batch):
            plan = store.WritePlan()
            moment = store.now()
            for position, data in enumerate(resources):
                # New ids only: no lock nor current version to read (the loader's path for unseen ids).
                plan.put(data=data, resource_type=data["resourceType"], resource_id=data["id"], current=None,
                         method="PUT", moment=moment)
                if position % 100 == 0:
                    await asyncio.sleep(0)  # let the batches in flight make progress
            while len(writing) >= in_flight:
                done, writing = await asyncio.wait(writing, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    task.result()
            writing.add(asyncio.create_task(flush(plan)))
            await asyncio.sleep(0)
            written += len(resources)
            progress(written)
        for task in writing:
            await task
    finally:
        await engine.dispose()
    return written


def load(url: str, *, seed: int, start: int, stop: int, batch: int = 1000, in_flight: int = 2,
         progress=None) -> LoadStats:
    """Write patients ``start``..``stop - 1`` and their records; answers the rate."""
    began, cpu = time.perf_counter(), time.process_time()
    written = asyncio.run(_load(url, seed, start, stop, batch, in_flight, progress or (lambda n: None)))
    return LoadStats(stop - start, written, time.perf_counter() - began, time.process_time() - cpu)
