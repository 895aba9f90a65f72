"""Extensions and the administrative profiles: Patient, Organization (health facility), Practitioner,
PractitionerRole, Location and HealthcareService (R4 profiling.html)."""

from __future__ import annotations

from fhir_profiles import systems as s

from .dsl import bind, el, ext, extension, inv, profile, ref, sliced

_DNI_REGEX = s.DNI_PATTERN
_PHONE_REGEX = r"^(\+504 ?)?[2-9][0-9]{3}-?[0-9]{4}$"  # 8-digit national numbers, optional +504
_DEPT_OF_MUNICIPALITY = (  # the comparison's operands are both evaluated on the address (FHIRPath §5)
    f"extension.where(url = '{s.EXT_MUNICIPALITY}').exists() implies "
    f"(extension.where(url = '{s.EXT_MUNICIPALITY}').value.code.substring(0, 2) = "
    f"extension.where(url = '{s.EXT_DEPARTMENT}').value.code)")

EXTENSIONS = [
    extension("pueblo", "Pueblo indígena o afrohondureño", "Pueblo indígena o afrohondureño con el que la persona "
              "se identifica, para informar sobre la atención de poblaciones vulnerables. / Indigenous or "
              "Afro-Honduran people the person identifies with.", ["Patient"], "Coding", binding=bind("pueblo")),
    extension("departamento", "Departamento", "Departamento de la dirección (código del INE). / Department of the "
              "address.", ["Address"], "Coding", binding=bind("departamento")),
    extension("municipio", "Municipio", "Municipio de la dirección: código de 4 dígitos (departamento y "
              "municipio). / Municipality of the address (4-digit code).", ["Address"],
              [{"code": "Coding"}], constraints=[
                  inv("hn-mun-1", "El municipio es un código de 4 dígitos que empieza por un departamento 01-18 "
                      "del sistema de municipios / the municipality is a 4-digit code of the municipality system",
                      f"value.system = '{s.CS_MUNICIPALITY}' and "
                      "value.code.matches('^(0[1-9]|1[0-8])[0-9]{2}$')")]),
    extension("region-sanitaria", "Región sanitaria", "Región sanitaria a la que pertenece el establecimiento. / "
              "Health region of the facility.", ["Organization"], "Coding", binding=bind("region-sanitaria")),
    extension("red-servicios", "Red de servicios de salud", "Red integrada de servicios de salud a la que pertenece "
              "el establecimiento. / Health services network of the facility.", ["Organization"],
              ref("Organization")),
    extension("acepta-referencias", "Acepta referencias ahora", "Si el servicio recibe referencias en este momento "
              "(capacidad disponible). / Whether the service accepts referrals now.", ["HealthcareService"],
              "boolean"),
    extension("referencia-justificada", "Referencia justificada", "Juicio del establecimiento que responde: la "
              "referencia era necesaria (no podía resolverse en el nivel de origen). / The responding facility's "
              "judgement that the referral was warranted.", ["Composition"], "boolean"),
    extension("referencia-oportuna", "Referencia oportuna", "Juicio del establecimiento que responde: el paciente "
              "fue referido a tiempo. / The responding facility's judgement that the referral was timely.",
              ["Composition"], "boolean"),
    extension("condicion-traslado", "Condición al traslado", "Estado clínico del paciente al salir hacia el "
              "establecimiento de destino. / Patient condition at transfer.", ["ServiceRequest"], "Coding",
              binding=bind("condicion-traslado")),
    extension("medio-transporte", "Medio de transporte", "Cómo viaja el paciente. / How the patient travels.",
              ["ServiceRequest"], "Coding", binding=bind("medio-transporte")),
]


def _address(root: str, *, min_count: int) -> list:
    """Addresses carry the department (required) and the municipality as coded extensions."""
    return [
        el(root, min=min_count, constraint=[inv(
            "hn-dir-1", "El municipio pertenece al departamento de la dirección / the municipality belongs to the "
            "address's department", _DEPT_OF_MUNICIPALITY)]),
        sliced(f"{root}.extension", ("value", "url")),
        ext(f"{root}.extension:departamento", s.EXT_DEPARTMENT, min=1),
        ext(f"{root}.extension:municipio", s.EXT_MUNICIPALITY),
        el(f"{root}.country", fixedString="HN"),
    ]


PATIENT = profile("hn-paciente", "Patient", "Paciente (Honduras)", "Paciente de la red pública de salud: DNI u "
                  "otro identificador, ambos apellidos, sexo, fecha de nacimiento, dirección con departamento y "
                  "municipio, pueblo, teléfono e idioma. / Patient of the Honduran public health network.", [
    el("Patient", constraint=[inv(
        "hn-pac-1", "Los teléfonos son números nacionales de 8 dígitos / phone numbers are 8-digit national numbers",
        f"telecom.where(system = 'phone').all(value.matches('{_PHONE_REGEX}'))")]),
    sliced("Patient.extension", ("value", "url")),
    ext("Patient.extension:pueblo", s.EXT_PEOPLE),
    sliced("Patient.identifier", ("value", "system"), min=1,
           short="DNI, inscripción de nacimiento, pasaporte o expediente / national id, birth registration, "
                 "passport or record number"),
    el("Patient.identifier.system", min=1),
    el("Patient.identifier.value", min=1),
    el("Patient.identifier:dni", min=0, max="1", short="DNI (RNP): 13 dígitos, se muestra 0000-0000-00000",
       constraint=[inv("hn-dni-1", "El DNI tiene 13 dígitos: departamento 01-18, municipio, año y secuencia / the "
                       "DNI has 13 digits: department 01-18, municipality, year and sequence",
                       f"value.matches('{_DNI_REGEX}')")]),
    el("Patient.identifier:dni.system", min=1, fixedUri=s.DNI),
    el("Patient.identifier:dni.value", min=1),
    el("Patient.identifier:inscripcion", min=0, max="1",
       short="Número de inscripción de nacimiento (menores sin DNI) / birth registration number"),
    el("Patient.identifier:inscripcion.system", min=1, fixedUri=s.BIRTH_REGISTRATION),
    el("Patient.identifier:pasaporte", min=0, max="*", short="Pasaporte (extranjeros) / passport (foreigners)"),
    el("Patient.identifier:pasaporte.system", min=1, fixedUri=s.PASSPORT),
    el("Patient.identifier:pasaporte.assigner", min=1, short="País emisor en display / issuing country"),
    el("Patient.identifier:expediente", min=0, max="*", short="Número de expediente del establecimiento"),
    el("Patient.identifier:expediente.system", min=1, fixedUri=s.RECORD_NUMBER),
    el("Patient.identifier:expediente.assigner", min=1, type=ref("hn-establecimiento")),
    el("Patient.name", min=1),
    el("Patient.name.extension", short="Segundo apellido en humanname-mothers-family / second surname"),
    el("Patient.name.family", min=1, short="Primer apellido / first surname"),
    el("Patient.name.given", min=1),
    el("Patient.telecom", short="Teléfono móvil para SMS (system phone, use mobile) / mobile phone for SMS"),
    el("Patient.gender", min=1),
    el("Patient.birthDate", min=1),
    *_address("Patient.address", min_count=0),
    el("Patient.communication.language", binding=bind("idioma", "extensible")),
    el("Patient.managingOrganization", type=ref("hn-establecimiento")),
])

ORGANIZATION = profile("hn-establecimiento", "Organization", "Establecimiento de salud (Honduras)",
                       "Establecimiento de la red pública: código, nivel y tipo, región sanitaria, departamento y "
                       "municipio, red de servicios. / Health facility of the public network.", [
    el("Organization", constraint=[inv(
        "hn-est-1", "El tipo de establecimiento corresponde a su nivel de atención (UAPS, CIS y policlínico: primer "
        "nivel; hospitales: segundo) / the facility type matches its level of care",
        f"type.coding.where(system = '{s.CS_FACILITY_TYPE}' and code in ('UAPS' | 'CIS' | 'POLI')).exists() = "
        f"type.coding.where(system = '{s.CS_FACILITY_LEVEL}' and code = '1').exists()")]),
    sliced("Organization.extension", ("value", "url")),
    ext("Organization.extension:regionSanitaria", s.EXT_HEALTH_REGION, min=1),
    ext("Organization.extension:redServicios", s.EXT_HEALTH_NETWORK),
    sliced("Organization.identifier", ("value", "system"), min=1),
    el("Organization.identifier:codigo", min=1, max="1", short="Código del establecimiento / facility code"),
    el("Organization.identifier:codigo.system", min=1, fixedUri=s.FACILITY_CODE),
    el("Organization.identifier:codigo.value", min=1),
    el("Organization.active", min=1),
    sliced("Organization.type", ("pattern", "$this"), min=2),
    el("Organization.type:nivel", min=1, max="1", patternCodeableConcept={"coding": [{"system":
                                                                                       s.CS_FACILITY_LEVEL}]},
       binding=bind("nivel-atencion")),
    el("Organization.type:tipo", min=1, max="1", patternCodeableConcept={"coding": [{"system": s.CS_FACILITY_TYPE}]},
       binding=bind("tipo-establecimiento")),
    el("Organization.name", min=1),
    *_address("Organization.address", min_count=1),
    el("Organization.partOf", type=ref("Organization")),
])

PRACTITIONER = profile("hn-profesional", "Practitioner", "Profesional de salud (Honduras)", "Profesional con su "
                       "número de colegiación. / Health professional with a professional licence number.", [
    sliced("Practitioner.identifier", ("value", "system"), min=1),
    el("Practitioner.identifier:colegiacion", min=1, max="1",
       short="Número de colegiación; assigner.display nombra el colegio / licence number and issuing college"),
    el("Practitioner.identifier:colegiacion.system", min=1, fixedUri=s.PROFESSIONAL_LICENCE),
    el("Practitioner.identifier:colegiacion.value", min=1),
    el("Practitioner.identifier:colegiacion.assigner", min=1),
    el("Practitioner.identifier:dni", min=0, max="1",
       constraint=[inv("hn-dni-1", "El DNI tiene 13 dígitos: departamento 01-18, municipio, año y secuencia / the "
                       "DNI has 13 digits: department 01-18, municipality, year and sequence",
                       f"value.matches('{_DNI_REGEX}')")]),
    el("Practitioner.identifier:dni.system", min=1, fixedUri=s.DNI),
    el("Practitioner.name", min=1),
    el("Practitioner.name.family", min=1),
    el("Practitioner.name.given", min=1),
])

PRACTITIONER_ROLE = profile("hn-rol-profesional", "PractitionerRole", "Rol del profesional (Honduras)",
                            "Dónde trabaja un profesional y con qué especialidad. / Where a professional works and "
                            "in which specialty.", [
    el("PractitionerRole.active", min=1),
    el("PractitionerRole.practitioner", min=1, type=ref("hn-profesional")),
    el("PractitionerRole.organization", min=1, type=ref("hn-establecimiento")),
    el("PractitionerRole.specialty", min=1, binding=bind("especialidad")),
])

LOCATION = profile("hn-ubicacion", "Location", "Ubicación (Honduras)", "Sala, servicio o edificio de un "
                   "establecimiento. / A place within a facility.", [
    el("Location.status", min=1),
    el("Location.name", min=1),
    *_address("Location.address", min_count=0),
    el("Location.managingOrganization", min=1, type=ref("hn-establecimiento")),
])

HEALTHCARE_SERVICE = profile("hn-servicio", "HealthcareService", "Servicio de salud (Honduras)", "Servicio o "
                             "especialidad que ofrece un establecimiento y si acepta referencias ahora. / A service "
                             "a facility offers and whether it accepts referrals now.", [
    sliced("HealthcareService.extension", ("value", "url")),
    ext("HealthcareService.extension:aceptaReferencias", s.EXT_ACCEPTING_REFERRALS, min=1),
    el("HealthcareService.active", min=1),
    el("HealthcareService.providedBy", min=1, type=ref("hn-establecimiento")),
    el("HealthcareService.specialty", min=1, binding=bind("especialidad")),
    el("HealthcareService.name", min=1),
])

PROFILES = [PATIENT, ORGANIZATION, PRACTITIONER, PRACTITIONER_ROLE, LOCATION, HEALTHCARE_SERVICE]
