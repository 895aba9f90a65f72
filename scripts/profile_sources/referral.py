"""The referral-and-response profiles: the referral (ServiceRequest), its workflow (Task, R4 workflow-management
.html) and the written response to the referring facility (Composition)."""

from __future__ import annotations

from fhir_profiles import systems as s
from referral.machine import RULES, Event

from .dsl import COMMON, bind, el, ext, inv, profile, ref, sliced
from .terminology import REFERRAL_STATUSES

REFERRAL = profile("hn-referencia", "ServiceRequest", "Referencia (Honduras)", "Referencia de un paciente a otro "
                   "establecimiento: motivo, diagnóstico presuntivo CIE-10, servicio o especialidad, prioridad, origen "
                   "y destino, condición al traslado y transporte, información clínica de soporte. / A patient "
                   "referral to another facility.", [
    el("ServiceRequest", constraint=[
        inv("hn-ref-1", "La referencia explica su motivo (reasonCode.text o note) / the referral states its reason "
            "in words", "reasonCode.text.exists() or note.exists()"),
        inv("hn-ref-2", "La referencia lleva un resumen clínico (supportingInfo o note) / the referral carries "
            "clinical information", "supportingInfo.exists() or note.exists()"),
    ]),
    sliced("ServiceRequest.extension", ("value", "url")),
    ext("ServiceRequest.extension:condicionTraslado", s.EXT_TRANSFER_CONDITION, min=1),
    ext("ServiceRequest.extension:medioTransporte", s.EXT_TRANSPORT, min=1),
    sliced("ServiceRequest.identifier", ("value", "system")),
    el("ServiceRequest.identifier:numeroReferencia", min=0, max="1"),
    el("ServiceRequest.identifier:numeroReferencia.system", min=1, fixedUri=s.REFERRAL_NUMBER),
    el("ServiceRequest.intent", fixedCode="order"),
    sliced("ServiceRequest.category", ("pattern", "$this"), min=1),
    el("ServiceRequest.category:referencia", min=1, max="1",
       patternCodeableConcept={"coding": [{"system": s.CS_REQUEST_CATEGORY, "code": "referencia"}]}),
    el("ServiceRequest.priority", min=1, binding=bind("prioridad-referencia")),
    el("ServiceRequest.code", min=1, binding=bind("servicio-referencia"),
       short="Servicio solicitado / requested service"),
    el("ServiceRequest.subject", min=1, type=ref("hn-paciente")),
    el("ServiceRequest.encounter", type=ref("hn-atencion")),
    el("ServiceRequest.authoredOn", min=1),
    el("ServiceRequest.requester", min=1, type=ref("hn-rol-profesional", "hn-establecimiento"),
       short="Origen: profesional y establecimiento que refieren / referring professional and facility"),
    el("ServiceRequest.performerType", binding=bind("especialidad"),
       short="Especialidad solicitada / requested specialty"),
    # Absent: sent without a destination (routed by the engine or the region); several: an emergency offered to
    # alternative destinations, "without any preference order" (R4 servicerequest.html#ServiceRequest.performer).
    el("ServiceRequest.performer", min=0, max="*", type=ref("hn-establecimiento", "hn-servicio"),
       short="Destino(s) / destination facility or service, or alternatives"),
    el("ServiceRequest.reasonCode", min=1),
    sliced("ServiceRequest.reasonCode.coding", ("value", "system")),
    el("ServiceRequest.reasonCode.coding:cie10", min=0, max="1", binding=bind("cie-10"),
       short="Diagnóstico presuntivo CIE-10 / presumptive ICD-10 diagnosis"),
    el("ServiceRequest.reasonCode.coding:cie10.system", min=1, fixedUri=s.ICD10),
    el("ServiceRequest.reasonCode.coding:cie10.code", min=1),
    el("ServiceRequest.reasonReference", type=ref("hn-diagnostico")),
    el("ServiceRequest.supportingInfo", short="Signos vitales, diagnósticos, resultados / supporting clinical "
                                              "information"),
])

# One membership test of "businessStatus:status" pairs: ten ``implies`` clauses cost ten times as much.
_STATUS_RULE = (
    f"businessStatus.coding.where(system = '{s.CS_REFERRAL_STATUS}').exists() implies "
    f"(businessStatus.coding.where(system = '{s.CS_REFERRAL_STATUS}').code.first() + ':' + status) in ("
    + " | ".join(f"'{code}:{status}'" for code, _es, _en, statuses in REFERRAL_STATUSES for status in statuses)
    + ")")

REFERRAL_TASK = profile("hn-tarea-referencia", "Task", "Seguimiento de la referencia (Honduras)", "El estado de "
                        "una referencia: estado de negocio, motivo codificado del rechazo, origen y destino. / The "
                        "workflow state of a referral.", [
    el("Task", constraint=[
        inv("hn-tar-1", "El estado de negocio corresponde al estado de la tarea / the business status matches "
            "Task.status", _STATUS_RULE),
        inv("hn-tar-2", "Una referencia rechazada lleva un motivo de rechazo codificado / a rejected referral has a "
            "coded rejection reason", f"status = 'rejected' implies statusReason.coding.where(system = "
            f"'{s.CS_REJECTION_REASON}').exists()"),
    ]),
    el("Task.focus", min=1, type=ref("hn-referencia")),
    el("Task.for", min=1, type=ref("hn-paciente")),
    el("Task.intent", fixedCode="order"),
    el("Task.statusReason", binding=bind("motivo-estado-referencia", "extensible")),
    el("Task.businessStatus", min=1, binding=bind("estado-referencia")),
    el("Task.authoredOn", min=1),
    el("Task.requester", min=1, type=ref("hn-rol-profesional", "hn-establecimiento")),
    # Absent while the referral waits in the regional coordinator's worklist for a destination.
    el("Task.owner", type=ref("hn-establecimiento", "hn-servicio", "hn-rol-profesional")),
])


def _section(name: str, *, min_count: int, entries: list | None = None) -> list:
    root = f"Composition.section:{name}"
    out = [el(root, min=min_count, max="1"),
           el(f"{root}.code", min=1, patternCodeableConcept={"coding": [{"system": s.CS_RESPONSE_SECTION,
                                                                          "code": name}]})]
    if entries:
        out.append(el(f"{root}.entry", type=ref(*entries)))
    return out


RESPONSE = profile("hn-respuesta-referencia", "Composition", "Respuesta a la referencia (Honduras)",
                   "Respuesta escrita al establecimiento que refirió: diagnósticos, procedimientos, tratamiento, "
                   "recomendaciones y seguimiento, y el juicio de si la referencia fue justificada y oportuna. / The "
                   "written response to the referring facility, with the judgement of whether it was warranted and "
                   "timely.", [
    sliced("Composition.extension", ("value", "url")),
    ext("Composition.extension:justificada", s.EXT_REFERRAL_JUSTIFIED,
        short="¿La referencia era necesaria? / was the referral warranted?"),
    ext("Composition.extension:oportuna", s.EXT_REFERRAL_TIMELY, short="¿Fue referido a tiempo? / referred in time?"),
    el("Composition.type", patternCodeableConcept={"coding": [{"system": s.LOINC, "code": "11488-4"}]},
       short="Nota de consulta (LOINC 11488-4) / consult note"),
    el("Composition.subject", min=1, type=ref("hn-paciente")),
    el("Composition.encounter", type=ref("hn-atencion")),
    el("Composition.author", min=1, type=ref("hn-profesional", "hn-rol-profesional")),
    el("Composition.custodian", type=ref("hn-establecimiento")),
    el("Composition.event", min=1, short="La referencia que se responde / the referral being answered"),
    el("Composition.event.detail", min=1, type=ref("hn-referencia")),
    sliced("Composition.section", ("pattern", "code"), min=3),
    el("Composition.section.code", min=1),
    *_section("diagnosticos", min_count=1, entries=["hn-diagnostico"]),
    *_section("procedimientos", min_count=0),
    *_section("tratamiento", min_count=0),
    *_section("recomendaciones", min_count=1),
    *_section("seguimiento", min_count=1),
])

def _transition_part(name: str, *, min_count: int, value_type: str, binding: dict | None = None,
                     short: str) -> list:
    root = f"Extension.extension:{name}"
    value = el(f"{root}.value[x]", min=1, type=[{"code": value_type}])
    if binding:
        value["binding"] = binding
    return [el(root, min=min_count, max="1", short=short), el(f"{root}.url", fixedUri=name), value]


def _transition_extension() -> dict:
    """A complex extension on the Provenance of each referral transition: the event and the states it joined."""
    url = s.canonical("StructureDefinition", "transicion-referencia")
    task_status = bind("http://hl7.org/fhir/ValueSet/task-status")
    sd = profile("transicion-referencia", "Extension", "Transición de la referencia", "La transición que registra "
                 "esta Provenance: evento, estados de la tarea antes y después, nota. / The referral transition this "
                 "Provenance records.", [
        el("Extension", short="Transición de la referencia / referral transition"),
        sliced("Extension.extension", ("value", "url"), rules="closed", min=2),
        *_transition_part("evento", min_count=1, value_type="code", binding=bind("evento-referencia"),
                          short="Evento / event"),
        *_transition_part("desde", min_count=0, value_type="code", binding=task_status,
                          short="Task.status antes / before"),
        *_transition_part("desde-estado-negocio", min_count=0, value_type="code", binding=bind("estado-referencia"),
                          short="Estado de negocio antes / business status before"),
        *_transition_part("hacia", min_count=1, value_type="code", binding=task_status,
                          short="Task.status después / after"),
        *_transition_part("hacia-estado-negocio", min_count=1, value_type="code",
                          binding=bind("estado-referencia"), short="Estado de negocio después / after"),
        *_transition_part("nota", min_count=0, value_type="string", short="Nota / note"),
        el("Extension.url", fixedUri=url),
        el("Extension.value[x]", max="0"),
    ])
    sd["kind"] = "complex-type"
    sd["baseDefinition"] = "http://hl7.org/fhir/StructureDefinition/Extension"
    sd["context"] = [{"type": "element", "expression": "Provenance"}]
    return sd


TRANSITION = _transition_extension()

PROFILES = [REFERRAL, REFERRAL_TASK, RESPONSE, TRANSITION]


# The inputs of the lifecycle operations (referral.inputs), and which events take each.
_INPUTS = {
    "reason": ("CodeableConcept", "Motivo codificado / coded reason"),
    "note": ("string", "Nota libre / free-text note"),
    "destination": ("Reference", "Establecimiento de destino (Organization) / destination facility"),
    "start": ("dateTime", "Inicio de la cita / appointment start"),
    "end": ("dateTime", "Fin de la cita (30 minutos después del inicio si falta) / appointment end"),
    "response": ("Resource", "La respuesta: Composition hn-respuesta-referencia / the response Composition"),
}
_OPTIONAL = {Event.SCHEDULE: ("end",), Event.HOLD: ("reason",)}


def _operation(event: Event) -> dict:
    """One OperationDefinition per lifecycle event (R4 operationdefinition.html), from referral.machine's rules."""
    rule = RULES[event]
    names = ["note", *rule.required_inputs, *_OPTIONAL.get(event, ())]
    if rule.reason_system:
        names.insert(0, "reason")
    parameters = []
    for name in dict.fromkeys(names):
        kind, documentation = _INPUTS[name]
        required = name in rule.required_inputs or (name == "reason" and rule.reason_required)
        if name == "reason" and rule.reason_system:
            documentation += f" ({rule.reason_system})"
        parameters.append({"name": name, "use": "in", "min": 1 if required else 0, "max": "1",
                           "documentation": documentation, "type": kind})
    parameters.append({"name": "return", "use": "out", "min": 1, "max": "1", "type": "Task",
                       "documentation": "La tarea tras la transición / the Task after the transition"})
    return {"resourceType": "OperationDefinition", "id": f"Task-{event}",
            "url": s.canonical("OperationDefinition", f"Task-{event}"), **COMMON,
            "name": "Task" + "".join(p.capitalize() for p in str(event).split("-")),
            "title": f"${event}: {rule.title_es} / {rule.title_en}", "kind": "operation",
            "description": f"Transición {event} del ciclo de la referencia (docs/referral-lifecycle.md); partes: "
                           f"{', '.join(sorted(rule.parties))}. / Referral lifecycle transition.",
            "code": str(event), "resource": ["Task"], "system": False, "type": False, "instance": True,
            "parameter": parameters}


OPERATIONS = [_operation(event) for event in Event]
