"""The deployment's referral policy: deadlines per priority, what happens to a referral sent without a
destination, how many facilities an emergency is offered to. ``app`` sets it from ``ECE_REFERRAL_*`` settings
at start-up (``configure``); the engine reads it with ``current()``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum


class Unassigned(StrEnum):
    AUTO_ROUTE = "auto-route"  # the best candidate of referral.routing becomes the destination
    REGIONAL_WORKLIST = "regional-worklist"  # no owner: the region's coordinator assigns one ($assign)


# Defaults (R4 request-priority codes): minutes to accept and minutes to attend once accepted.
ACCEPT_DEADLINE_MINUTES = {"stat": 30, "asap": 2 * 60, "urgent": 24 * 60, "routine": 3 * 24 * 60}
ATTEND_DEADLINE_MINUTES = {"stat": 2 * 60, "asap": 12 * 60, "urgent": 3 * 24 * 60, "routine": 30 * 24 * 60}


@dataclass(frozen=True)
class Policy:
    accept_minutes: dict[str, int] = field(default_factory=lambda: dict(ACCEPT_DEADLINE_MINUTES))
    attend_minutes: dict[str, int] = field(default_factory=lambda: dict(ATTEND_DEADLINE_MINUTES))
    unassigned: Unassigned = Unassigned.REGIONAL_WORKLIST
    # An emergency (stat) sent without a destination is offered to this many candidates at once.
    stat_offers: int = 3
    # A referral not accepted in time is redirected to the next candidate by the deadline sweep.
    redirect_when_overdue: bool = False

    def accept_within(self, priority: str | None) -> timedelta:
        return timedelta(minutes=self.accept_minutes.get(priority or "routine", self.accept_minutes["routine"]))

    def attend_within(self, priority: str | None) -> timedelta:
        return timedelta(minutes=self.attend_minutes.get(priority or "routine", self.attend_minutes["routine"]))


_current = Policy()


def configure(policy: Policy) -> None:
    global _current
    _current = policy


def current() -> Policy:
    return _current
