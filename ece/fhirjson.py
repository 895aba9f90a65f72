"""Lossless FHIR JSON (R4 json.html).

Decimals keep their exact lexical form (``72.50`` stays ``72.50``): they are parsed as ``Decimal``
and written back verbatim through ``orjson.Fragment``. Nothing goes through floats.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from email.utils import format_datetime
from typing import Any

import orjson

from ece.errors import InvalidResource, Issue


class DecimalLiteral(Decimal):
    """A decimal that remembers how it was written, so ``0.00000010`` is written back as ``0.00000010``
    and not as ``1.0E-7`` (R4 datatypes.html#decimal: the precision is part of the value)."""

    __slots__ = ("literal",)
    literal: str

    def __new__(cls, literal: str) -> DecimalLiteral:
        value = super().__new__(cls, literal)
        value.literal = literal
        return value


def _decimal_default(value: Any) -> Any:
    if isinstance(value, DecimalLiteral):
        return orjson.Fragment(value.literal)
    if isinstance(value, Decimal):
        return orjson.Fragment(str(value))
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def loads(raw: bytes | str) -> Any:
    """Parse JSON, keeping decimals exact. Malformed or over-deep input raises ``InvalidResource``."""
    try:
        return json.loads(raw, parse_float=DecimalLiteral)
    except RecursionError:
        too_deep = Issue("structure", "El JSON está anidado demasiado profundo / JSON nested too deeply")
        raise InvalidResource([too_deep]) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidResource([Issue("structure", f"JSON mal formado / malformed JSON: {exc}")]) from None


def dumps(value: Any, *, pretty: bool = False, sort_keys: bool = False) -> bytes:
    option = (orjson.OPT_INDENT_2 if pretty else 0) | (orjson.OPT_SORT_KEYS if sort_keys else 0)
    return orjson.dumps(value, default=_decimal_default, option=option)


def prettify(raw: bytes) -> bytes:
    return dumps(loads(raw), pretty=True)


def Raw(content: bytes) -> orjson.Fragment:  # noqa: N802 - reads as a type at call sites
    """Embed already-serialised JSON (a stored resource) in a document without parsing it again."""
    return orjson.Fragment(content)


def instant(moment: datetime) -> str:
    """An R4 ``instant`` in UTC with milliseconds (R4 datatypes.html#instant)."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def http_date(moment: datetime) -> str:
    """An RFC 9110 HTTP-date, whatever zone the database handed back."""
    return format_datetime(moment.astimezone(UTC), usegmt=True)
