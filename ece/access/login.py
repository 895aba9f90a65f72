"""Getting a token from the embedded issuer: a user's login (username and password) and an integration
client's client-credentials grant (RFC 6749 §4.4, SMART Backend Services' symmetric variant).

Each attempt is audited (DICOM 110114 User Authentication) in the caller's transaction; a failure says
only that the credentials were refused, never which part was wrong.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import text

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


ATTEMPT_WINDOW = timedelta(seconds=60)
FORGET_AT_ONCE = 500  # expired rows of other addresses removed per attempt; enough to keep the table one window long

_LOCK_ADDRESS = text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))")
# Other transactions may be forgetting the same rows: skip those they hold rather than wait (or deadlock) on them.
_FORGET = text("DELETE FROM login_attempt WHERE ctid IN (SELECT ctid FROM login_attempt WHERE attempted_at <= "
               ":before LIMIT :limit FOR UPDATE SKIP LOCKED)")
_RECENT = text("SELECT count(*), min(attempted_at) FROM login_attempt WHERE address = :address AND "
               "attempted_at > :before")
_RECORD = text("INSERT INTO login_attempt (address, attempted_at) VALUES (:address, :at)")


async def count_attempt(tx: Transaction, *, address: str, per_minute: int, now: datetime) -> None:
    """At most ``per_minute`` login or token attempts per client address in any 60 s window, counted in the
    database: every API process, and the process after a restart, share one count. An attempt over the limit is
    a 429 with Retry-After, and is not counted."""
    await tx.conn.execute(_LOCK_ADDRESS, {"key": f"login-attempts:{address}"})
    before = now - ATTEMPT_WINDOW
    await tx.conn.execute(_FORGET, {"before": before, "limit": FORGET_AT_ONCE})
    count, oldest = (await tx.conn.execute(_RECENT, {"address": address, "before": before})).one()
    if count >= per_minute:
        raise TooManyAttempts(math.ceil((oldest + ATTEMPT_WINDOW - now).total_seconds()))
    await tx.conn.execute(_RECORD, {"address": address, "at": now})


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
