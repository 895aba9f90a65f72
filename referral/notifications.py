"""Who hears about each transition: the transition becomes ``ece.notifications.Notice``s, written by ``notify``
in the same transaction (queued for delivery after commit; channels are the notifications module's choice).

- the destination facility when a referral arrives (sent, assigned, redirected to it) or is cancelled or withdrawn;
- the origin facility when it is accepted, rejected, answered, redirected elsewhere or the patient did not come;
- the coordinators of the referral's regions when it waits for a destination or misses a deadline;
- the patient when an appointment is booked.

Texts are short, Spanish first, and carry no clinical detail: the referral number, the facility, the date.
"""

from __future__ import annotations

from dataclasses import dataclass

from ece import fhirjson, reads
from ece.errors import FhirError
from ece.notifications import Notice, notify
from ece.references import local_reference
from ece.tx import Transaction
from referral import records
from referral.machine import Business, Event, task_regions


@dataclass(frozen=True)
class _Text:
    event: str
    title_es: str
    text_es: str  # format fields: {numero}, {establecimiento}, {fecha}
    title_en: str
    text_en: str


RECEIVED = _Text("referral.received", "Nueva referencia", "Llegó la referencia {numero} de {establecimiento}.",
                 "New referral", "Referral {numero} arrived from {establecimiento}.")
UNASSIGNED = _Text("referral.unassigned", "Referencia sin destino",
                   "La referencia {numero} de {establecimiento} espera que la región le asigne destino.",
                   "Referral without destination", "Referral {numero} from {establecimiento} awaits a destination.")
OVERDUE = _Text("referral.overdue", "Referencia vencida",
                "La referencia {numero} enviada a {establecimiento} no se atendió en el plazo.",
                "Referral overdue", "Referral {numero} sent to {establecimiento} missed its deadline.")
APPOINTMENT = _Text("referral.appointment", "Cita programada",
                    "Tiene una cita en {establecimiento} el {fecha}. Lleve su DNI.",
                    "Appointment booked", "You have an appointment at {establecimiento} on {fecha}. Bring your ID.")
TO_ORIGIN = {
    Event.ACCEPT: _Text("referral.accepted", "Referencia aceptada", "{establecimiento} aceptó la referencia {numero}.",
                        "Referral accepted", "{establecimiento} accepted referral {numero}."),
    Event.REJECT: _Text("referral.rejected", "Referencia rechazada",
                        "{establecimiento} rechazó la referencia {numero}; vea el motivo.",
                        "Referral rejected", "{establecimiento} rejected referral {numero}; see the reason."),
    Event.RESPOND: _Text("referral.answered", "Respuesta recibida",
                         "{establecimiento} envió la respuesta a la referencia {numero}.",
                         "Response received", "{establecimiento} sent the response to referral {numero}."),
    Event.NO_SHOW: _Text("referral.no-show", "Paciente no se presentó",
                         "El paciente de la referencia {numero} no se presentó en {establecimiento}.",
                         "Patient did not arrive", "The patient of referral {numero} did not arrive at "
                                                   "{establecimiento}."),
    Event.REDIRECT: _Text("referral.redirected", "Referencia redirigida",
                          "La referencia {numero} fue redirigida a otro establecimiento.",
                          "Referral redirected", "Referral {numero} was redirected to another facility."),
}
TO_DESTINATION = {
    Event.CANCEL: _Text("referral.cancelled", "Referencia cancelada",
                        "{establecimiento} canceló la referencia {numero}.",
                        "Referral cancelled", "{establecimiento} cancelled referral {numero}."),
    Event.WITHDRAW: _Text("referral.withdrawn", "Oferta retirada",
                          "La emergencia {numero} ya fue aceptada por otro establecimiento.",
                          "Offer withdrawn", "Emergency referral {numero} was taken by another facility."),
    Event.ASSIGN: RECEIVED,
}


async def _name(tx: Transaction, reference: str | None) -> str:
    local = local_reference(reference) if reference else None
    if local is None:
        return reference or "—"
    try:
        found = await reads.read(tx.conn, resource_type=local[0], resource_id=local[1])
    except FhirError:
        return reference or "—"
    return str(fhirjson.loads(found.content).get("name") or reference)


def _number(task: dict, service_request: dict | None) -> str:
    for identifier in (service_request or {}).get("identifier", []):
        if identifier.get("value"):
            return str(identifier["value"])
    return str(task.get("id", ""))[:8]


def _notice(text: _Text, recipient: str, about: str, **fields: str) -> Notice:
    return Notice(text.event, recipient, about, text.title_es, text.text_es.format(**fields), text.title_en,
                  text.text_en.format(**fields))


async def opened(tx: Transaction, *, task: dict, service_request: dict) -> list[str]:
    """A new Task: its destination hears of it, or the region's coordinators when it has none."""
    about = f"Task/{task['id']}"
    owner = records.reference_of(task.get("owner"))
    fields = {"numero": _number(task, service_request), "fecha": "",
              "establecimiento": await _name(tx, records.reference_of(task.get("requester")))}
    if task.get("status") == "draft":
        return []
    if owner:
        return await notify(tx, [_notice(RECEIVED, owner, about, **fields)])
    return await notify(tx, [_notice(UNASSIGNED, f"region:{region}", about, **fields)
                             for region in sorted(task_regions(task))])


async def announce(tx: Transaction, *, event: Event, task: dict, service_request: dict | None,
                   appointment: dict | None = None) -> list[str]:
    """The notices of one transition of ``task`` (its new content)."""
    about = f"Task/{task['id']}"
    origin = records.reference_of(task.get("requester"))
    owner = records.reference_of(task.get("owner"))
    number = _number(task, service_request)
    notices: list[Notice] = []
    if event in TO_ORIGIN and origin:
        notices.append(_notice(TO_ORIGIN[event], origin, about, numero=number, fecha="",
                               establecimiento=await _name(tx, owner)))
    if event in TO_DESTINATION and owner:
        notices.append(_notice(TO_DESTINATION[event], owner, about, numero=number, fecha="",
                               establecimiento=await _name(tx, origin)))
    if event == Event.SEND and owner:
        notices.append(_notice(RECEIVED, owner, about, numero=number, fecha="",
                               establecimiento=await _name(tx, origin)))
    if event == Event.MARK_OVERDUE and records.business_of(task) in (Business.ACCEPT_OVERDUE,
                                                                     Business.ATTEND_OVERDUE):
        destination = await _name(tx, owner)
        notices.extend(_notice(OVERDUE, f"region:{region}", about, numero=number, fecha="",
                               establecimiento=destination) for region in sorted(task_regions(task)))
    patient = records.reference_of(task.get("for"))
    if event == Event.SCHEDULE and appointment is not None and patient:
        notices.append(_notice(APPOINTMENT, patient, about, numero=number, fecha=_local_date(appointment["start"]),
                               establecimiento=await _name(tx, owner)))
    return await notify(tx, notices) if notices else []


def _local_date(value: str) -> str:
    """``2026-12-02T08:00:00-06:00`` → ``2026-12-02 08:00`` (the time as the facility wrote it)."""
    return value[:16].replace("T", " ")
