"""The national code lists: Spanish displays, English designations (R4 codesystem.html, valueset.html).

Department codes are the ones the DNI and the national statistics institute use (01 Atlántida ... 18 Yoro).
Health regions are the Secretaría de Salud's 18 departmental regions plus the two metropolitan ones.
Other lists are this project's proposal, to be confirmed by the Secretaría de Salud.
"""

from __future__ import annotations

from fhir_profiles import systems as s

from .dsl import code_system, codes, value_set, whole

DEPARTMENTS = [
    ("01", "Atlántida"), ("02", "Colón"), ("03", "Comayagua"), ("04", "Copán"), ("05", "Cortés"),
    ("06", "Choluteca"), ("07", "El Paraíso"), ("08", "Francisco Morazán"), ("09", "Gracias a Dios"),
    ("10", "Intibucá"), ("11", "Islas de la Bahía"), ("12", "La Paz"), ("13", "Lempira"), ("14", "Ocotepeque"),
    ("15", "Olancho"), ("16", "Santa Bárbara"), ("17", "Valle"), ("18", "Yoro"),
]

FACILITY_TYPES = [  # code, Spanish, English, level
    ("UAPS", "Unidad de Atención Primaria en Salud", "Primary health care unit", "1"),
    ("CIS", "Centro Integral de Salud", "Comprehensive health centre", "1"),
    ("POLI", "Policlínico", "Polyclinic", "1"),
    ("HB", "Hospital básico", "Basic hospital", "2"),
    ("HG", "Hospital general", "General hospital", "2"),
    ("HE", "Hospital especializado o nacional", "Specialised or national hospital", "2"),
]

# Referral business statuses and the Task.status values each one goes with (R4 task.html#statemachine);
# referral/machine.py declares the transitions between them.
REFERRAL_STATUSES = [
    ("borrador", "Borrador, aún no enviada", "Draft, not sent yet", ("draft",)),
    ("pendiente-asignacion", "Enviada sin destino: pendiente de asignación por la región",
     "Sent without a destination: awaiting assignment by the region", ("requested",)),
    ("enviada", "Enviada", "Sent", ("requested",)),
    ("recibida", "Recibida por el establecimiento de destino", "Received by the destination facility", ("received",)),
    ("aceptada", "Aceptada", "Accepted", ("accepted",)),
    ("cita-programada", "Cita programada", "Appointment booked", ("accepted",)),
    ("rechazada", "Rechazada", "Rejected", ("rejected",)),
    ("en-espera", "En espera de información", "On hold awaiting information", ("on-hold",)),
    ("paciente-en-camino", "Paciente en camino", "Patient in transit", ("in-progress",)),
    ("paciente-recibido", "Paciente recibido", "Patient arrived", ("in-progress",)),
    ("en-atencion", "En atención", "Under care", ("in-progress",)),
    ("respondida", "Respuesta enviada al establecimiento de origen", "Response sent back to the referring facility",
     ("completed",)),
    ("respuesta-recibida", "Respuesta recibida por el establecimiento de origen",
     "Response acknowledged by the referring facility", ("completed",)),
    ("cancelada", "Cancelada", "Cancelled", ("cancelled",)),
    ("redirigida", "Redirigida a otro establecimiento", "Redirected to another facility", ("cancelled",)),
    ("retirada", "Oferta retirada: otro establecimiento la aceptó", "Offer withdrawn: another facility accepted it",
     ("cancelled",)),
    ("no-se-presento", "El paciente no se presentó", "Patient did not arrive", ("failed",)),
    ("aceptacion-vencida", "Plazo de aceptación vencido", "Acceptance deadline missed", ("requested", "received")),
    ("atencion-vencida", "Plazo de atención vencido", "Attention deadline missed", ("accepted",)),
    ("anulada", "Registrada por error", "Entered in error", ("entered-in-error",)),
]

# The named events of the referral lifecycle (Provenance.activity of each recorded transition).
REFERRAL_EVENTS = [
    ("send", "Enviar", "Send"), ("receive", "Recibir", "Receive"), ("accept", "Aceptar", "Accept"),
    ("reject", "Rechazar", "Reject"), ("redirect", "Redirigir", "Redirect"), ("assign", "Asignar destino", "Assign"),
    ("hold", "Poner en espera", "Put on hold"), ("resume", "Reanudar", "Resume"),
    ("schedule", "Programar cita", "Book appointment"), ("arrive", "Registrar llegada", "Record arrival"),
    ("no-show", "Registrar inasistencia", "Record no-show"), ("respond", "Responder", "Respond"),
    ("acknowledge", "Acusar recibo de la respuesta", "Acknowledge the response"), ("cancel", "Cancelar", "Cancel"),
    ("withdraw", "Retirar la oferta", "Withdraw the offer"), ("mark-overdue", "Marcar vencida", "Mark overdue"),
    ("entered-in-error", "Anular por error de registro", "Mark entered in error"),
]

CANCELLATIONS = [
    ("paciente-mejoro", "El paciente mejoró y ya no necesita la referencia", "The patient improved"),
    ("paciente-fallecio", "El paciente falleció", "The patient died"),
    ("atendido-en-otro-lugar", "El paciente fue atendido en otro establecimiento", "Seen at another facility"),
    ("decision-del-paciente", "El paciente o su familia desistieron", "The patient or family declined"),
    ("error-de-registro", "Referencia creada por error", "Referral created in error"),
    ("otro", "Otro motivo (explique en la nota)", "Other reason (explain in the note)"),
]

SPECIALTIES = [
    ("medicina-general", "Medicina general", "General practice"),
    ("medicina-interna", "Medicina interna", "Internal medicine"),
    ("pediatria", "Pediatría", "Paediatrics"),
    ("neonatologia", "Neonatología", "Neonatology"),
    ("ginecologia-obstetricia", "Ginecología y obstetricia", "Obstetrics and gynaecology"),
    ("cirugia-general", "Cirugía general", "General surgery"),
    ("ortopedia", "Ortopedia y traumatología", "Orthopaedics and traumatology"),
    ("cardiologia", "Cardiología", "Cardiology"),
    ("neumologia", "Neumología", "Pulmonology"),
    ("nefrologia", "Nefrología", "Nephrology"),
    ("neurologia", "Neurología", "Neurology"),
    ("neurocirugia", "Neurocirugía", "Neurosurgery"),
    ("psiquiatria", "Psiquiatría", "Psychiatry"),
    ("oftalmologia", "Oftalmología", "Ophthalmology"),
    ("otorrinolaringologia", "Otorrinolaringología", "Otorhinolaryngology"),
    ("dermatologia", "Dermatología", "Dermatology"),
    ("urologia", "Urología", "Urology"),
    ("oncologia", "Oncología", "Oncology"),
    ("infectologia", "Infectología", "Infectious diseases"),
    ("endocrinologia", "Endocrinología", "Endocrinology"),
    ("gastroenterologia", "Gastroenterología", "Gastroenterology"),
    ("odontologia", "Odontología", "Dentistry"),
    ("nutricion", "Nutrición", "Nutrition"),
    ("psicologia", "Psicología", "Psychology"),
    ("fisioterapia", "Fisioterapia y rehabilitación", "Physiotherapy and rehabilitation"),
    ("enfermeria", "Enfermería", "Nursing"),
]

PEOPLES = [
    ("lenca", "Lenca", "Lenca"), ("miskito", "Miskito", "Miskito"), ("garifuna", "Garífuna", "Garifuna"),
    ("tolupan", "Tolupán", "Tolupan"), ("pech", "Pech", "Pech"), ("tawahka", "Tawahka", "Tawahka"),
    ("maya-chorti", "Maya Chortí", "Maya Ch'orti'"), ("nahua", "Nahua", "Nahua"),
    ("negro-habla-inglesa", "Afrohondureño de habla inglesa", "English-speaking Afro-Honduran"),
    ("otro", "Otro pueblo", "Other people"),
]

REJECTIONS = [
    ("sin-camas", "Sin camas disponibles", "No beds available"),
    ("servicio-no-disponible", "Servicio o especialidad no disponible", "Service or specialty not available"),
    ("especialista-ausente", "Especialista no disponible en la fecha", "Specialist not available on that date"),
    ("equipo-no-disponible", "Equipo o insumos no disponibles", "Equipment or supplies not available"),
    ("informacion-incompleta", "Información clínica incompleta", "Incomplete clinical information"),
    ("no-pertinente", "Referencia no pertinente: puede resolverse en el nivel de origen",
     "Referral not warranted: can be managed at the referring level"),
    ("nivel-equivocado", "Establecimiento de destino de nivel inadecuado", "Destination facility of the wrong level"),
    ("otro", "Otro motivo (explique en la nota)", "Other reason (explain in the note)"),
]

SERVICES = [
    ("consulta-externa", "Consulta externa especializada", "Specialised outpatient consultation"),
    ("emergencia", "Atención de emergencia", "Emergency care"),
    ("hospitalizacion", "Hospitalización", "Inpatient admission"),
    ("cirugia", "Cirugía", "Surgery"),
    ("atencion-parto", "Atención del parto", "Childbirth care"),
    ("cuidados-intensivos", "Cuidados intensivos", "Intensive care"),
    ("laboratorio", "Laboratorio clínico", "Clinical laboratory"),
    ("imagenologia", "Imagenología", "Imaging"),
    ("rehabilitacion", "Rehabilitación", "Rehabilitation"),
]

CODE_SYSTEMS = [
    code_system("departamento", "Departamentos de Honduras", "Los 18 departamentos (códigos del INE, los dos "
                "primeros dígitos del DNI). / The 18 departments of Honduras.",
                [(code, name, name) for code, name in DEPARTMENTS]),
    code_system("municipio", "Municipios de Honduras", "Código de 4 dígitos: departamento (2) y municipio (2) "
                "según el INE. Lista no incluida: se comprueba la forma y el departamento. / 4-digit INE "
                "municipality codes (department + municipality); the list is not included, its form is "
                "checked.", [], content="not-present"),
    code_system("region-sanitaria", "Regiones sanitarias", "Regiones sanitarias de la Secretaría de Salud: 18 "
                "departamentales y 2 metropolitanas. / Health regions of the Ministry of Health.",
                [(code, f"Región Sanitaria Departamental de {name}", f"{name} departmental health region")
                 for code, name in DEPARTMENTS]
                + [("19", "Región Sanitaria Metropolitana del Distrito Central",
                    "Central District metropolitan health region"),
                   ("20", "Región Sanitaria Metropolitana de San Pedro Sula",
                    "San Pedro Sula metropolitan health region")]),
    code_system("nivel-atencion", "Niveles de atención", "Nivel de atención del establecimiento (modelo "
                "nacional de salud). / Level of care of a facility.",
                [("1", "Primer nivel de atención", "First level of care"),
                 ("2", "Segundo nivel de atención (hospitalario)", "Second level of care (hospitals)")]),
    code_system("tipo-establecimiento", "Tipos de establecimiento de salud", "Tipo de establecimiento; la "
                "propiedad 'nivel' da su nivel de atención. / Facility type and its level of care.",
                [(c, es, en, {"nivel": level}) for c, es, en, level in FACILITY_TYPES],
                properties=[{"code": "nivel", "description": "Nivel de atención / level of care",
                             "type": "code"}]),
    code_system("pueblo", "Pueblos indígenas y afrohondureños", "Pueblo al que la persona dice pertenecer "
                "(autoidentificación). / Indigenous or Afro-Honduran people (self-identified).", PEOPLES),
    code_system("especialidad", "Especialidades y servicios profesionales", "Especialidades de los "
                "establecimientos y de las referencias. / Specialties of facilities and referrals.", SPECIALTIES),
    code_system("servicio-referencia", "Servicios solicitados en una referencia", "Qué se pide al establecimiento "
                "de destino. / What the referral asks of the destination facility.", SERVICES),
    code_system("categoria-solicitud", "Categorías de solicitud", "Clase de ServiceRequest del sistema de "
                "referencia y respuesta. / Kinds of ServiceRequest of the referral system.",
                [("referencia", "Referencia", "Referral"),
                 ("interconsulta", "Interconsulta", "Consultation request")]),
    code_system("estado-referencia", "Estados de la referencia", "Estados de negocio de la referencia "
                "(Task.businessStatus); la propiedad 'estado-tarea' da el Task.status que corresponde. / "
                "Referral business statuses and their Task.status.",
                [(c, es, en, {"estado-tarea": list(statuses)}) for c, es, en, statuses in REFERRAL_STATUSES],
                properties=[{"code": "estado-tarea", "description": "Task.status correspondiente / matching "
                             "Task.status", "type": "code"}]),
    code_system("evento-referencia", "Eventos del ciclo de la referencia", "Transiciones con nombre del ciclo "
                "de vida de la referencia (Provenance.activity). / Named transitions of the referral lifecycle.",
                REFERRAL_EVENTS),
    code_system("motivo-cancelacion", "Motivos de cancelación de una referencia", "Por qué el establecimiento de "
                "origen cancela la referencia. / Why the referring facility cancels a referral.", CANCELLATIONS),
    code_system("motivo-rechazo", "Motivos de rechazo de una referencia", "Por qué el establecimiento de destino "
                "no acepta la referencia. / Why a referral is rejected.", REJECTIONS),
    code_system("condicion-traslado", "Condición del paciente al traslado", "Estado clínico del paciente al "
                "salir. / Patient condition at transfer.",
                [("estable", "Estable", "Stable"), ("inestable", "Inestable", "Unstable"),
                 ("critico", "Crítico", "Critical")]),
    code_system("medio-transporte", "Medio de transporte del paciente", "Cómo viaja el paciente al "
                "establecimiento de destino. / How the patient travels.",
                [("ambulancia-basica", "Ambulancia de soporte básico", "Basic life support ambulance"),
                 ("ambulancia-avanzada", "Ambulancia de soporte avanzado", "Advanced life support ambulance"),
                 ("vehiculo-institucional", "Vehículo institucional", "Institutional vehicle"),
                 ("transporte-propio", "Medios propios", "Own means"),
                 ("transporte-publico", "Transporte público", "Public transport"),
                 ("lancha", "Lancha o embarcación", "Boat"),
                 ("aereo", "Transporte aéreo", "Air transport")]),
    code_system("seccion-respuesta", "Secciones de la respuesta a una referencia", "Secciones de la "
                "contrarreferencia (Composition.section.code). / Sections of the referral response.",
                [("diagnosticos", "Diagnósticos", "Diagnoses"), ("procedimientos", "Procedimientos realizados",
                                                                   "Procedures performed"),
                 ("tratamiento", "Tratamiento", "Treatment"), ("recomendaciones", "Recomendaciones",
                                                                "Recommendations"),
                 ("seguimiento", "Seguimiento en el establecimiento de origen",
                  "Follow-up at the referring facility")]),
]

LANGUAGES = codes("urn:ietf:bcp:47", ("es", "Español", "Spanish"), ("en", "Inglés", "English"),
                  ("miq", "Miskito", "Miskito"), ("cab", "Garífuna", "Garifuna"), ("jic", "Tol", "Tol"),
                  ("pay", "Pech", "Pech"), ("sum", "Tawahka (sumo-mayangna)", "Tawahka (Sumo-Mayangna)"),
                  ("caa", "Chortí", "Ch'orti'"))

VITAL_SIGNS = [  # LOINC code, Spanish, English, UCUM unit
    ("85354-9", "Presión arterial", "Blood pressure panel", None),
    ("8480-6", "Presión arterial sistólica", "Systolic blood pressure", "mm[Hg]"),
    ("8462-4", "Presión arterial diastólica", "Diastolic blood pressure", "mm[Hg]"),
    ("8867-4", "Frecuencia cardiaca", "Heart rate", "/min"),
    ("9279-1", "Frecuencia respiratoria", "Respiratory rate", "/min"),
    ("8310-5", "Temperatura corporal", "Body temperature", "Cel"),
    ("59408-5", "Saturación de oxígeno por oximetría de pulso", "Oxygen saturation by pulse oximetry", "%"),
    ("29463-7", "Peso corporal", "Body weight", "kg"),
    ("8302-2", "Talla", "Body height", "cm"),
    ("9269-2", "Escala de coma de Glasgow, total", "Glasgow coma score total", "{score}"),
    ("55283-6", "Frecuencia cardiaca fetal", "Fetal heart rate", "/min"),
]

VALUE_SETS = [
    *[value_set(cs["id"], cs["title"], cs["description"], [whole(cs["url"])]) for cs in CODE_SYSTEMS
      if cs["content"] == "complete"],
    value_set("prioridad-referencia", "Prioridad de la referencia", "Prioridad de la referencia con "
              "designaciones en español (códigos de request-priority). / Referral priority.",
              [codes("http://hl7.org/fhir/request-priority", ("routine", "Ordinaria", "Routine"),
                     ("urgent", "Urgente", "Urgent"), ("stat", "Emergencia", "Emergency"))]),
    value_set("motivo-estado-referencia", "Motivos de un estado de la referencia", "Motivos de rechazo y de "
              "cancelación (Task.statusReason). / Rejection and cancellation reasons.",
              [whole(s.CS_REJECTION_REASON), whole(s.CS_CANCELLATION_REASON)]),
    value_set("idioma", "Idiomas de Honduras", "Idioma preferido del paciente (BCP 47). / Preferred language.",
              [LANGUAGES]),
    value_set("signos-vitales", "Signos vitales", "Códigos LOINC de los signos vitales del expediente. / "
              "LOINC codes of the vital signs.",
              [codes(s.LOINC, *[(code, es, en) for code, es, en, _unit in VITAL_SIGNS])]),
    value_set("cie-10", "Diagnósticos CIE-10", "Categorías y subcategorías de la CIE-10 de la OMS (edición "
              "2019); no incluye capítulos ni bloques. / WHO ICD-10 categories and subcategories.",
              [{"system": s.ICD10, "filter": [{"property": "notSelectable", "op": "=", "value": "false"}]}]),
]
