"""Who is asking: the authenticated actor of a request or task, and the rules of what it may see and do.

Public API for the routes and the referral engine: ``Actor``, ``Role`` and the ``CurrentActor`` dependency.
"""

from ece.access.actor import Actor, Role

__all__ = ["Actor", "Role"]
