"""Limits on what the store accepts, set once at start-up by the composition root (``app``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Limits:
    max_json_depth: int = 96
    default_page_size: int = 20
    max_page_size: int = 1000
    # Entries in one transaction or batch Bundle.
    max_bundle_entries: int = 10000


LIMITS = Limits()


def configure(**values: int) -> None:
    for name, value in values.items():
        if not hasattr(LIMITS, name):
            raise AttributeError(name)
        setattr(LIMITS, name, value)
