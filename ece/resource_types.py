"""Which R4 resource types this server serves.

Content is validated with fhir.resources' R4B models (there is no R4 package); R4 types that R4B
dropped or renamed cannot be validated and are therefore not served. The CapabilityStatement and
the README list them.
"""

from __future__ import annotations

from functools import cache

from fhir.resources.R4B import get_fhir_model_class

from ece.registry import schema


def _has_r4b_model(resource_type: str) -> bool:
    try:
        get_fhir_model_class(resource_type)
    except (KeyError, ValueError, ImportError, AttributeError):
        return False
    return True


@cache
def served_types() -> tuple[str, ...]:
    return tuple(t for t in schema()["resourceTypes"] if _has_r4b_model(t))


@cache
def unserved_types() -> tuple[str, ...]:
    return tuple(t for t in schema()["resourceTypes"] if not _has_r4b_model(t))


def is_served(resource_type: str) -> bool:
    return resource_type in _served_set()


@cache
def _served_set() -> frozenset[str]:
    return frozenset(served_types())
