"""SMART on FHIR scopes, v1 (``patient/*.read``, ``user/Observation.write``, ``system/*.*``) and v2
(``patient/Observation.rs``, ``system/*.cruds``): which interactions on which types a token allows.

SMART App Launch 2.0 §"Scopes for requesting clinical data": v1 ``read`` is v2 ``rs``, ``write`` is ``cud``,
``*`` is every interaction. v2 query suffixes (``?category=...``) narrow a scope; they are not honoured here,
so such a scope grants nothing rather than more than it says.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

# The interactions of SMART v2: create, read, update, delete, search.
CREATE, READ, UPDATE, DELETE, SEARCH = "c", "r", "u", "d", "s"
_V1 = {"read": frozenset("rs"), "write": frozenset("cud"), "*": frozenset("cruds")}
CONTEXTS = ("patient", "user", "system")


@dataclass(frozen=True)
class Scope:
    context: str  # patient | user | system
    resource_type: str  # a type or "*"
    interactions: frozenset[str]

    def allows(self, resource_type: str, interaction: str) -> bool:
        return self.resource_type in ("*", resource_type) and interaction in self.interactions


def parse_scope(text: str) -> Scope | None:
    """One scope string, or None for what is not a clinical-data scope (openid, launch, offline_access...)."""
    context, slash, rest = text.partition("/")
    if not slash or context not in CONTEXTS or "?" in rest:
        return None
    resource_type, dot, permission = rest.partition(".")
    if not dot or not resource_type:
        return None
    if permission in _V1:
        return Scope(context, resource_type, _V1[permission])
    if permission and set(permission) <= set("cruds") and list(permission) == sorted(permission, key="cruds".index):
        return Scope(context, resource_type, frozenset(permission))
    return None


@lru_cache(maxsize=4096)
def parse_scopes(scopes: frozenset[str]) -> tuple[Scope, ...]:
    return tuple(s for s in (parse_scope(t) for t in sorted(scopes)) if s is not None)


def allowed(scopes: frozenset[str], contexts: tuple[str, ...], resource_type: str, interaction: str) -> bool | None:
    """True or False when the token carries scopes of ``contexts``; None when it carries none (no limit)."""
    relevant = [s for s in parse_scopes(scopes) if s.context in contexts]
    if not relevant:
        return None
    return any(s.allows(resource_type, interaction) for s in relevant)
