"""Literal references (R4 references.html#literal)."""

from __future__ import annotations

import re

_REFERENCE = re.compile(r"^(?:(?P<base>.+)/)?(?P<type>[A-Z][A-Za-z]+)/(?P<id>[A-Za-z0-9\-.]{1,64})"
                        r"(?:/_history/[A-Za-z0-9\-.]{1,64})?$")


def parse_reference(reference: str) -> tuple[str, str] | None:
    """``Patient/1``, ``http://base/Patient/1`` or ``Patient/1/_history/2`` -> (type, id)."""
    match = _REFERENCE.match(reference)
    if match is None:
        return None
    return match.group("type"), match.group("id")
