"""The actor behind a request: the verified claims of its bearer token, as the rest of the system sees them.

Roles follow the national deployment: a clinician acts through a PractitionerRole at a facility, a coordinator
for one health region, a patient for one Patient, an admin for the directory and users, and a system client
within its SMART ``system/`` scopes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Role(StrEnum):
    CLINICIAN = "clinician"
    COORDINATOR = "coordinator"
    PATIENT = "patient"
    ADMIN = "admin"
    SYSTEM = "system"


@dataclass(frozen=True)
class Actor:
    """``facility`` ("Organization/<id>"), ``practitioner_role`` ("PractitionerRole/<id>") and ``patient``
    ("Patient/<id>") are local FHIR references; ``region`` is a code of
    https://fhir.salud.gob.hn/CodeSystem/region-sanitaria (a coordinator's region)."""

    subject: str
    role: Role
    facility: str | None = None
    practitioner_role: str | None = None
    patient: str | None = None
    region: str | None = None
    scopes: frozenset[str] = field(default_factory=frozenset)
