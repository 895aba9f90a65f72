"""The canonical base of the national conformance resources and every identifier and code system URI.

One module so the store, the referral engine and the seed generator name things the same way. The base
is ``https://fhir.salud.gob.hn`` unless ``ECE_PROFILE_CANONICAL_BASE`` is set in the process environment
(read once, at import, so the URIs below stay plain constants; the JSON definitions are written with the
default base and rewritten to the configured one when loaded).

URIs follow R4 references.html#canonical and the HL7 habit of ``/sid/`` for identifier namespaces
(R4 identifier-registry.html); they are locators of the national guide, stable once published.
"""

from __future__ import annotations

import os
import re

DEFAULT_CANONICAL_BASE = "https://fhir.salud.gob.hn"
CANONICAL_BASE = (os.environ.get("ECE_PROFILE_CANONICAL_BASE") or DEFAULT_CANONICAL_BASE).rstrip("/")
PROFILES_VERSION = "0.1.0"


def canonical(kind: str, name: str) -> str:
    """``{base}/StructureDefinition/hn-paciente`` and the like (R4 resource.html#canonical)."""
    return f"{CANONICAL_BASE}/{kind}/{name}"


def sid(name: str) -> str:
    return f"{CANONICAL_BASE}/sid/{name}"


# --- identifier systems (Identifier.system) -----------------------------------------------------------
DNI = sid("dni")  # Documento Nacional de Identificación, Registro Nacional de las Personas (RNP)
BIRTH_REGISTRATION = sid("inscripcion-nacimiento")  # número de inscripción de nacimiento del RNP (menores)
PASSPORT = sid("pasaporte")  # pasaporte extranjero; Identifier.assigner.display names the issuing country
RECORD_NUMBER = sid("expediente")  # número de expediente clínico del establecimiento
FACILITY_CODE = sid("codigo-establecimiento")  # código del establecimiento de salud (Secretaría de Salud)
PROFESSIONAL_LICENCE = sid("colegiacion")  # número de colegiación profesional
REFERRAL_NUMBER = sid("referencia")  # número de referencia (ServiceRequest.identifier)

# --- code systems (Coding.system) ---------------------------------------------------------------------
CS_DEPARTMENT = canonical("CodeSystem", "departamento")
CS_MUNICIPALITY = canonical("CodeSystem", "municipio")
CS_HEALTH_REGION = canonical("CodeSystem", "region-sanitaria")
CS_FACILITY_LEVEL = canonical("CodeSystem", "nivel-atencion")
CS_FACILITY_TYPE = canonical("CodeSystem", "tipo-establecimiento")
CS_PEOPLE = canonical("CodeSystem", "pueblo")
CS_SPECIALTY = canonical("CodeSystem", "especialidad")
CS_REFERRAL_SERVICE = canonical("CodeSystem", "servicio-referencia")
CS_REFERRAL_STATUS = canonical("CodeSystem", "estado-referencia")
CS_REJECTION_REASON = canonical("CodeSystem", "motivo-rechazo")
CS_CANCELLATION_REASON = canonical("CodeSystem", "motivo-cancelacion")
CS_REFERRAL_EVENT = canonical("CodeSystem", "evento-referencia")
CS_TRANSFER_CONDITION = canonical("CodeSystem", "condicion-traslado")
CS_TRANSPORT = canonical("CodeSystem", "medio-transporte")
CS_RESPONSE_SECTION = canonical("CodeSystem", "seccion-respuesta")
CS_REQUEST_CATEGORY = canonical("CodeSystem", "categoria-solicitud")
ICD10 = "http://hl7.org/fhir/sid/icd-10"  # WHO ICD-10 (R4 terminologies-systems.html)
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
SNOMED = "http://snomed.info/sct"
CVX = "http://hl7.org/fhir/sid/cvx"

# --- extensions ---------------------------------------------------------------------------------------
EXT_PEOPLE = canonical("StructureDefinition", "pueblo")
EXT_DEPARTMENT = canonical("StructureDefinition", "departamento")
EXT_MUNICIPALITY = canonical("StructureDefinition", "municipio")
EXT_HEALTH_REGION = canonical("StructureDefinition", "region-sanitaria")
EXT_HEALTH_NETWORK = canonical("StructureDefinition", "red-servicios")
EXT_ACCEPTING_REFERRALS = canonical("StructureDefinition", "acepta-referencias")
EXT_TRANSFER_CONDITION = canonical("StructureDefinition", "condicion-traslado")
EXT_TRANSPORT = canonical("StructureDefinition", "medio-transporte")
EXT_REFERRAL_JUSTIFIED = canonical("StructureDefinition", "referencia-justificada")  # on the response Composition
EXT_REFERRAL_TIMELY = canonical("StructureDefinition", "referencia-oportuna")
EXT_SECOND_SURNAME = "http://hl7.org/fhir/StructureDefinition/humanname-mothers-family"  # R4 core extension

# --- the DNI ------------------------------------------------------------------------------------------
# 13 digits: department (01..18), municipality, year of registration (4 digits), sequence. No check digit
# exists, so none is computed.
DNI_PATTERN = r"^(0[1-9]|1[0-8])[0-9]{2}(19|20)[0-9]{2}[0-9]{5}$"
_DNI = re.compile(DNI_PATTERN)
DEPARTMENT_CODES = tuple(f"{n:02d}" for n in range(1, 19))


def is_dni(value: str) -> bool:
    return bool(_DNI.match(value))


def format_dni(value: str) -> str:
    """``0801199012345`` → ``0801-1990-12345`` (the printed form on the card)."""
    if not is_dni(value):
        raise ValueError(f"no es un DNI / not a DNI: {value!r}")
    return f"{value[:4]}-{value[4:8]}-{value[8:]}"


def parse_dni(text: str) -> str:
    """The 13 digits of a DNI written with or without the dashes or spaces of the printed form."""
    digits = re.sub(r"[\s-]", "", text)
    if not is_dni(digits):
        raise ValueError(f"no es un DNI / not a DNI: {text!r}")
    return digits
