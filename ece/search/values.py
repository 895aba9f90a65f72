"""Parsing of search values (R4 search.html): the 400 that names a parameter, escaping (search.html#escaping),
OR lists, and prefixes (search.html#prefix)."""

from __future__ import annotations

from ece.errors import BadRequest, Issue

PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap")


def bad(parameter: str, message: str) -> BadRequest:
    return BadRequest([Issue("invalid", f"Parámetro de búsqueda '{parameter}': {message}", (parameter,))])


def split_escaped(value: str, separator: str, limit: int = -1) -> list[str]:
    """Split on ``separator`` where it is not escaped with a backslash, keeping the escapes for the next
    split (R4 search.html#escaping: ``\\,``, ``\\|``, ``\\$`` and ``\\\\``)."""
    parts, current, escaped = [], [], False
    for ch in value:
        if escaped:
            current.append(ch)
            escaped = False
        elif ch == "\\":
            current.append(ch)
            escaped = True
        elif ch == separator and limit != 0:
            parts.append("".join(current))
            current = []
            limit -= 1
        else:
            current.append(ch)
    parts.append("".join(current))
    return parts


def unescape(value: str) -> str:
    out, escaped = [], False
    for ch in value:
        if escaped or ch != "\\":
            out.append(ch)
            escaped = False
        else:
            escaped = True
    return "".join(out)


def split_or(value: str) -> list[str]:
    """The comma-separated alternatives of a value (OR), still escaped for ``|`` and ``$``."""
    return split_escaped(value, ",")


def split_prefix(value: str, raw_name: str) -> tuple[str, str]:
    if len(value) > 2 and value[:2].isalpha():
        if value[:2] not in PREFIXES:
            raise bad(raw_name, f"prefijo desconocido / unknown prefix '{value[:2]}'")
        return value[:2], value[2:]
    return "eq", value
