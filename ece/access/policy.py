"""Who may see and change what: the rules of access, as type permissions and as one SQL condition on rows.

Type permissions (``may``): the role's rules, narrowed by the token's SMART scopes.
- clinician: any type; rows of patient data only for patients in care at their facility (below);
- coordinator: referrals (Task, ServiceRequest) tagged with their health region, the patients they are for
  (minimum data, see ``MINIMUM_PATIENT_ELEMENTS``), and non-clinical resources;
- patient: their own compartment; they may write Consent and Basic (preferences) about themselves;
- admin: directory and other non-clinical resources, never patient data;
- system: exactly what its ``system/`` scopes say (``system/*.*`` is a trusted back-end);
- Subscription (rest-hook): only a back-end whose scopes read every type (``BACK_END_TYPES``);
- AuditEvent: nobody writes it through the store (``APPEND_ONLY_TYPES``); reads are ece.access.audit_routes'.

Row visibility (``visibility_sql``) is a condition on a ``resource`` row, put inside every query that
answers rows (search, ``_include``, chains, ``_has``, history, totals) so a count can never reveal
what a read would refuse. A resource is patient data when its type belongs to the Patient compartment as
this server serves it (R4 compartmentdefinition-patient.html, plus referral Tasks and summary documents:
ece.compartments); it is visible when it links (through the compartment's parameters) to a patient the actor
may see. Two more ways in: a Provenance is visible with any resource it is about (the referral trail targets
the Task), and a Communication is visible to the recipients it names (notices; a region's coordinators by the
region's tag).

A clinician's patients: those with an Encounter whose serviceProvider is their facility, a Task whose
requester or owner is their facility, or whose managingOrganization is their facility; minus those whose
active Consent denies the facility (a deny provision naming it, or a deny-all with permits that do not
name it); plus those of an unexpired break-the-glass grant of this user, which a Consent cannot stop.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from functools import lru_cache

from ece.access.actor import Actor, Role
from ece.access.scopes import CREATE, DELETE, READ, SEARCH, UPDATE, allowed, parse_scopes
from ece.compartments import compartment_links

REGION_SYSTEM = "https://fhir.salud.gob.hn/CodeSystem/region-sanitaria"
DIRECTORY_TYPES = frozenset({"Organization", "Location", "Practitioner", "PractitionerRole", "HealthcareService",
                             "Endpoint"})
REFERRAL_TYPES = frozenset({"Task", "ServiceRequest"})
# Beyond the referrals: the patients they are for (minimum data), the trail of their transitions (Provenance)
# and the notices about them (Communication), each row limited to the coordinator's region.
COORDINATOR_READABLE = frozenset({"Patient", "Provenance", "Communication"})
PATIENT_WRITABLE_TYPES = frozenset({"Consent", "Basic"})
# R4 rest-hook Subscriptions deliver whatever matches their criteria, whoever it concerns, to an address of the
# subscriber's choosing, and carry the secret that signs those deliveries: only a trusted back-end that may read
# every type creates or sees them.
BACK_END_TYPES = frozenset({"Subscription"})
# The audit trail (ece.audit) is written by the server alone, append-only, outside the record store; nobody
# creates, changes or deletes an AuditEvent through the store, not even inside a transaction Bundle.
APPEND_ONLY_TYPES = frozenset({"AuditEvent"})
MINIMUM_PATIENT_ELEMENTS = ["identifier", "name", "gender", "birthDate", "managingOrganization", "address"]
Binder = Callable[[object], str]
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9\-]*")


@lru_cache(maxsize=256)
def names_sql(names: tuple[str, ...]) -> str:
    """Resource type or search parameter names, a constant of the registry or the token's scopes, as a ``text[]``
    written into the statement. Bound, such a list cost ~1 µs per name for psycopg to write (~60 µs for the types of
    the Patient compartment, ~110 µs for the types a clinician may read, in every statement a clinician runs);
    these names need no quoting. The same few lists come back with every request: each is checked once."""
    if not all(_NAME.fullmatch(name) for name in names):
        raise ValueError(f"not a resource type or parameter name: {names!r}")
    return f"CAST('{{{','.join(names)}}}' AS text[])"


@lru_cache(maxsize=1)
def patient_links() -> dict[str, tuple[str, ...]]:
    """Resource type -> the reference parameters that put it in a patient's compartment."""
    links = {t: tuple(p for p in params if p != "{def}") for t, params in compartment_links()["Patient"].items()}
    links["Patient"] = ("link",)
    return links


def is_patient_data(resource_type: str) -> bool:
    return resource_type in patient_links()


def _scope_contexts(role: Role) -> tuple[str, ...]:
    return {Role.SYSTEM: ("system",), Role.PATIENT: ("patient", "user")}.get(role, ("user",))


def may(actor: Actor, resource_type: str, interaction: str) -> bool:
    """Whether ``actor`` may perform ``interaction`` (a SMART letter: c r u d s) on some ``resource_type``."""
    if resource_type in APPEND_ONLY_TYPES and interaction in (CREATE, UPDATE, DELETE):
        return False
    by_scope = allowed(actor.scopes, _scope_contexts(actor.role), resource_type, interaction)
    if resource_type in BACK_END_TYPES:
        return actor.role is Role.SYSTEM and bool(by_scope) and reads_everything(actor)
    if actor.role is Role.SYSTEM:
        return bool(by_scope)
    if by_scope is False:
        return False
    writing = interaction in (CREATE, UPDATE, DELETE)
    if actor.role is Role.ADMIN:
        return not is_patient_data(resource_type)
    if actor.role is Role.PATIENT:
        return not writing or resource_type in PATIENT_WRITABLE_TYPES
    if actor.role is Role.COORDINATOR:
        if writing:
            return resource_type in REFERRAL_TYPES
        return not is_patient_data(resource_type) or resource_type in REFERRAL_TYPES | COORDINATOR_READABLE
    return True  # clinician: rows are limited by visibility


def reads_everything(actor: Actor) -> bool:
    """A back-end whose ``system/`` scopes read every type (``system/*.read``, ``system/*.rs``, ``system/*.*``)."""
    return any(s.context == "system" and s.resource_type == "*" and READ in s.interactions
               for s in parse_scopes(actor.scopes))


def readable_types(actor: Actor, resource_types: list[str]) -> list[str]:
    return [t for t in resource_types if may(actor, t, SEARCH) or may(actor, t, READ)]


def unrestricted(actor: Actor) -> bool:
    """A trusted back-end or an admin sees every row of the types it may read (no row condition)."""
    return actor.role in (Role.SYSTEM, Role.ADMIN)


def visibility_sql(actor: Actor, bind: Binder, alias: str, resource_types: Sequence[str] | None = None, *,
                   one_row: bool = False) -> str:
    """The condition under which the ``resource`` row ``alias`` is visible to ``actor``. When the row's possible
    ``resource_types`` are known, only the branches they can need are written (planning a condition costs as
    much as running it on a page of rows). ``one_row``: the condition decides a single row (a read), see
    ``clinician_may_see``."""
    types = None if resource_types is None else frozenset(resource_types)
    if actor.role is Role.SYSTEM or (types is not None and not any(map(is_patient_data, types))):
        return "TRUE"
    if actor.role is Role.ADMIN:
        return _not_patient_data(alias, types) or "FALSE"
    branches = [_row_visibility(actor, bind, alias, types, one_row)]
    if types is None or "Provenance" in types:
        branches.append(_trail_of_visible(actor, bind, alias, one_row))
    if types is None or "Communication" in types:
        branches.append(_addressed_to(actor, bind, alias))
    return "(" + " OR ".join(branches) + ")"


def _row_visibility(actor: Actor, bind: Binder, alias: str, types: frozenset[str] | None = None,
                    one_row: bool = False) -> str:
    """Visibility of a row by its own links: a patient's data, a referral of the region, or no patient data."""
    not_patient_data = _not_patient_data(alias, types)
    if actor.role is Role.COORDINATOR:
        region = actor.region or ""
        tagged = _region_tagged(bind, alias, region)
        routed = (f"{alias}.id IN (SELECT l.target_id FROM search_reference l WHERE l.resource_type = ANY("
                  f"{names_sql(tuple(sorted(REFERRAL_TYPES)))}) AND l.param IN ('patient', 'subject') AND "
                  f"l.target_type = 'Patient' AND {_region_tagged(bind, 'l', region, id_column='resource_id')})")
        return _any_of(not_patient_data,
                       f"({alias}.resource_type = ANY({names_sql(tuple(sorted(REFERRAL_TYPES)))}) AND {tagged})",
                       f"({alias}.resource_type = 'Patient' AND {routed})")
    if actor.role is Role.PATIENT:
        own = bind((actor.patient or "").partition("/")[2])
        return _any_of(not_patient_data, linked_to(bind, alias, lambda patient: f"{patient} = {own}", types))
    in_care = linked_to(bind, alias, lambda patient: clinician_may_see(actor, bind, patient, one_row=one_row), types)
    return _any_of(not_patient_data, in_care)


def _not_patient_data(alias: str, types: frozenset[str] | None) -> str | None:
    """The row ``alias`` is no patient data; None when every type it may have is patient data (the condition would
    be false, and its list of some seventy types would only lengthen the statement)."""
    if types is not None and all(map(is_patient_data, types)):
        return None
    return f"NOT ({alias}.resource_type = ANY({names_sql(tuple(sorted(patient_links())))}))"


def _any_of(*conditions: str | None) -> str:
    kept = [c for c in conditions if c is not None]
    return "(" + " OR ".join(kept) + ")" if kept else "FALSE"


def _trail_of_visible(actor: Actor, bind: Binder, alias: str, one_row: bool) -> str:
    """A Provenance is visible with what it is about: the referral engine records each transition as a
    Provenance whose targets are the Task and the ServiceRequest, not the patient (R4 provenance.html)."""
    return (f"({alias}.resource_type = 'Provenance' AND EXISTS (SELECT 1 FROM search_reference pv JOIN resource "
            f"pt ON pt.resource_type = pv.target_type AND pt.id = pv.target_id AND NOT pt.deleted "
            f"WHERE pv.resource_type = 'Provenance' AND pv.resource_id = {alias}.id AND pv.param = 'target' "
            f"AND pt.resource_type <> 'Provenance' AND {_row_visibility(actor, bind, 'pt', one_row=one_row)}))")


def _addressed_to(actor: Actor, bind: Binder, alias: str) -> str:
    """A Communication reaches its recipients (R4 communication.html#Communication.recipient): the facility,
    practitioner role or patient it names, and a region's coordinators when it carries the region's tag."""
    if actor.role is Role.COORDINATOR:
        return f"({alias}.resource_type = 'Communication' AND {_region_tagged(bind, alias, actor.region or '')})"
    names = [r for r in (actor.facility, actor.practitioner_role, actor.patient) if r]
    if not names:
        return "FALSE"
    targets = [r.split("/", 1) for r in names]
    return (f"({alias}.resource_type = 'Communication' AND EXISTS (SELECT 1 FROM search_reference cr WHERE "
            f"cr.resource_type = 'Communication' AND cr.resource_id = {alias}.id AND cr.param = 'recipient' AND "
            f"(cr.target_type, cr.target_id) IN (SELECT * FROM unnest(CAST({bind([t for t, _i in targets])} AS "
            f"text[]), CAST({bind([i for _t, i in targets])} AS text[])))))")


def linked_to(bind: Binder, alias: str, may_see: Callable[[str], str], types: frozenset[str] | None = None) -> str:
    """The row ``alias`` is a Patient the actor may see, or links to one through its compartment parameters.
    ``may_see(expression)`` is the condition on a patient id; it is evaluated per row, with index lookups only."""
    links = patient_links()
    pairs = [(t, p) for t, params in links.items() if types is None or t in types for p in params]
    branches = []
    if types is None or "Patient" in types:
        branches.append(f"({alias}.resource_type = 'Patient' AND {may_see(f'{alias}.id')})")
    if len({t for t, _p in pairs}) == 1:
        link = f"pl.param = ANY({names_sql(tuple(p for _t, p in pairs))})"
    else:
        link = (f"(pl.resource_type, pl.param) IN (SELECT * FROM unnest({names_sql(tuple(t for t, _p in pairs))}, "
                f"{names_sql(tuple(p for _t, p in pairs))}))")
    if pairs:
        branches.append(f"EXISTS (SELECT 1 FROM search_reference pl WHERE pl.resource_type = {alias}.resource_type "
                        f"AND pl.resource_id = {alias}.id AND pl.target_type = 'Patient' AND {link} "
                        f"AND {may_see('pl.target_id')})")
    return "(" + (" OR ".join(branches) or "FALSE") + ")"


def _region_tagged(bind: Binder, alias: str, region: str, *, id_column: str = "id") -> str:
    return (f"EXISTS (SELECT 1 FROM search_token rt WHERE rt.resource_type = {alias}.resource_type AND "
            f"rt.resource_id = {alias}.{id_column} AND rt.param = '_tag' AND rt.system = {bind(REGION_SYSTEM)} "
            f"AND rt.code = {bind(region)})")


def clinician_may_see(actor: Actor, bind: Binder, patient: str, *, one_row: bool = False) -> str:
    """Whether a clinician may read the record of the patient whose id is the SQL expression ``patient``:
    in care at their facility and not refused by Consent, or under their own unexpired break-the-glass grant.

    The same rule has two forms. Inside a query over many rows it is written out, so the planner may compute
    the facility's patients once and probe them per row. Deciding one row (a read), planning those subqueries
    cost more than running them (about 3 ms a request): there it is a call of the database function
    ``clinician_may_see`` (migration 0008_clinician_care_check, the same rule), whose lookups are planned once
    per connection. The authorisation matrix (tests/ece/access) holds reads and searches to the same answers."""
    facility_id = (actor.facility or "").partition("/")[2]
    facility = bind(facility_id)
    if one_row:
        return f"clinician_may_see({patient}, {facility}, {bind(actor.subject)})"
    registered = (f"EXISTS (SELECT 1 FROM search_reference m WHERE m.resource_type = 'Patient' AND m.resource_id = "
                  f"{patient} AND m.param = 'organization' AND m.target_type = 'Organization' AND m.target_id = "
                  f"{facility})")
    encountered = (f"EXISTS (SELECT 1 FROM search_reference e JOIN search_reference sp ON sp.resource_type = "
                   f"'Encounter' AND sp.resource_id = e.resource_id AND sp.param = 'service-provider' AND "
                   f"sp.target_type = 'Organization' AND sp.target_id = {facility} WHERE e.resource_type = "
                   f"'Encounter' AND e.param = 'patient' AND e.target_type = 'Patient' AND e.target_id = {patient})")
    referred = (f"EXISTS (SELECT 1 FROM search_reference t JOIN search_reference tf ON tf.resource_type = 'Task' AND "
                f"tf.resource_id = t.resource_id AND tf.param IN ('requester', 'owner') AND tf.target_type = "
                f"'Organization' AND tf.target_id = {facility} WHERE t.resource_type = 'Task' AND t.param = "
                f"'patient' AND t.target_type = 'Patient' AND t.target_id = {patient})")
    granted = (f"EXISTS (SELECT 1 FROM access_grant g WHERE g.subject = {bind(actor.subject)} AND g.patient_id = "
               f"{patient} AND g.expires_at > now())")
    denied = consent_denies(bind, patient, f"Organization/{facility_id}")
    return f"((({registered} OR {encountered} OR {referred}) AND NOT {denied}) OR {granted})"


def consent_denies(bind: Binder, patient: str, facility: str) -> str:
    """Whether an active Consent of ``patient`` refuses ``facility`` ("Organization/<id>"), FHIR R4 consent.html
    provisions: a ``deny`` provision naming it, or a base ``deny`` without actors whose nested ``permit``
    provisions do not name it ("everyone but the facilities treating me")."""
    names = bind(json.dumps({"f": facility}))
    doc = "CAST(cr.content AS jsonb)"
    return (f"EXISTS (SELECT 1 FROM search_reference cp JOIN resource cr ON cr.resource_type = 'Consent' AND "
            f"cr.id = cp.resource_id AND NOT cr.deleted WHERE cp.resource_type = 'Consent' AND cp.param = 'patient' "
            f"AND cp.target_type = 'Patient' AND cp.target_id = {patient} AND {doc} ->> 'status' = 'active' AND ("
            f"jsonb_path_exists({doc}, '$.** ? (@.type == \"deny\" && @.actor[*].reference.reference == $f)', "
            f"CAST({names} AS jsonb)) OR ({doc} #>> '{{provision,type}}' = 'deny' AND NOT ({doc} -> 'provision' ? "
            f"'actor') AND NOT jsonb_path_exists({doc}, '$.provision.provision[*] ? (@.type == \"permit\" && "
            f"@.actor[*].reference.reference == $f)', CAST({names} AS jsonb)))))")
