"""Compartments as this server serves them (R4 compartmentdefinition.html): the official definitions, plus the
links that make a referral Task and a clinical-summary document part of the patient's record.

R4 leaves Task out of the Patient compartment; in the national referral system a patient's referrals are their
record, linked by ``Task.for`` (the ``patient`` parameter). A document Bundle (R4 documents.html) is in no
compartment; its ``patient`` parameter (ece.indexing) names the patient whose summary it holds. Compartment
search (``Patient/123/*``), ``Patient/$everything`` and access control (ece.access.policy) use these same links.
"""

from __future__ import annotations

from functools import cache

from ece.registry import compartments

EXTRA_LINKS: dict[str, dict[str, tuple[str, ...]]] = {"Patient": {"Task": ("patient",), "Bundle": ("patient",)}}


@cache
def compartment_links() -> dict[str, dict[str, tuple[str, ...]]]:
    """Compartment owner type -> member resource type -> the parameters that link a member to its owner
    (``{def}`` where the owner is its own member)."""
    merged = {owner: {t: tuple(params) for t, params in members.items()} for owner, members in compartments().items()}
    for owner, members in EXTRA_LINKS.items():
        for resource_type, params in members.items():
            known = merged[owner].get(resource_type, ())
            merged[owner][resource_type] = tuple(dict.fromkeys([*known, *params]))
    return merged
