"""Realistic small Honduran FHIR R4 resources: patients, encounters and observations.

Identity numbers follow the RNP layout (department, municipality, birth year, sequence); names,
places, facilities and phone numbers are Honduran; observations are vital signs and common
laboratory results coded in LOINC with UCUM units.

For the HTTP workloads, bodies are serialised once as templates and only the unique parts are
substituted per request (``bytes.replace``), so the load generator spends almost no CPU on them.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone

import orjson

# The national profile hn-paciente (fhir_profiles/definitions) fixes these systems and extensions.
DNI_SYSTEM = "https://fhir.salud.gob.hn/sid/dni"  # Registro Nacional de las Personas (RNP)
MRN_SYSTEM = "https://fhir.salud.gob.hn/sid/expediente"
EXT_DEPARTMENT = "https://fhir.salud.gob.hn/StructureDefinition/departamento"
EXT_MUNICIPALITY = "https://fhir.salud.gob.hn/StructureDefinition/municipio"
CS_DEPARTMENT = "https://fhir.salud.gob.hn/CodeSystem/departamento"
CS_MUNICIPALITY = "https://fhir.salud.gob.hn/CodeSystem/municipio"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
HN_TZ = timezone(timedelta(hours=-6))

# Placeholders substituted per request in pre-serialised templates.
P_DNI = b"@@DNI@@"
P_MRN = b"@@MRN@@"
P_SUBJECT = b"@@SUBJECT@@"
P_PATIENT_URN = b"@@PURN@@"

GIVEN_F = ["María", "Ana", "Rosa", "Dilcia", "Yessenia", "Karla", "Suyapa", "Lourdes", "Glenda", "Keila",
           "Marlen", "Daysi", "Wendy", "Iris", "Nolvia", "Sandra", "Xiomara", "Fátima"]
GIVEN_M = ["José", "Juan", "Carlos", "Luis", "Olvin", "Kevin", "Marvin", "Josué", "Elvin", "Wilmer", "Denis",
           "Héctor", "Nelson", "Erick", "Óscar", "Santos", "Mario", "Francisco"]
FAMILY = ["Hernández", "López", "Martínez", "Rodríguez", "Flores", "Mejía", "Reyes", "Zelaya", "Banegas",
          "Maradiaga", "Ramírez", "Cruz", "Sánchez", "Álvarez", "Castillo", "Bustillo", "Padilla", "Aguilar",
          "Ordóñez", "Funes", "Matute", "Paz", "Lagos", "Euceda", "Pineda", "Velásquez"]
# (department code, department, municipality code, city)
PLACES = [("08", "Francisco Morazán", "01", "Tegucigalpa"), ("05", "Cortés", "01", "San Pedro Sula"),
          ("01", "Atlántida", "01", "La Ceiba"), ("06", "Choluteca", "01", "Choluteca"),
          ("03", "Comayagua", "01", "Comayagua"), ("15", "Olancho", "01", "Juticalpa"),
          ("04", "Copán", "01", "Santa Rosa de Copán"), ("07", "El Paraíso", "03", "Danlí"),
          ("18", "Yoro", "04", "El Progreso"), ("12", "La Paz", "01", "La Paz")]
STREETS = ["Col. Kennedy, bloque {n}", "Barrio El Centro, casa {n}", "Col. Rivera Hernández, calle {n}",
           "Res. Las Uvas, casa {n}", "Aldea San Matías, km {n}", "Col. 21 de Octubre, pasaje {n}"]
FACILITIES = ["Hospital Escuela, Tegucigalpa", "Hospital Mario Catarino Rivas, San Pedro Sula",
              "Hospital Atlántida, La Ceiba", "Hospital del Sur, Choluteca", "CIS Alonso Suazo, Tegucigalpa",
              "Hospital Santa Teresa, Comayagua", "UAPS El Pedregal, Tegucigalpa"]
ENCOUNTER_TYPES = [("185349003", "Consulta externa / encounter for check up"),
                   ("270427003", "Consulta de control prenatal / patient-initiated encounter"),
                   ("50849002", "Atención de emergencia / emergency room admission")]
# LOINC code, display, unit, low, high, decimals
VITALS = [("29463-7", "Peso corporal / body weight", "kg", 3.0, 110.0, 1),
          ("8302-2", "Talla / body height", "cm", 48.0, 190.0, 1),
          ("8867-4", "Frecuencia cardiaca / heart rate", "/min", 55.0, 120.0, 0),
          ("8310-5", "Temperatura corporal / body temperature", "Cel", 36.0, 39.5, 1),
          ("9279-1", "Frecuencia respiratoria / respiratory rate", "/min", 12.0, 28.0, 0),
          ("59408-5", "Saturación de oxígeno / oxygen saturation", "%", 88.0, 100.0, 0)]
LABS = [("718-7", "Hemoglobina / hemoglobin", "g/dL", 8.0, 16.5, 1),
        ("2339-0", "Glucosa / glucose", "mg/dL", 65.0, 260.0, 0),
        ("4548-4", "Hemoglobina A1c / hemoglobin A1c", "%", 4.5, 11.0, 1),
        ("2160-0", "Creatinina / creatinine", "mg/dL", 0.5, 2.4, 2),
        ("777-3", "Plaquetas / platelets", "10*3/uL", 90.0, 420.0, 0)]


def _category(code: str, display: str) -> list[dict]:
    return [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": code,
                         "display": display}]}]


def _instant(rng: random.Random, days_back: int = 720) -> str:
    moment = datetime(2026, 11, 1, tzinfo=HN_TZ) - timedelta(minutes=rng.randrange(days_back * 24 * 60))
    return moment.isoformat(timespec="seconds")


def dni(rng: random.Random, sequence: int) -> str:
    """A 13-digit Honduran identity number, unique per ``sequence`` below 100,000 per place and year."""
    dept, _, muni, _ = rng.choice(PLACES)
    year = 1940 + rng.randrange(85)
    return f"{dept}{muni}{year}{sequence % 100000:05d}"


def patient(rng: random.Random, *, dni_value: str, mrn: str, resource_id: str | None = None) -> dict:
    female = rng.random() < 0.52
    dept_code, dept, muni_code, city = rng.choice(PLACES)
    facility = rng.choice(FACILITIES)
    born = date(1940, 1, 1) + timedelta(days=rng.randrange(85 * 365))
    resource: dict = {"resourceType": "Patient"}
    if resource_id:
        resource["id"] = resource_id
    resource.update({
        "identifier": [
            {"use": "official", "system": DNI_SYSTEM, "value": dni_value,
             "type": {"text": "Documento Nacional de Identificación (DNI)"}},
            {"use": "usual", "system": MRN_SYSTEM, "value": mrn, "type": {"text": "Número de expediente"},
             "assigner": {"display": facility}},
        ],
        "active": True,
        "name": [{"use": "official", "family": f"{rng.choice(FAMILY)} {rng.choice(FAMILY)}",
                  "given": rng.sample(GIVEN_F if female else GIVEN_M, 2)}],
        "telecom": [{"system": "phone", "value": f"+504 {rng.choice('3789')}{rng.randrange(100, 999)}-"
                                                 f"{rng.randrange(1000, 9999)}", "use": "mobile"}],
        "gender": "female" if female else "male",
        "birthDate": born.isoformat(),
        "address": [{
            "extension": [
                {"url": EXT_DEPARTMENT, "valueCoding": {"system": CS_DEPARTMENT, "code": dept_code, "display": dept}},
                {"url": EXT_MUNICIPALITY, "valueCoding": {"system": CS_MUNICIPALITY, "code": dept_code + muni_code,
                                                          "display": city}},
            ],
            "use": "home", "line": [rng.choice(STREETS).format(n=rng.randrange(1, 60))], "city": city,
            "state": dept, "country": "HN"}],
        "communication": [{"language": {"coding": [{"system": "urn:ietf:bcp:47", "code": "es", "display": "Español"}]},
                           "preferred": True}],
    })
    return resource


def observation(rng: random.Random, *, subject: str, encounter: str | None = None,
                resource_id: str | None = None) -> dict:
    lab = rng.random() < 0.3
    code, display, unit, low, high, decimals = rng.choice(LABS if lab else VITALS)
    value = round(rng.uniform(low, high), decimals)
    resource: dict = {"resourceType": "Observation"}
    if resource_id:
        resource["id"] = resource_id
    resource.update({
        "status": "final",
        "category": _category("laboratory", "Laboratory") if lab else _category("vital-signs", "Vital Signs"),
        "code": {"coding": [{"system": LOINC, "code": code, "display": display}], "text": display},
        "subject": {"reference": subject},
    })
    if encounter:
        resource["encounter"] = {"reference": encounter}
    resource.update({
        "effectiveDateTime": _instant(rng),
        "performer": [{"display": rng.choice(FACILITIES)}],
        "valueQuantity": {"value": value if decimals else int(value), "unit": unit, "system": UCUM, "code": unit},
    })
    return resource


def encounter(rng: random.Random, *, subject: str, resource_id: str | None = None) -> dict:
    start = datetime.fromisoformat(_instant(rng))
    kind, text = rng.choice(ENCOUNTER_TYPES)
    resource: dict = {"resourceType": "Encounter"}
    if resource_id:
        resource["id"] = resource_id
    resource.update({
        "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                  "code": "EMER" if kind == "50849002" else "AMB",
                  "display": "emergency" if kind == "50849002" else "ambulatory"},
        "type": [{"coding": [{"system": "http://snomed.info/sct", "code": kind}], "text": text}],
        "subject": {"reference": subject},
        "period": {"start": start.isoformat(), "end": (start + timedelta(minutes=rng.randrange(10, 240))).isoformat()},
        "serviceProvider": {"display": rng.choice(FACILITIES)},
    })
    return resource


# --- pre-serialised templates for the HTTP workloads ---------------------------------------------------

def patient_templates(rng: random.Random, count: int = 256) -> list[bytes]:
    return [orjson.dumps(patient(rng, dni_value=P_DNI.decode(), mrn=P_MRN.decode())) for _ in range(count)]


def observation_templates(rng: random.Random, count: int = 256) -> list[bytes]:
    return [orjson.dumps(observation(rng, subject=P_SUBJECT.decode())) for _ in range(count)]


def bundle_templates(rng: random.Random, size: int, count: int = 64) -> list[bytes]:
    """Transaction Bundles: 1 Patient, then Encounters and Observations referencing it by urn:uuid."""
    out = []
    patient_urn = f"urn:uuid:{P_PATIENT_URN.decode()}"
    for _ in range(count):
        entries = [_post(patient_urn, patient(rng, dni_value=P_DNI.decode(), mrn=P_MRN.decode()))]
        encounters = [f"urn:uuid:{uuid.UUID(int=rng.getrandbits(128), version=4)}"
                      for _ in range(max(1, (size - 1) // 6))]
        for urn in encounters[: size - 1]:
            entries.append(_post(urn, encounter(rng, subject=patient_urn)))
        while len(entries) < size:
            entries.append(_post(f"urn:uuid:{uuid.UUID(int=rng.getrandbits(128), version=4)}",
                                 observation(rng, subject=patient_urn, encounter=rng.choice(encounters))))
        out.append(orjson.dumps({"resourceType": "Bundle", "type": "transaction", "entry": entries}))
    return out


def _post(full_url: str, resource: dict) -> dict:
    return {"fullUrl": full_url, "resource": resource, "request": {"method": "POST", "url": resource["resourceType"]}}


def fill(template: bytes, **values: str) -> bytes:
    for name, value in values.items():
        template = template.replace(_PLACEHOLDERS[name], value.encode())
    return template


_PLACEHOLDERS = {"dni": P_DNI, "mrn": P_MRN, "subject": P_SUBJECT, "purn": P_PATIENT_URN}


# --- documents for the raw ceiling and the loader ------------------------------------------------------

def documents(rng: random.Random, run: str, start: int = 0, bundle_size: int = 20) -> Iterator[dict]:
    """An endless stream of resources with ids, grouped as the Bundles are: 1 Patient then its records."""
    sequence = start
    while True:
        patient_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        yield patient(rng, dni_value=dni(rng, sequence), mrn=f"{run}-{sequence}", resource_id=patient_id)
        sequence += 1
        subject = f"Patient/{patient_id}"
        encounters = [str(uuid.UUID(int=rng.getrandbits(128), version=4))
                      for _ in range(max(1, (bundle_size - 1) // 6))]
        for encounter_id in encounters[: bundle_size - 1]:
            yield encounter(rng, subject=subject, resource_id=encounter_id)
        for _ in range(bundle_size - 1 - len(encounters[: bundle_size - 1])):
            yield observation(rng, subject=subject, encounter=f"Encounter/{rng.choice(encounters)}",
                              resource_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)))
