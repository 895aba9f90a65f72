"""Compact registries generated from the official R4 definitions by ``scripts/generate_registries.py``.

Committed JSON; the server never reads ../shared at run time. Do not edit the JSON by hand.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any


def _load(name: str) -> Any:
    return json.loads(resources.files(__package__).joinpath(name).read_text(encoding="utf-8"))


@cache
def schema() -> dict[str, Any]:
    """Element tree of every resource and datatype, and the expansions of required value sets."""
    return _load("schema.json")


@cache
def search_parameters() -> dict[str, dict[str, Any]]:
    return _load("search_parameters.json")


@cache
def compartments() -> dict[str, dict[str, list[str]]]:
    return _load("compartments.json")
