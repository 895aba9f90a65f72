"""Who is asking: the authenticated actor of a request or task, and the rules of what it may see and do.

Public API for the routes and the referral engine: ``Actor``, ``Role``, the ``CurrentActor`` dependency,
and the errors ``Unauthenticated`` (401) and ``Forbidden`` (403).
"""

from ece.access.actor import Actor, Role
from ece.access.errors import Forbidden, Unauthenticated
from ece.access.gate import CurrentActor

__all__ = ["Actor", "Role", "CurrentActor", "Forbidden", "Unauthenticated"]
