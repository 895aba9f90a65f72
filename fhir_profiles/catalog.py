"""The committed conformance resources (fhir_profiles/definitions/), read once per process.

Files are written with the default canonical base; when ``ECE_PROFILE_CANONICAL_BASE`` names another,
every occurrence is rewritten as the text is read, so URLs, systems and references stay consistent.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from fhir_profiles.systems import CANONICAL_BASE, DEFAULT_CANONICAL_BASE

Json = dict[str, Any]
_FOLDER = "definitions"


def _read(name: str) -> Json:
    text = resources.files(__package__).joinpath(_FOLDER, name).read_text(encoding="utf-8")
    if CANONICAL_BASE != DEFAULT_CANONICAL_BASE:
        text = text.replace(DEFAULT_CANONICAL_BASE, CANONICAL_BASE)
    return json.loads(text)


@cache
def index() -> Json:
    return _read("index.json")


@cache
def all_resources() -> tuple[Json, ...]:
    return tuple(_read(entry["file"]) for entry in index()["resources"])


@cache
def by_url() -> dict[str, Json]:
    return {r["url"]: r for r in all_resources()}


def of_type(resource_type: str) -> list[Json]:
    return [r for r in all_resources() if r["resourceType"] == resource_type]


@cache
def profiles() -> tuple[Json, ...]:
    """The national resource profiles (extensions excluded)."""
    return tuple(r for r in of_type("StructureDefinition") if r["kind"] == "resource")


@cache
def national_types() -> tuple[str, ...]:
    """Resource types with a national profile: the ones enforced by default."""
    return tuple(sorted({p["type"] for p in profiles()}))


@cache
def default_profile(resource_type: str) -> str | None:
    """The profile a resource of an enforced type must meet when it declares none: the one derived directly
    from the base resource (so Observation → hn-signo-vital, not the per-sign profiles)."""
    for p in profiles():
        if p["type"] == resource_type and p["baseDefinition"].startswith("http://hl7.org/fhir/StructureDefinition/"):
            return p["url"]
    return None
