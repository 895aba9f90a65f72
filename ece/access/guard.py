"""The guard of one request: the actor's permissions applied to types and rows, refusals recorded, and
the request's accesses written to the audit trail (ece.audit).

``require_patient_access`` is the public check for services outside the REST routes (the referral engine's
operations, say): it raises ``Forbidden`` unless the actor may read the patient's record.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from sqlalchemy import text

from ece.access.actor import Actor, Role
from ece.access.errors import Forbidden
from ece.access.policy import (
    MINIMUM_PATIENT_ELEMENTS,
    is_patient_data,
    may,
    names_sql,
    readable_types,
    unrestricted,
    visibility_sql,
)
from ece.access.scopes import READ
from ece.audit import Access, Event, patients_in, record
from ece.references import parse_reference
from ece.resource_types import served_types
from ece.search import Visibility
from ece.search.summary import shaped
from ece.sqltext import sql_text
from ece.tx import Transaction

_CONTENT = text("SELECT content FROM resource WHERE resource_type = :t AND id = :i")
_GRANTS = text("SELECT patient_id, reason FROM access_grant WHERE subject = :s AND expires_at > now()")
_VERB = {"c": "crear / create", "r": "leer / read", "u": "modificar / update", "d": "eliminar / delete",
         "s": "buscar / search"}


@lru_cache(maxsize=1024)
def _type_limit(actor: Actor) -> frozenset[str] | None:
    """The readable types when the actor's role or scopes leave some out; None when every type is readable."""
    every = sorted(served_types())
    readable = readable_types(actor, every)
    return None if len(readable) == len(every) else frozenset(readable)


@dataclass
class Guard:
    access: Access
    enforced: bool = True
    refusals: list[Event] = field(default_factory=list)
    _grants: dict[str, str] | None = None

    @property
    def actor(self) -> Actor:
        return self.access.actor

    # --- types ---------------------------------------------------------------------------------------

    def require(self, tx: Transaction | None, resource_type: str, interaction: str) -> None:
        if not self.enforced or may(self.actor, resource_type, interaction):
            return
        raise self.refuse(tx, f"el rol {self.actor.role.value} no puede {_VERB[interaction]} {resource_type} / "
                              f"role {self.actor.role.value} may not {_VERB[interaction].split(' / ')[1]} "
                              f"{resource_type}", interaction=interaction)

    def readable(self, resource_types: list[str]) -> list[str]:
        return resource_types if not self.enforced else readable_types(self.actor, resource_types)

    # --- rows ----------------------------------------------------------------------------------------

    def visibility(self) -> Visibility | None:
        """The row condition for searches and history; None when every row may be shown."""
        if not self.enforced:
            return None
        actor = self.actor
        limit = _type_limit(actor)
        if actor.role is Role.SYSTEM and limit is None:
            return None

        def condition(bind, alias: str, resource_types=None, *, one_row: bool = False) -> str:
            parts = [] if actor.role is Role.SYSTEM else [visibility_sql(actor, bind, alias, resource_types,
                                                                         one_row=one_row)]
            # The row is of one of ``resource_types`` when they are given: the limit need name only those, and
            # nothing when it admits them all (a clinician's is every type but a few).
            if limit is not None and (resource_types is None or not limit.issuperset(resource_types)):
                kept = tuple(sorted(limit if resource_types is None else limit.intersection(resource_types)))
                parts.append(f"{alias}.resource_type = ANY({names_sql(kept)})")
            return "(" + " AND ".join(parts) + ")" if parts else "TRUE"

        return condition

    async def visible(self, tx: Transaction, resource_type: str, resource_id: str) -> bool | None:
        """Whether the current row may be shown; None when there is no such row."""
        condition = self.visibility()
        if condition is None or (unrestricted(self.actor) and not is_patient_data(resource_type)):
            return True
        params: dict = {"t": resource_type, "i": resource_id}

        def bind(value) -> str:
            name = f"v{len(params)}"
            params[name] = value
            return f":{name}"

        decides = condition(bind, "r", [resource_type], one_row=True)
        row = (await tx.conn.execute(sql_text(f"SELECT {decides} FROM resource r WHERE r.resource_type = :t AND "
                                              "r.id = :i"), params)).first()
        return None if row is None else bool(row[0])

    async def require_visible(self, tx: Transaction, resource_type: str, resource_id: str,
                              interaction: str = READ) -> None:
        if await self.visible(tx, resource_type, resource_id) is False:
            raise self.refuse(tx, f"sin relación de atención ni permiso para {resource_type}/{resource_id} / no "
                                  f"care relationship or permission for {resource_type}/{resource_id}",
                              interaction=interaction, target=f"{resource_type}/{resource_id}",
                              patients=await self._patients_of(tx, resource_type, resource_id))

    async def require_patient(self, tx: Transaction, patient: str) -> None:
        _type, _, patient_id = patient.partition("/")
        self.require(tx, "Patient", READ)
        if await self.visible(tx, "Patient", patient_id) is not True:
            raise self.refuse(tx, f"sin relación de atención con {patient} / no care relationship with {patient}",
                              interaction=READ, target=patient, patients={patient_id})

    async def require_referenced_patients(self, tx: Transaction, content: Any, interaction: str) -> None:
        """Before a clinician or coordinator writes ``content``: every existing Patient it references must
        already be visible to them. The write itself would otherwise create the care relationship (an
        Encounter at their facility, a Task they request, a managingOrganization) and pass the check after
        it; a patient with no relationship yet is reached only by breaking the glass. A Patient that does not
        exist yet (created in the same Bundle, say) is no one's record so far and may be referenced."""
        if not self.enforced or self.actor.role not in (Role.CLINICIAN, Role.COORDINATOR):
            return
        for patient_id in sorted(referenced_patients(content)):
            if await self.visible(tx, "Patient", patient_id) is False:
                glass = f"POST /fhir/Patient/{patient_id}/$break-glass"
                raise self.refuse(tx, f"sin relación de atención con Patient/{patient_id}: para registrar datos de "
                                      f"este paciente rompa el cristal ({glass}) / no care relationship with "
                                      f"Patient/{patient_id}: break the glass ({glass}) to record data for them",
                                  interaction=interaction, target=f"Patient/{patient_id}", patients={patient_id})

    async def _patients_of(self, tx: Transaction, resource_type: str, resource_id: str) -> set[str]:
        row = (await tx.conn.execute(_CONTENT, {"t": resource_type, "i": resource_id})).first()
        return patients_in(resource_type, resource_id, row[0] if row else None)

    def shape(self, resource_type: str, content: bytes) -> bytes:
        """A coordinator sees only the minimum of a patient needed to route a referral."""
        if self.enforced and self.actor.role is Role.COORDINATOR and resource_type == "Patient":
            return shaped(resource_type, content, None, MINIMUM_PATIENT_ELEMENTS)
        return content

    # --- audit ---------------------------------------------------------------------------------------

    def refuse(self, tx: Transaction | None, reason: str, *, interaction: str, target: str | None = None,
               patients: set[str] | None = None) -> Forbidden:
        event = Event(self.access, _interaction_name(interaction), outcome="4", entities=[target] if target else [],
                      patients=patients or set(), description=reason)
        self.refusals.append(event)
        if tx is not None and self.enforced:
            record(tx, event)  # kept if the transaction commits (a batch entry); else the error handler writes it
        return Forbidden(reason, target=target)

    async def audit(self, tx: Transaction, interaction: str, entities: list[tuple[str, str, bytes | None]], *,
                    query: str | None = None, always: bool = False, about: set[str] | None = None) -> None:
        """Record an access to ``entities`` ((type, id, content)); only accesses to patient data are recorded,
        unless ``always``. ``about``: patients the answer concerns beyond its entities (a count about them)."""
        if not self.enforced:
            return
        if not always and not about and not any(is_patient_data(t) for t, _i, _c in entities):
            return
        patients: set[str] = set(about or ())
        for resource_type, resource_id, content in entities:
            patients |= patients_in(resource_type, resource_id, content)
        event = Event(self.access, interaction, entities=[f"{t}/{i}" for t, i, _c in entities], patients=patients,
                      query=query)
        if self.actor.role is Role.CLINICIAN and patients:
            grants = await self._active_grants(tx)
            reasons = [grants[p] for p in sorted(patients) if p in grants]
            if reasons:
                event.purpose, event.reason = "ETREAT", "; ".join(dict.fromkeys(reasons))
        record(tx, event)

    async def _active_grants(self, tx: Transaction) -> dict[str, str]:
        if self._grants is None:
            rows = await tx.conn.execute(_GRANTS, {"s": self.actor.subject})
            self._grants = {r[0]: r[1] for r in rows}
        return self._grants


def referenced_patients(node: Any) -> set[str]:
    """The ids of the Patients a resource's literal references name (R4 references.html#literal), relative or
    absolute, in any element including contained resources."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "reference" and isinstance(value, str):
                parsed = parse_reference(value)
                if parsed is not None and parsed[0] == "Patient":
                    found.add(parsed[1])
            elif isinstance(value, (dict, list)):
                found |= referenced_patients(value)
    elif isinstance(node, list):
        for item in node:
            found |= referenced_patients(item)
    return found


def _interaction_name(letter: str) -> str:
    return {"c": "create", "r": "read", "u": "update", "d": "delete", "s": "search"}.get(letter, letter)


async def require_patient_access(tx: Transaction, *, actor: Actor, patient: str) -> None:
    """Raise ``Forbidden`` (403) unless ``actor`` may read the record of ``patient`` ("Patient/<id>")."""
    await Guard(Access(actor)).require_patient(tx, patient)
