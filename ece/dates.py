"""FHIR dates as instant ranges, and the folding of text for string search (R4 search.html#date, #string)."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime, timedelta


def fold(text: str) -> str:
    """Case- and accent-insensitive form for string search ("Pérez" matches "perez")."""
    if text.isascii():  # most values: no accents to strip, and 30x faster than decomposing
        return text.casefold()
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


# R4 datatypes.html#dateTime: YYYY, YYYY-MM, YYYY-MM-DD, or a full time with seconds and zone.
_DATE = re.compile(
    r"^(?P<y>\d{4})(?:-(?P<m>\d{2})(?:-(?P<d>\d{2})(?:T(?P<H>\d{2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:\.(?P<f>\d+))?)?"
    r"(?P<tz>Z|[+-]\d{2}:\d{2})?)?)?)?$"
)
END_OF_TIME = datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
START_OF_TIME = datetime(1, 1, 1, tzinfo=UTC)


def date_range(text: str) -> tuple[datetime, datetime] | None:
    """The half-open instant range a date/dateTime/instant value stands for, by its precision.

    Values without a zone are taken as UTC (the server's zone), as R4 search.html#date allows.
    """
    match = _DATE.match(text)
    if match is None:
        return None
    g = match.groupdict()
    try:
        year = int(g["y"])
        if g["m"] is None:
            low = datetime(year, 1, 1, tzinfo=UTC)
            return low, _next_year(low)
        month = int(g["m"])
        if g["d"] is None:
            low = datetime(year, month, 1, tzinfo=UTC)
            return low, _next_month(low)
        day = int(g["d"])
        if g["H"] is None:
            low = datetime(year, month, day, tzinfo=UTC)
            return low, _add(low, timedelta(days=1))
        offset = _offset(g["tz"])
        second = int(g["S"] or 0)
        fraction = g["f"] or ""
        micro = int((fraction + "000000")[:6]) if fraction else 0
        local = datetime(year, month, day, int(g["H"]), int(g["M"]), second, micro, tzinfo=UTC)
        low = local - offset
        if g["S"] is None:
            step = timedelta(minutes=1)
        elif not fraction:
            step = timedelta(seconds=1)
        else:
            step = timedelta(microseconds=10 ** max(0, 6 - len(fraction)))
        return low, _add(low, step)
    except (ValueError, OverflowError):
        return None


def _offset(tz: str | None) -> timedelta:
    if tz is None or tz == "Z":
        return timedelta(0)
    sign = 1 if tz[0] == "+" else -1
    return sign * timedelta(hours=int(tz[1:3]), minutes=int(tz[4:6]))


def _add(moment: datetime, step: timedelta) -> datetime:
    try:
        return moment + step
    except OverflowError:
        return END_OF_TIME


def _next_year(low: datetime) -> datetime:
    return low.replace(year=low.year + 1) if low.year < 9999 else END_OF_TIME


def _next_month(low: datetime) -> datetime:
    if low.month == 12:
        return _next_year(low.replace(month=1))
    return low.replace(month=low.month + 1)
