"""One valid example per national profile, with explicit synthetic Honduran values (no real person: the DNIs
are made up and follow only the published layout)."""

from __future__ import annotations

from decimal import Decimal

from fhir_profiles import systems as s

LOINC = s.LOINC
UCUM = s.UCUM


def profile_url(pid: str) -> str:
    return s.canonical("StructureDefinition", pid)


def _meta(pid: str) -> dict:
    return {"profile": [profile_url(pid)]}


def address(*, department: str = "08", municipality: str = "0801", city: str = "Tegucigalpa") -> dict:
    return {"extension": [{"url": s.EXT_DEPARTMENT, "valueCoding": {"system": s.CS_DEPARTMENT, "code": department}},
                          {"url": s.EXT_MUNICIPALITY, "valueCoding": {"system": s.CS_MUNICIPALITY,
                                                                      "code": municipality}}],
            "line": ["Col. Kennedy, bloque 14, casa 3"], "city": city, "country": "HN"}


def patient(*, dni: str = "0801199012345", family: str = "Zelaya", second_family: str = "Banegas",
            given: str = "Dilcia", gender: str = "female", birth_date: str = "1990-05-02",
            people: str | None = "lenca", phone: str = "9876-5432") -> dict:
    data = {"resourceType": "Patient", "meta": _meta("hn-paciente"),
            "identifier": [{"system": s.DNI, "value": dni}],
            "name": [{"family": family, "given": [given],
                      "extension": [{"url": s.EXT_SECOND_SURNAME, "valueString": second_family}]}],
            "telecom": [{"system": "phone", "value": phone, "use": "mobile"}],
            "gender": gender, "birthDate": birth_date, "address": [address()],
            "communication": [{"language": {"coding": [{"system": "urn:ietf:bcp:47", "code": "es"}]},
                               "preferred": True}]}
    if people:
        data["extension"] = [{"url": s.EXT_PEOPLE, "valueCoding": {"system": s.CS_PEOPLE, "code": people}}]
    return data


def facility(*, code: str = "HN-0801-0001", kind: str = "HE", level: str = "2",
             name: str = "Hospital Escuela") -> dict:
    return {"resourceType": "Organization", "meta": _meta("hn-establecimiento"),
            "extension": [{"url": s.EXT_HEALTH_REGION, "valueCoding": {"system": s.CS_HEALTH_REGION, "code": "19"}}],
            "identifier": [{"system": s.FACILITY_CODE, "value": code}], "active": True,
            "type": [{"coding": [{"system": s.CS_FACILITY_LEVEL, "code": level}]},
                     {"coding": [{"system": s.CS_FACILITY_TYPE, "code": kind}]}],
            "name": name, "address": [address()]}


def practitioner(*, licence: str = "CMH-10234") -> dict:
    return {"resourceType": "Practitioner", "meta": _meta("hn-profesional"),
            "identifier": [{"system": s.PROFESSIONAL_LICENCE, "value": licence,
                            "assigner": {"display": "Colegio Médico de Honduras"}}],
            "name": [{"family": "Maradiaga", "given": ["Héctor"]}]}


def practitioner_role() -> dict:
    return {"resourceType": "PractitionerRole", "meta": _meta("hn-rol-profesional"), "active": True,
            "practitioner": {"reference": "Practitioner/prof-1"}, "organization": {"reference": "Organization/est-1"},
            "specialty": [{"coding": [{"system": s.CS_SPECIALTY, "code": "pediatria"}]}]}


def location() -> dict:
    return {"resourceType": "Location", "meta": _meta("hn-ubicacion"), "status": "active",
            "name": "Sala de emergencia pediátrica", "address": address(),
            "managingOrganization": {"reference": "Organization/est-1"}}


def healthcare_service(*, accepting: bool = True) -> dict:
    return {"resourceType": "HealthcareService", "meta": _meta("hn-servicio"),
            "extension": [{"url": s.EXT_ACCEPTING_REFERRALS, "valueBoolean": accepting}], "active": True,
            "providedBy": {"reference": "Organization/est-1"}, "name": "Consulta externa de pediatría",
            "specialty": [{"coding": [{"system": s.CS_SPECIALTY, "code": "pediatria"}]}]}


def encounter() -> dict:
    return {"resourceType": "Encounter", "meta": _meta("hn-atencion"), "status": "finished",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
            "subject": {"reference": "Patient/pac-1"}, "serviceProvider": {"reference": "Organization/est-1"},
            "period": {"start": "2026-11-20T08:30:00-06:00"}}


def condition(*, icd10: str = "E11.9") -> dict:
    return {"resourceType": "Condition", "meta": _meta("hn-diagnostico"),
            "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                           "code": "active"}]},
            "code": {"coding": [{"system": s.ICD10, "code": icd10}], "text": "Diabetes mellitus tipo 2"},
            "subject": {"reference": "Patient/pac-1"}, "recordedDate": "2026-11-20"}


def _vital(pid: str, code: str, value: Decimal | int, unit: str) -> dict:
    return {"resourceType": "Observation", "meta": _meta(pid), "status": "final",
            "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                      "code": "vital-signs"}]}],
            "code": {"coding": [{"system": LOINC, "code": code}]}, "subject": {"reference": "Patient/pac-1"},
            "effectiveDateTime": "2026-11-20T08:40:00-06:00",
            "valueQuantity": {"value": value, "unit": unit, "system": UCUM, "code": unit}}


VITALS = {
    "hn-frecuencia-cardiaca": ("8867-4", 88, "/min"),
    "hn-frecuencia-respiratoria": ("9279-1", 18, "/min"),
    "hn-temperatura": ("8310-5", Decimal("37.2"), "Cel"),
    "hn-saturacion-oxigeno": ("59408-5", 97, "%"),
    "hn-peso": ("29463-7", Decimal("64.5"), "kg"),
    "hn-talla": ("8302-2", 158, "cm"),
    "hn-glasgow": ("9269-2", 15, "{score}"),
    "hn-frecuencia-cardiaca-fetal": ("55283-6", 140, "/min"),
}


def vital(pid: str = "hn-temperatura", value: Decimal | int | None = None) -> dict:
    code, default, unit = VITALS[pid]
    return _vital(pid, code, default if value is None else value, unit)


def vital_sign_generic() -> dict:
    data = _vital("hn-signo-vital", "8867-4", 80, "/min")
    data["meta"] = _meta("hn-signo-vital")
    return data


def blood_pressure(*, systolic: int = 120, diastolic: int = 80) -> dict:
    data = _vital("hn-presion-arterial", "85354-9", 0, "mm[Hg]")
    del data["valueQuantity"]
    data["component"] = [
        {"code": {"coding": [{"system": LOINC, "code": "8480-6"}]},
         "valueQuantity": {"value": systolic, "unit": "mm[Hg]", "system": UCUM, "code": "mm[Hg]"}},
        {"code": {"coding": [{"system": LOINC, "code": "8462-4"}]},
         "valueQuantity": {"value": diastolic, "unit": "mm[Hg]", "system": UCUM, "code": "mm[Hg]"}}]
    return data


def allergy() -> dict:
    return {"resourceType": "AllergyIntolerance", "meta": _meta("hn-alergia"),
            "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/"
                                                     "allergyintolerance-clinical", "code": "active"}]},
            "verificationStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/"
                                                         "allergyintolerance-verification", "code": "confirmed"}]},
            "code": {"text": "Penicilina"}, "patient": {"reference": "Patient/pac-1"}, "recordedDate": "2026-11-20"}


def medication_request() -> dict:
    return {"resourceType": "MedicationRequest", "meta": _meta("hn-receta"), "status": "active", "intent": "order",
            "medicationCodeableConcept": {"text": "Metformina 850 mg tableta"},
            "subject": {"reference": "Patient/pac-1"}, "authoredOn": "2026-11-20",
            "requester": {"reference": "Practitioner/prof-1"},
            "dosageInstruction": [{"text": "Una tableta cada 12 horas con las comidas"}]}


def immunization() -> dict:
    return {"resourceType": "Immunization", "meta": _meta("hn-vacuna"), "status": "completed",
            "vaccineCode": {"text": "Pentavalente"}, "patient": {"reference": "Patient/pac-1"},
            "occurrenceDateTime": "2026-11-20", "lotNumber": "LOTE-2026-118",
            "protocolApplied": [{"doseNumberPositiveInt": 1}]}


def diagnostic_report() -> dict:
    return {"resourceType": "DiagnosticReport", "meta": _meta("hn-informe-diagnostico"), "status": "final",
            "code": {"text": "Hemograma"}, "subject": {"reference": "Patient/pac-1"},
            "effectiveDateTime": "2026-11-20T07:00:00-06:00", "issued": "2026-11-20T10:00:00-06:00",
            "performer": [{"reference": "Organization/est-1"}], "conclusion": "Anemia leve"}


def referral() -> dict:
    return {"resourceType": "ServiceRequest", "meta": _meta("hn-referencia"),
            "extension": [{"url": s.EXT_TRANSFER_CONDITION, "valueCoding": {"system": s.CS_TRANSFER_CONDITION,
                                                                             "code": "estable"}},
                          {"url": s.EXT_TRANSPORT, "valueCoding": {"system": s.CS_TRANSPORT,
                                                                    "code": "ambulancia-basica"}}],
            "identifier": [{"system": s.REFERRAL_NUMBER, "value": "REF-2026-000123"}],
            "status": "active", "intent": "order",
            "category": [{"coding": [{"system": s.CS_REQUEST_CATEGORY, "code": "referencia"}]}],
            "priority": "urgent", "code": {"coding": [{"system": s.CS_REFERRAL_SERVICE, "code": "consulta-externa"}]},
            "subject": {"reference": "Patient/pac-1"}, "authoredOn": "2026-11-20T09:00:00-06:00",
            "requester": {"reference": "PractitionerRole/rol-1"},
            "performerType": {"coding": [{"system": s.CS_SPECIALTY, "code": "endocrinologia"}]},
            "performer": [{"reference": "Organization/est-1"}],
            "reasonCode": [{"coding": [{"system": s.ICD10, "code": "E11.9"}],
                            "text": "Diabetes descompensada pese a tratamiento oral"}],
            "supportingInfo": [{"reference": "Observation/obs-1"}]}


def referral_task(*, status: str = "requested", business: str = "enviada", reason: str | None = None) -> dict:
    data = {"resourceType": "Task", "meta": _meta("hn-tarea-referencia"), "status": status, "intent": "order",
            "businessStatus": {"coding": [{"system": s.CS_REFERRAL_STATUS, "code": business}]},
            "focus": {"reference": "ServiceRequest/ref-1"}, "for": {"reference": "Patient/pac-1"},
            "authoredOn": "2026-11-20T09:00:00-06:00", "requester": {"reference": "PractitionerRole/rol-1"},
            "owner": {"reference": "Organization/est-1"}}
    if reason:
        data["statusReason"] = {"coding": [{"system": s.CS_REJECTION_REASON, "code": reason}]}
    return data


def _section(code: str, text: str, entries: list[str] | None = None) -> dict:
    section = {"title": text, "code": {"coding": [{"system": s.CS_RESPONSE_SECTION, "code": code}]},
               "text": {"status": "generated", "div": f'<div xmlns="http://www.w3.org/1999/xhtml">{text}</div>'}}
    if entries:
        section["entry"] = [{"reference": e} for e in entries]
    return section


def response() -> dict:
    return {"resourceType": "Composition", "meta": _meta("hn-respuesta-referencia"), "status": "final",
            "type": {"coding": [{"system": LOINC, "code": "11488-4"}]}, "subject": {"reference": "Patient/pac-1"},
            "date": "2026-11-22T15:00:00-06:00", "author": [{"reference": "PractitionerRole/rol-2"}],
            "title": "Respuesta a la referencia REF-2026-000123",
            "event": [{"detail": [{"reference": "ServiceRequest/ref-1"}]}],
            "section": [_section("diagnosticos", "Diabetes mellitus tipo 2", ["Condition/dx-1"]),
                        _section("recomendaciones", "Insulina NPH y control de glucemia"),
                        _section("seguimiento", "Control en la UAPS en 2 semanas")]}


EXAMPLES = {
    "hn-paciente": patient, "hn-establecimiento": facility, "hn-profesional": practitioner,
    "hn-rol-profesional": practitioner_role, "hn-ubicacion": location, "hn-servicio": healthcare_service,
    "hn-atencion": encounter, "hn-diagnostico": condition, "hn-signo-vital": vital_sign_generic,
    "hn-presion-arterial": blood_pressure, "hn-alergia": allergy, "hn-receta": medication_request,
    "hn-vacuna": immunization, "hn-informe-diagnostico": diagnostic_report, "hn-referencia": referral,
    "hn-tarea-referencia": referral_task, "hn-respuesta-referencia": response,
    **{pid: (lambda pid=pid: vital(pid)) for pid in VITALS},
}
