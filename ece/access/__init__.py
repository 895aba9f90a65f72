"""Who is asking: the authenticated actor of a request or task, and the rules of what it may see and do.

Public API for the routes and the referral engine: ``Actor``, ``Role``, the ``CurrentActor`` and
``CurrentGuard`` dependencies, ``require_patient_access`` (raises ``Forbidden`` unless the actor may read a
patient's record), and the errors ``Unauthenticated`` (401) and ``Forbidden`` (403).
"""

from ece.access.actor import Actor, Role
from ece.access.errors import Forbidden, Unauthenticated
from ece.access.gate import CurrentActor, CurrentGuard
from ece.access.guard import Guard, require_patient_access

__all__ = ["Actor", "Role", "CurrentActor", "CurrentGuard", "Forbidden", "Guard", "Unauthenticated",
           "require_patient_access"]
