"""Seeded random streams and the ids drawn from them.

Each part of the data set has its own stream, seeded with a text naming it (``random.Random`` hashes a
text seed with SHA-512, so the streams are the same in every process and on every run): the network has
one, each patient another. A patient's records therefore depend only on the seed, the network and the
patient's number, whatever process generates them and in whatever order.
"""

from __future__ import annotations

import random
import uuid
from datetime import date, datetime, time, timedelta, timezone

HONDURAS = timezone(timedelta(hours=-6), "CST")  # no daylight saving time
# Clinical data end on this day (fixed, so the same seed gives the same dates on any day).
DATA_END = date(2026, 11, 1)


def stream(*parts: object) -> random.Random:
    return random.Random(":".join(str(p) for p in ("hn-synthetic", *parts)))


def new_id(rng: random.Random) -> str:
    """A version 4 UUID drawn from ``rng`` (R4 resource.html#id allows up to 64 of [A-Za-z0-9-.])."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def local_instant(day: date, minute_of_day: int) -> str:
    """``2026-03-04T08:30:00-06:00``: a dateTime with the Honduran offset (R4 datatypes.html#dateTime)."""
    moment = datetime.combine(day, time(), HONDURAS) + timedelta(minutes=minute_of_day)
    return moment.isoformat(timespec="seconds")
