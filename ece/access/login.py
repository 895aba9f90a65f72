"""Getting a token from the embedded issuer: a user's login (username and password) and an integration
client's client-credentials grant (RFC 6749 §4.4, SMART Backend Services' symmetric variant).

Each attempt is audited (DICOM 110114 User Authentication) in the caller's transaction; a failure says
only that the credentials were refused, never which part was wrong.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass

from ece.access.actor import Actor, Role
from ece.access.tokens import LocalIssuer
from ece.access.users import check_password
from ece.audit import Access, Event, record
from ece.errors import FhirError, Issue
from ece.tx import Transaction


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    expires_in: int
    scope: str

    def to_json(self) -> dict:
        body = {"access_token": self.access_token, "token_type": "Bearer", "expires_in": self.expires_in}
        if self.scope:
            body["scope"] = self.scope
        return body


class TooManyAttempts(FhirError):
    def __init__(self, retry_after: int):
        super().__init__([Issue("throttled", f"Demasiados intentos; espere {retry_after} s / too many attempts; "
                                             f"retry in {retry_after} s")], 429)
        self.headers = {"Retry-After": str(retry_after)}


class AttemptLimiter:
    """At most ``per_minute`` attempts per client address in any 60 s window (per server process)."""

    WINDOW_SECONDS = 60
    MAX_TRACKED_ADDRESSES = 10_000

    def __init__(self, per_minute: int):
        self.per_minute = per_minute
        self._attempts: dict[str, deque[float]] = {}

    def check(self, address: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        if len(self._attempts) > self.MAX_TRACKED_ADDRESSES:
            self._attempts.clear()  # a flood of addresses must not grow memory without bound
        attempts = self._attempts.setdefault(address, deque())
        while attempts and attempts[0] <= now - self.WINDOW_SECONDS:
            attempts.popleft()
        if len(attempts) >= self.per_minute:
            raise TooManyAttempts(int(attempts[0] + self.WINDOW_SECONDS - now) + 1)
        attempts.append(now)


async def login(tx: Transaction, *, issuer: LocalIssuer, username: str, password: str, address: str | None,
                minutes: int) -> IssuedToken | None:
    """The token, or None when refused (the refusal is audited and must commit: the caller answers 401)."""
    user = await check_password(tx, username=username, password=password) if username and password else None
    if user is None or user.actor.role is Role.SYSTEM:
        _audit(tx, Actor(subject=username[:100] or "(vacío / empty)", role=Role.SYSTEM),
               address, "4", "inicio de sesión rechazado / login refused")
        return None
    _audit(tx, user.actor, address, "0", "inicio de sesión / login", user.display_name)
    token = issuer.mint(user.actor, minutes=minutes, name=user.display_name)
    return IssuedToken(token, minutes * 60, " ".join(sorted(user.actor.scopes)))


async def client_credentials(tx: Transaction, *, issuer: LocalIssuer, client_id: str, client_secret: str,
                             scope: str | None, address: str | None, minutes: int) -> IssuedToken | None:
    """A ``system`` client gets the scopes it asks for among those it was given (all of them if it asks none)."""
    client = await check_password(tx, username=client_id, password=client_secret) if client_id and client_secret \
        else None
    if client is None or client.actor.role is not Role.SYSTEM:
        _audit(tx, Actor(subject=client_id[:100] or "(vacío / empty)", role=Role.SYSTEM), address, "4",
               "credenciales de cliente rechazadas / client credentials refused")
        return None
    granted = client.actor.scopes if scope is None else client.actor.scopes & frozenset(scope.split())
    actor = Actor(subject=client.actor.subject, role=Role.SYSTEM, scopes=frozenset(granted))
    _audit(tx, actor, address, "0", "token de cliente / client token", client.display_name)
    token = issuer.mint(actor, minutes=minutes, name=client.display_name)
    return IssuedToken(token, minutes * 60, " ".join(sorted(granted)))


def _audit(tx: Transaction, actor: Actor, address: str | None, outcome: str, description: str,
           name: str | None = None) -> None:
    record(tx, Event(Access(actor, name, address), "login", outcome=outcome, description=description))
