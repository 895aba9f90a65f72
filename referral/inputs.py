"""The body of a lifecycle operation: a ``Parameters`` resource (R4 parameters.html, operations.html#request).

Recognised parameters: ``reason`` (valueCodeableConcept or valueCoding), ``note`` (valueString),
``destination`` (valueReference to an Organization), ``start`` / ``end`` (valueDateTime, appointment) and
``response`` (resource: the hn-respuesta-referencia Composition).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ece.dates import date_range
from ece.errors import BadRequest, FhirError, Issue


@dataclass(frozen=True)
class Inputs:
    reason: dict | None = None
    note: str | None = None
    destination: str | None = None
    start: str | None = None
    end: str | None = None
    response: dict | None = None

    def has(self, name: str) -> bool:
        return getattr(self, name) is not None


def _bad(message: str, where: str = "Parameters") -> BadRequest:
    return BadRequest([Issue("invalid", message, (where,))])


def from_parameters(body: Any) -> Inputs:
    """Parse an operation body; an empty body means no parameters."""
    if body is None or body == {}:
        return Inputs()
    if not isinstance(body, dict) or body.get("resourceType") != "Parameters":
        raise _bad("El cuerpo debe ser un Parameters / the body must be a Parameters resource")
    values: dict[str, Any] = {}
    for index, parameter in enumerate(body.get("parameter") or []):
        where = f"Parameters.parameter[{index}]"
        if not isinstance(parameter, dict) or not isinstance(parameter.get("name"), str):
            raise _bad("Cada parámetro necesita name / each parameter needs a name", where)
        name = parameter["name"]
        if name == "reason":
            values[name] = _reason(parameter, where)
        elif name == "note":
            values[name] = _typed(parameter, "valueString", str, where)
        elif name == "destination":
            reference = _typed(parameter, "valueReference", dict, where).get("reference")
            if not isinstance(reference, str) or not reference.startswith("Organization/"):
                raise _bad("destination debe referir a un Organization / must reference an Organization", where)
            values[name] = reference
        elif name in ("start", "end"):
            value = _typed(parameter, "valueDateTime", str, where)
            try:
                parsed = date_range(value)
            except (ValueError, FhirError):
                parsed = None
            if parsed is None:
                raise _bad(f"{name}: fecha y hora inválida / invalid dateTime '{value[:40]}'", where)
            values[name] = value
        elif name == "response":
            resource = parameter.get("resource")
            if not isinstance(resource, dict) or resource.get("resourceType") != "Composition":
                raise _bad("response debe llevar un Composition en resource / must carry a Composition", where)
            values[name] = resource
    return Inputs(**values)


def _typed(parameter: dict, key: str, kind: type, where: str) -> Any:
    value = parameter.get(key)
    if not isinstance(value, kind):
        raise _bad(f"{parameter['name']}: se esperaba {key} / expected {key}", where)
    return value


def _reason(parameter: dict, where: str) -> dict:
    if isinstance(parameter.get("valueCodeableConcept"), dict):
        return parameter["valueCodeableConcept"]
    if isinstance(parameter.get("valueCoding"), dict):
        return {"coding": [parameter["valueCoding"]]}
    raise _bad("reason: se esperaba valueCodeableConcept o valueCoding / expected a coded value", where)
