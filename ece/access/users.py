"""Users and integration clients of the embedded issuer, with argon2id password hashes (RFC 9106).

A login checks the password in a worker thread (argon2 is deliberately slow) and, for an unknown user,
against a fixed dummy hash, so the answer takes as long whether or not the user exists.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import text

from ece.access.actor import Actor, Role
from ece.access.errors import Unauthenticated
from ece.access.tokens import actor_from_claims
from ece.errors import BadRequest, Conflict, Issue
from ece.tx import Transaction

_HASHER = PasswordHasher()
_DUMMY_HASH = _HASHER.hash("contraseña de relleno / dummy password")
MIN_PASSWORD_LENGTH = 12


@dataclass(frozen=True)
class User:
    actor: Actor
    display_name: str | None


async def add_user(tx: Transaction, *, username: str, password: str, role: str, display_name: str | None = None,
                   facility: str | None = None, practitioner_role: str | None = None, patient: str | None = None,
                   region: str | None = None, scopes: str = "") -> User:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise BadRequest([Issue("invalid", f"La contraseña necesita al menos {MIN_PASSWORD_LENGTH} caracteres / "
                                           f"the password needs at least {MIN_PASSWORD_LENGTH} characters")])
    try:
        actor = actor_from_claims({"sub": username, "role": role, "facility": facility,
                                   "practitioner_role": practitioner_role, "patient": patient, "region": region,
                                   "scope": scopes})
    except Unauthenticated as error:
        raise BadRequest([Issue("invalid", error.reason)]) from None
    password_hash = await asyncio.to_thread(_HASHER.hash, password)
    inserted = (await tx.conn.execute(text(
        "INSERT INTO app_user (username, password_hash, role, display_name, facility, practitioner_role, patient, "
        "region, scopes) VALUES (:u, :h, :r, :n, :f, :pr, :p, :g, :s) ON CONFLICT (username) DO NOTHING RETURNING 1"),
        {"u": username, "h": password_hash, "r": actor.role.value, "n": display_name, "f": actor.facility,
         "pr": actor.practitioner_role, "p": actor.patient, "g": actor.region, "s": " ".join(sorted(actor.scopes))},
    )).first()
    if inserted is None:
        raise Conflict([Issue("duplicate", f"El usuario '{username}' ya existe / user already exists")])
    return User(actor, display_name)


async def check_password(tx: Transaction, *, username: str, password: str) -> User | None:
    """The user, if the password is theirs and the account active; None otherwise (same cost either way)."""
    row = (await tx.conn.execute(text(
        "SELECT password_hash, role, display_name, facility, practitioner_role, patient, region, scopes, active "
        "FROM app_user WHERE username = :u"), {"u": username})).first()
    stored = row[0] if row is not None else _DUMMY_HASH
    try:
        await asyncio.to_thread(_HASHER.verify, stored, password)
    except (VerificationError, InvalidHashError):
        return None
    if row is None or not row[8]:
        return None
    actor = Actor(subject=username, role=Role(row[1]), facility=row[3], practitioner_role=row[4], patient=row[5],
                  region=row[6], scopes=frozenset(row[7].split()))
    return User(actor, row[2])
