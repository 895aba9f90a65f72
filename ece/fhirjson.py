"""Lossless FHIR JSON (R4 json.html).

Decimals keep their exact lexical form (``72.50`` stays ``72.50``): they are parsed as ``Decimal``
and written back verbatim through ``orjson.Fragment``. Nothing goes through floats.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import orjson

from ece.errors import InvalidResource, Issue


def _decimal_literal(text: str) -> Decimal:
    return Decimal(text)


def _decimal_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return orjson.Fragment(str(value))
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def loads(raw: bytes | str) -> Any:
    """Parse JSON, keeping decimals exact. Malformed or over-deep input raises ``InvalidResource``."""
    try:
        return json.loads(raw, parse_float=_decimal_literal)
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


def max_depth(value: Any, limit: int) -> bool:
    """True when ``value`` nests deeper than ``limit`` (iterative, so deep input cannot blow the stack)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(node, dict):
            stack.extend((v, depth + 1) for v in node.values() if isinstance(v, (dict, list)))
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node if isinstance(v, (dict, list)))
    return False


def Raw(content: bytes) -> orjson.Fragment:  # noqa: N802 - reads as a type at call sites
    """Embed already-serialised JSON (a stored resource) in a document without parsing it again."""
    return orjson.Fragment(content)
