"""The referral lifecycle, declared once: states, named events, who may fire them, what they need.

States are FHIR ``Task.status`` codes (R4 task.html#statemachine); the national business status
(https://fhir.salud.gob.hn/CodeSystem/estado-referencia) rides in ``Task.businessStatus`` and is set by each
transition. Guards are side-effect-free predicates over the actor and the Task; the actions live in
``referral.actions`` and the service that runs them in ``referral.lifecycle``. The diagram in
docs/referral-lifecycle.md is generated from this table (``referral.diagram``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from ece.access import Actor, Role
from fhir_profiles import systems


class Status(StrEnum):
    """R4 task-status codes used by referrals."""

    DRAFT = "draft"
    REQUESTED = "requested"
    RECEIVED = "received"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    ON_HOLD = "on-hold"
    IN_PROGRESS = "in-progress"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    FAILED = "failed"
    ENTERED_IN_ERROR = "entered-in-error"


class Event(StrEnum):
    """Named transitions; each is the operation ``Task/[id]/$<event>`` (codes of evento-referencia)."""

    SEND = "send"
    RECEIVE = "receive"
    ACCEPT = "accept"
    REJECT = "reject"
    REDIRECT = "redirect"
    ASSIGN = "assign"
    HOLD = "hold"
    RESUME = "resume"
    SCHEDULE = "schedule"
    ARRIVE = "arrive"
    NO_SHOW = "no-show"
    RESPOND = "respond"
    ACKNOWLEDGE = "acknowledge"
    CANCEL = "cancel"
    WITHDRAW = "withdraw"
    MARK_OVERDUE = "mark-overdue"
    ENTERED_IN_ERROR = "entered-in-error"


class Party(StrEnum):
    """The role a caller plays towards one referral Task."""

    ORIGIN = "origin"  # the referring facility, Task.requester
    DESTINATION = "destination"  # the receiving facility, Task.owner
    COORDINATOR = "coordinator"  # a coordinator of a health region the referral belongs to (meta.tag)
    ENGINE = "engine"  # the engine itself: deadlines, offers withdrawn, trusted system clients


class Business(StrEnum):
    """Codes of estado-referencia (Task.businessStatus)."""

    DRAFT = "borrador"
    UNASSIGNED = "pendiente-asignacion"
    SENT = "enviada"
    RECEIVED = "recibida"
    ACCEPTED = "aceptada"
    BOOKED = "cita-programada"
    REJECTED = "rechazada"
    ON_HOLD = "en-espera"
    ARRIVED = "paciente-recibido"
    ANSWERED = "respondida"
    ACKNOWLEDGED = "respuesta-recibida"
    CANCELLED = "cancelada"
    REDIRECTED = "redirigida"
    WITHDRAWN = "retirada"
    NO_SHOW = "no-se-presento"
    ACCEPT_OVERDUE = "aceptacion-vencida"
    ATTEND_OVERDUE = "atencion-vencida"
    ERROR = "anulada"


@dataclass(frozen=True)
class Transition:
    event: Event
    source: Status
    target: Status
    business: Business
    # Only from these business statuses (None: any business status of ``source``).
    only_from: frozenset[Business] | None = None


@dataclass(frozen=True)
class EventRule:
    event: Event
    parties: frozenset[Party]
    # The code system a coded reason must come from; None when the event takes no coded reason.
    reason_system: str | None = None
    reason_required: bool = False
    # Input parameters (Parameters.parameter.name) the event cannot run without.
    required_inputs: tuple[str, ...] = ()
    title_es: str = ""
    title_en: str = ""


S, B, E, P = Status, Business, Event, Party
_ORIGIN, _DEST, _COORD, _ENGINE = P.ORIGIN, P.DESTINATION, P.COORDINATOR, P.ENGINE
_PENDING = (S.REQUESTED, S.RECEIVED)
_OPEN = (S.DRAFT, S.REQUESTED, S.RECEIVED, S.ACCEPTED, S.ON_HOLD)


def _many(event: Event, sources: Iterable[Status], target: Status, business: Business) -> list[Transition]:
    return [Transition(event, source, target, business) for source in sources]


TRANSITIONS: tuple[Transition, ...] = (
    Transition(E.SEND, S.DRAFT, S.REQUESTED, B.SENT),
    Transition(E.RECEIVE, S.REQUESTED, S.RECEIVED, B.RECEIVED,
               only_from=frozenset({B.SENT, B.ACCEPT_OVERDUE})),
    *_many(E.ACCEPT, _PENDING, S.ACCEPTED, B.ACCEPTED),
    *_many(E.REJECT, _PENDING, S.REJECTED, B.REJECTED),
    *_many(E.REDIRECT, (*_PENDING, S.REJECTED, S.ON_HOLD, S.FAILED), S.CANCELLED, B.REDIRECTED),
    *_many(E.ASSIGN, _PENDING, S.REQUESTED, B.SENT),
    *_many(E.HOLD, _PENDING, S.ON_HOLD, B.ON_HOLD),
    Transition(E.RESUME, S.ON_HOLD, S.RECEIVED, B.RECEIVED),
    Transition(E.SCHEDULE, S.ACCEPTED, S.ACCEPTED, B.BOOKED),
    Transition(E.ARRIVE, S.ACCEPTED, S.IN_PROGRESS, B.ARRIVED),
    Transition(E.NO_SHOW, S.ACCEPTED, S.FAILED, B.NO_SHOW),
    Transition(E.RESPOND, S.IN_PROGRESS, S.COMPLETED, B.ANSWERED),
    Transition(E.ACKNOWLEDGE, S.COMPLETED, S.COMPLETED, B.ACKNOWLEDGED, only_from=frozenset({B.ANSWERED})),
    *_many(E.CANCEL, _OPEN, S.CANCELLED, B.CANCELLED),
    *_many(E.WITHDRAW, _PENDING, S.CANCELLED, B.WITHDRAWN),
    Transition(E.MARK_OVERDUE, S.REQUESTED, S.REQUESTED, B.ACCEPT_OVERDUE,
               only_from=frozenset({B.SENT, B.UNASSIGNED})),
    Transition(E.MARK_OVERDUE, S.RECEIVED, S.RECEIVED, B.ACCEPT_OVERDUE, only_from=frozenset({B.RECEIVED})),
    Transition(E.MARK_OVERDUE, S.ACCEPTED, S.ACCEPTED, B.ATTEND_OVERDUE,
               only_from=frozenset({B.ACCEPTED, B.BOOKED})),
    *_many(E.ENTERED_IN_ERROR, (*_OPEN, S.REJECTED, S.FAILED), S.ENTERED_IN_ERROR, B.ERROR),
)

RULES: dict[Event, EventRule] = {rule.event: rule for rule in (
    EventRule(E.SEND, frozenset({_ORIGIN}), title_es="Enviar", title_en="Send"),
    EventRule(E.RECEIVE, frozenset({_DEST}), title_es="Recibir", title_en="Receive"),
    EventRule(E.ACCEPT, frozenset({_DEST}), title_es="Aceptar", title_en="Accept"),
    EventRule(E.REJECT, frozenset({_DEST}), reason_system=systems.CS_REJECTION_REASON, reason_required=True,
              title_es="Rechazar", title_en="Reject"),
    EventRule(E.REDIRECT, frozenset({_ORIGIN, _DEST, _COORD, _ENGINE}), required_inputs=("destination",),
              title_es="Redirigir", title_en="Redirect"),
    EventRule(E.ASSIGN, frozenset({_COORD}), required_inputs=("destination",), title_es="Asignar destino",
              title_en="Assign"),
    EventRule(E.HOLD, frozenset({_DEST}), title_es="Poner en espera", title_en="Put on hold"),
    EventRule(E.RESUME, frozenset({_ORIGIN, _DEST}), title_es="Reanudar", title_en="Resume"),
    EventRule(E.SCHEDULE, frozenset({_DEST}), required_inputs=("start",), title_es="Programar cita",
              title_en="Book appointment"),
    EventRule(E.ARRIVE, frozenset({_DEST}), title_es="Registrar llegada", title_en="Record arrival"),
    EventRule(E.NO_SHOW, frozenset({_DEST}), title_es="Registrar inasistencia", title_en="Record no-show"),
    EventRule(E.RESPOND, frozenset({_DEST}), required_inputs=("response",), title_es="Responder",
              title_en="Respond"),
    EventRule(E.ACKNOWLEDGE, frozenset({_ORIGIN}), title_es="Acusar recibo", title_en="Acknowledge"),
    EventRule(E.CANCEL, frozenset({_ORIGIN, _COORD}), reason_system=systems.CS_CANCELLATION_REASON,
              reason_required=True, title_es="Cancelar", title_en="Cancel"),
    EventRule(E.WITHDRAW, frozenset({_ENGINE}), title_es="Retirar la oferta", title_en="Withdraw the offer"),
    EventRule(E.MARK_OVERDUE, frozenset({_ENGINE}), title_es="Marcar vencida", title_en="Mark overdue"),
    EventRule(E.ENTERED_IN_ERROR, frozenset({_ORIGIN, _COORD}), title_es="Anular", title_en="Enter in error"),
)}

# The status each business status sits in when a Task is first written (and the single one for most codes).
INITIAL_BUSINESS = {S.DRAFT: B.DRAFT, S.REQUESTED: B.SENT}


def transition(event: Event, status: str, business: str | None) -> Transition | None:
    """The transition ``event`` makes from this state, or None when it is not allowed from it."""
    for candidate in TRANSITIONS:
        if candidate.event == event and candidate.source == status and (
                candidate.only_from is None or business in candidate.only_from):
            return candidate
    return None


def allowed_events(status: str, business: str | None) -> list[Event]:
    """Events that may fire from this state, in declaration order (for 409 answers and worklists)."""
    return list(dict.fromkeys(t.event for t in TRANSITIONS if t.source == status
                              and (t.only_from is None or business in t.only_from)))


def events_between(source: str, target: str, business: str | None) -> list[Event]:
    """Events leading from ``source`` to ``target`` (a direct PUT/PATCH that changes Task.status)."""
    return [t.event for t in TRANSITIONS if t.source == source and t.target == target
            and t.source != t.target and (t.only_from is None or business in t.only_from)]


# --- guards: who is asking, towards this Task (pure functions of the actor and the Task) -----------------

def _reference(element: dict | None) -> str | None:
    return element.get("reference") if isinstance(element, dict) else None


def task_regions(task: dict) -> set[str]:
    return {t.get("code") for t in (task.get("meta") or {}).get("tag", [])
            if t.get("system") == systems.CS_HEALTH_REGION and t.get("code")}


def parties(actor: Actor, task: dict) -> frozenset[Party]:
    """Every role ``actor`` plays towards ``task``."""
    if actor.role == Role.SYSTEM:
        # A trusted system client (SMART system scope) acts for any party, as the engine does.
        return frozenset(Party)
    found: set[Party] = set()
    if actor.role == Role.CLINICIAN and actor.facility:
        if actor.facility == _reference(task.get("requester")):
            found.add(Party.ORIGIN)
        if actor.facility == _reference(task.get("owner")):
            found.add(Party.DESTINATION)
    if actor.role == Role.COORDINATOR and actor.region and actor.region in task_regions(task):
        found.add(Party.COORDINATOR)
    return frozenset(found)


def may_fire(actor: Actor, event: Event, task: dict) -> bool:
    return bool(parties(actor, task) & RULES[event].parties)
