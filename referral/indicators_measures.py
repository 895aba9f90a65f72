"""The referral indicators this project defines, as FHIR Measure resources (R4 measure.html).

Each indicator is evaluated per facility (an Organization), per health region or for the whole country, over a
period (monthly for the stored reports). It looks at a referral from one side: the referring facility
(``ORIGIN``: sent, closed loop, justified, timely) or the receiving one (``DESTINATION``: received, accepted,
rejected, times, attended within deadline, redirected). Population criteria are written in words
(``text/plain``): they are computed by ``referral.indicators``, not by a CQL engine.

``install_measures`` writes them with fixed ids through the store, and leaves unchanged ones alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from ece import store
from ece.tx import Transaction
from fhir_profiles import systems

ORIGIN, DESTINATION = "origen", "destino"
MEASURE_VERSION = "0.1.0"
SCORING_SYSTEM = "http://terminology.hl7.org/CodeSystem/measure-scoring"
POPULATION_SYSTEM = "http://terminology.hl7.org/CodeSystem/measure-population"
IMPROVEMENT_SYSTEM = "http://terminology.hl7.org/CodeSystem/measure-improvement-notation"
RECEIVED = "Tareas de referencia dirigidas al establecimiento (Task.owner), creadas en el periodo y enviadas / " \
           "referral Tasks owned by the facility, authored in the period, sent"
SENT = "Referencias (ServiceRequest distintos) enviadas por el establecimiento (Task.requester), creadas en el " \
       "periodo / distinct referrals sent by the facility in the period"
DECIDED = "Recibidas que fueron aceptadas o rechazadas / received ones that were accepted or rejected"


@dataclass(frozen=True)
class Indicator:
    id: str
    name: str  # computer-friendly name (R4 measure.html#Measure.name)
    title: str  # "Spanish / English"
    description: str
    scoring: str  # cohort | proportion | continuous-variable
    side: str  # ORIGIN or DESTINATION
    populations: tuple[tuple[str, str], ...]  # (measure-population code, criterion in words)
    improvement: str | None = None  # increase | decrease
    stratifier: str | None = None  # what the strata are, in words
    unit: str | None = None  # UCUM unit of a continuous-variable score

    @property
    def url(self) -> str:
        return systems.canonical("Measure", self.id)


INDICATORS = (
    Indicator("referencias-enviadas", "ReferenciasEnviadas", "Referencias enviadas / Referrals sent",
              "Número de referencias enviadas por el establecimiento o la región en el periodo. / Referrals sent.",
              "cohort", ORIGIN, (("initial-population", SENT),)),
    Indicator("referencias-recibidas", "ReferenciasRecibidas", "Referencias recibidas / Referrals received",
              "Número de referencias dirigidas al establecimiento o la región en el periodo. / Referrals received.",
              "cohort", DESTINATION, (("initial-population", RECEIVED),)),
    Indicator("aceptacion", "TasaAceptacion", "Tasa de aceptación / Acceptance rate",
              "Proporción de referencias recibidas y decididas que fueron aceptadas. / Share of decided referrals "
              "that were accepted.", "proportion", DESTINATION,
              (("initial-population", RECEIVED), ("denominator", DECIDED),
               ("numerator", "Aceptadas (evento accept o estado posterior a la aceptación) / accepted")),
              improvement="increase"),
    Indicator("rechazo", "TasaRechazo", "Tasa de rechazo por motivo / Rejection rate by reason",
              "Proporción de referencias recibidas y decididas que fueron rechazadas, con estratos por motivo de "
              "rechazo (motivo-rechazo). / Share of decided referrals that were rejected, by reason.",
              "proportion", DESTINATION,
              (("initial-population", RECEIVED), ("denominator", DECIDED),
               ("numerator", "Rechazadas (evento reject o Task.status rejected) / rejected")),
              improvement="decrease", stratifier="Motivo de rechazo (Task.statusReason) / rejection reason"),
    Indicator("tiempo-aceptacion", "TiempoAceptacion", "Mediana del tiempo hasta la aceptación / Median time to "
              "acceptance", "Mediana, en horas, desde el envío (evento send, o Task.authoredOn) hasta la aceptación "
              "(evento accept). / Median hours from sending to acceptance.", "continuous-variable", DESTINATION,
              (("initial-population", RECEIVED),
               ("measure-population", "Aceptadas con hora de aceptación registrada / accepted with a recorded "
                                      "time"),
               ("measure-observation", "Horas desde el envío hasta la aceptación / hours to acceptance")),
              improvement="decrease", unit="h"),
    Indicator("tiempo-atencion", "TiempoAtencion", "Mediana del tiempo hasta la atención / Median time to "
              "attention", "Mediana, en horas, desde el envío hasta la llegada del paciente (evento arrive, o "
              "Task.executionPeriod.start). / Median hours from sending to the patient's arrival.",
              "continuous-variable", DESTINATION,
              (("initial-population", RECEIVED),
               ("measure-population", "Atendidas con hora de llegada registrada / attended with a recorded time"),
               ("measure-observation", "Horas desde el envío hasta la llegada / hours to arrival")),
              improvement="decrease", unit="h"),
    Indicator("atencion-a-tiempo", "AtencionATiempo", "Atendidas dentro del plazo / Attended within deadline",
              "Proporción de referencias atendidas cuyo paciente llegó dentro del plazo de atención: nunca marcadas "
              "atencion-vencida y, si la tarea tiene plazo (Task.restriction.period.end), llegada antes de él. / "
              "Share of attended referrals seen within the deadline.", "proportion", DESTINATION,
              (("initial-population", RECEIVED),
               ("denominator", "Atendidas: el paciente llegó / attended: the patient arrived"),
               ("numerator", "Atendidas dentro del plazo / attended within the deadline")),
              improvement="increase"),
    Indicator("redireccion", "TasaRedireccion", "Referencias redirigidas / Referrals redirected",
              "Proporción de referencias recibidas que fueron redirigidas a otro establecimiento. / Share of "
              "received referrals redirected to another facility.", "proportion", DESTINATION,
              (("initial-population", RECEIVED), ("denominator", RECEIVED),
               ("numerator", "Redirigidas (evento redirect o estado redirigida) / redirected")),
              improvement="decrease"),
    Indicator("ciclo-cerrado", "CicloCerrado", "Referencias con respuesta (ciclo cerrado) / Referrals with a "
              "response (closed loop)", "Proporción de referencias enviadas que recibieron respuesta escrita. Se "
              "excluyen las que terminaron todas canceladas, redirigidas o anuladas (el ciclo sigue en otra "
              "referencia o no debía cerrarse). / Share of sent referrals answered in writing.",
              "proportion", ORIGIN,
              (("initial-population", SENT),
               ("denominator", "Enviadas, salvo las excluidas / sent, except the excluded ones"),
               ("denominator-exclusion", "Todas sus tareas canceladas, redirigidas, retiradas o anuladas / every "
                                         "Task of it cancelled, redirected, withdrawn or entered in error"),
               ("numerator", "Con respuesta (evento respond, Task.output o Task completada) / answered")),
              improvement="increase"),
    Indicator("referencia-justificada", "ReferenciaJustificada", "Referencias juzgadas justificadas / Referrals "
              "judged justified", "Proporción de referencias respondidas con juicio cuyo establecimiento receptor "
              "las juzgó justificadas (extensión referencia-justificada de la respuesta). / Share of judged "
              "referrals the receiver found warranted.", "proportion", ORIGIN,
              (("initial-population", SENT),
               ("denominator", "Con respuesta que juzga si era justificada / with a response that judges it"),
               ("numerator", "Juzgadas justificadas / judged justified")),
              improvement="increase"),
    Indicator("referencia-oportuna", "ReferenciaOportuna", "Referencias juzgadas oportunas / Referrals judged "
              "timely", "Proporción de referencias respondidas con juicio que el establecimiento receptor juzgó "
              "oportunas (extensión referencia-oportuna de la respuesta). / Share of judged referrals the "
              "receiver found timely.", "proportion", ORIGIN,
              (("initial-population", SENT),
               ("denominator", "Con respuesta que juzga si fue oportuna / with a response that judges it"),
               ("numerator", "Juzgadas oportunas / judged timely")),
              improvement="increase"),
)
BY_ID = {i.id: i for i in INDICATORS}


def population_code(code: str) -> dict:
    return {"coding": [{"system": POPULATION_SYSTEM, "code": code}]}


def measure_resource(indicator: Indicator) -> dict:
    group: dict = {"population": [{"code": population_code(code), "description": words,
                                   "criteria": {"language": "text/plain", "expression": words}}
                                  for code, words in indicator.populations]}
    if indicator.stratifier:
        group["stratifier"] = [{"code": {"text": indicator.stratifier},
                                "criteria": {"language": "text/plain", "expression": indicator.stratifier}}]
    side = "establecimiento de origen / referring facility" if indicator.side == ORIGIN else \
        "establecimiento de destino / receiving facility"
    resource = {
        "resourceType": "Measure", "id": indicator.id, "url": indicator.url, "version": MEASURE_VERSION,
        "name": indicator.name, "title": indicator.title, "status": "active", "experimental": False,
        "publisher": "ECE Honduras", "description": indicator.description,
        "subjectCodeableConcept": {"coding": [{"system": "http://hl7.org/fhir/resource-types",
                                               "code": "Organization"}]},
        "usage": f"Por establecimiento, región sanitaria y mes; se cuenta del lado del {side}.",
        "scoring": {"coding": [{"system": SCORING_SYSTEM, "code": indicator.scoring}]},
        "group": [group],
    }
    if indicator.improvement:
        resource["improvementNotation"] = {"coding": [{"system": IMPROVEMENT_SYSTEM, "code": indicator.improvement}]}
    return resource


async def install_measures(tx: Transaction) -> int:
    """Write the Measures that are missing or differ from their definition; answers how many were written."""
    return await store.update_if_changed(tx, [measure_resource(indicator) for indicator in INDICATORS])
