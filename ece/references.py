"""Literal references (R4 references.html#literal) and which of them point into this server.

An absolute URL is local only when it starts with one of this server's bases: the configured public
base, and the base the current request arrived on (set per request by the API). Any other absolute
URL names a resource elsewhere, even if its type and id happen to match a local one.
"""

from __future__ import annotations

import re
from contextvars import ContextVar

_REFERENCE = re.compile(r"^(?:(?P<base>.+)/)?(?P<type>[A-Z][A-Za-z]+)/(?P<id>[A-Za-z0-9\-.]{1,64})"
                        r"(?:/_history/[A-Za-z0-9\-.]{1,64})?$")
_configured_bases: tuple[str, ...] = ()
_request_base: ContextVar[str | None] = ContextVar("ece_request_base", default=None)


def parse_reference(reference: str) -> tuple[str, str] | None:
    """``Patient/1``, ``http://base/Patient/1`` or ``Patient/1/_history/2`` -> (type, id)."""
    match = _REFERENCE.match(reference)
    if match is None:
        return None
    return match.group("type"), match.group("id")


def configure_local_bases(*bases: str) -> None:
    """The server's public base(s), set once at start-up."""
    global _configured_bases
    _configured_bases = tuple(b.rstrip("/") for b in bases if b)


def set_request_base(base: str) -> None:
    """The base of the request being served (its context only)."""
    _request_base.set(base.rstrip("/"))


def local_reference(reference: str) -> tuple[str, str] | None:
    """(type, id) when ``reference`` names a resource on this server, relative or absolute; else None."""
    if "://" not in reference:
        return parse_reference(reference)
    request_base = _request_base.get()
    for base in (*_configured_bases, *((request_base,) if request_base else ())):
        if reference.startswith(base + "/"):
            return parse_reference(reference[len(base) + 1:])
    return None
