"""Displays of the national referral codes (reasons, statuses), from the committed CodeSystems."""

from __future__ import annotations

from functools import cache

from fhir_profiles import catalog


@cache
def code_displays(system: str) -> dict[str, tuple[str, str]]:
    """code → (Spanish display, English designation) of a national CodeSystem; empty when unknown."""
    code_system = catalog.by_url().get(system) or {}
    out = {}
    for concept in code_system.get("concept", []):
        english = next((d["value"] for d in concept.get("designation", []) if d.get("language") == "en"),
                       concept["display"])
        out[concept["code"]] = (concept["display"], english)
    return out
