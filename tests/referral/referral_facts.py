"""Explicit referral Tasks, Provenances and responses shaped as the lifecycle writes them (hn-tarea-referencia,
a Provenance per transition with activity from evento-referencia, the response Composition in Task.output),
for the indicator tests."""

from __future__ import annotations

from datetime import datetime, timedelta

from fhir_profiles import systems as s
from referral.indicators_data import CS_REFERRAL_EVENT, EXT_TRANSITION
from tests.referral.network import put


def at(day: int, hour: int = 8, month: int = 10) -> datetime:
    """A moment of 2026 in Honduras time (UTC-6)."""
    return datetime.fromisoformat(f"2026-{month:02d}-{day:02d}T{hour:02d}:00:00-06:00")


async def referral(tx, id: str, *, origin: str, destination: str, authored: datetime, status: str, business: str,
                   reason: tuple[str, str] | None = None, deadline: datetime | None = None,
                   response: str | None = None, started: datetime | None = None, service_request: str | None = None,
                   events: dict[str, datetime | tuple[datetime, str]] | None = None) -> str:
    """A referral Task (and its ServiceRequest) with a Provenance per event; ``events`` maps an event code to its
    time, or to (time, business status reached) for an overdue mark."""
    sr = service_request or f"sr-{id}"
    task: dict = {"resourceType": "Task", "id": id, "status": status, "intent": "order",
                  "businessStatus": {"coding": [{"system": s.CS_REFERRAL_STATUS, "code": business}]},
                  "focus": {"reference": f"ServiceRequest/{sr}"}, "for": {"reference": "Patient/p1"},
                  "authoredOn": authored.isoformat(), "requester": {"reference": f"Organization/{origin}"},
                  "owner": {"reference": f"Organization/{destination}"}}
    if reason:
        task["statusReason"] = {"coding": [{"system": reason[0], "code": reason[1]}]}
    if deadline:
        task["restriction"] = {"period": {"end": deadline.isoformat()}}
    if response:
        task["output"] = [{"type": {"text": "Respuesta / response"},
                           "valueReference": {"reference": f"Composition/{response}"}}]
    if started:
        task["executionPeriod"] = {"start": started.isoformat()}
    await put(tx, task)
    for n, (event, when) in enumerate((events or {}).items()):
        moment, reached = when if isinstance(when, tuple) else (when, None)
        provenance: dict = {"resourceType": "Provenance", "id": f"{id}-{n}",
                            "target": [{"reference": f"Task/{id}/_history/1"}], "recorded": moment.isoformat(),
                            "activity": {"coding": [{"system": CS_REFERRAL_EVENT, "code": event}]},
                            "agent": [{"who": {"display": "prueba"}}]}
        if reached:
            provenance["extension"] = [{"url": EXT_TRANSITION, "extension": [
                {"url": "evento", "valueCode": event}, {"url": "hacia-estado-negocio", "valueCode": reached}]}]
        await put(tx, provenance)
    return f"Task/{id}"


async def response(tx, id: str, *, justified: bool | None, timely: bool | None) -> str:
    extension = [{"url": url, "valueBoolean": value} for url, value in
                 ((s.EXT_REFERRAL_JUSTIFIED, justified), (s.EXT_REFERRAL_TIMELY, timely)) if value is not None]
    await put(tx, {"resourceType": "Composition", "id": id, "extension": extension, "status": "final",
                   "type": {"coding": [{"system": s.LOINC, "code": "11488-4"}]}, "subject": {"reference": "Patient/p1"},
                   "date": "2026-10-05", "author": [{"reference": "Organization/he-escuela"}],
                   "title": "Respuesta a la referencia"})
    return id


def hours(n: float) -> timedelta:
    return timedelta(hours=n)
