"""The ``$route`` operation as an OperationDefinition (R4 operationdefinition.html), so clients find it in the
CapabilityStatement and can read what it takes and answers. Installed with a fixed id through the store."""

from __future__ import annotations

from ece import store
from ece.tx import Transaction
from fhir_profiles import systems

ROUTE_ID = "ServiceRequest-route"
ROUTE_URL = systems.canonical("OperationDefinition", ROUTE_ID)
EVALUATE_MEASURE_URL = "http://hl7.org/fhir/OperationDefinition/Measure-evaluate-measure"


def _part(name: str, type_: str, documentation: str, *, max_: str = "1") -> dict:
    return {"name": name, "use": "out", "min": 0, "max": max_, "type": type_, "documentation": documentation}


ROUTE_OPERATION = {
    "resourceType": "OperationDefinition", "id": ROUTE_ID, "url": ROUTE_URL, "version": "0.1.0",
    "name": "Route", "title": "Enrutar una referencia / route a referral", "status": "active", "kind": "operation",
    "publisher": "ECE Honduras",
    "description": "Establecimientos que podrían recibir la referencia, del mejor al peor, con las razones de cada "
                   "uno: ofrece el servicio, nivel más sencillo que lo resuelve, misma red y región, distancia, si "
                   "acepta referencias ahora y su carga. / Candidate destinations of a referral, best first, with "
                   "the reasons for each.",
    "affectsState": False, "code": "route", "resource": ["ServiceRequest"], "system": False, "type": False,
    "instance": True,
    "parameter": [
        {"name": "count", "use": "in", "min": 0, "max": "1", "type": "integer",
         "documentation": "Cuántos candidatos (1-50, 10 por defecto) / how many candidates"},
        {"name": "candidate", "use": "out", "min": 0, "max": "*",
         "documentation": "Un establecimiento candidato / one candidate facility", "part": [
             _part("rank", "integer", "Posición, 1 es el mejor / position, 1 is best"),
             _part("organization", "Reference", "El establecimiento / the facility"),
             _part("healthcareService", "Reference", "El servicio que ofrece lo pedido / the matching service"),
             _part("location", "Reference", "Su sede con coordenadas / its site with coordinates"),
             _part("score", "decimal", "Puntos (más es mejor) / points, higher is better"),
             _part("distance", "Quantity", "Distancia desde el origen en km / distance from the origin"),
             _part("openReferrals", "integer", "Referencias abiertas que ya tiene / its open referrals"),
             _part("acceptingReferrals", "boolean", "Acepta referencias ahora / accepting referrals now"),
             _part("reason", "string", "Cada razón del puntaje / each reason of the score", max_="*"),
         ]},
    ],
}

# For the CapabilityStatement (R4 capabilitystatement.html#CapabilityStatement.rest.resource.operation).
OPERATIONS = {"ServiceRequest": [{"name": "route", "definition": ROUTE_URL}],
              "Measure": [{"name": "evaluate-measure", "definition": EVALUATE_MEASURE_URL}]}


async def install_route_operation(tx: Transaction) -> bool:
    """Write the OperationDefinition when it is missing or differs; answers whether it was written."""
    return await store.update_if_changed(tx, [ROUTE_OPERATION]) == 1
