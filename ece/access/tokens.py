"""Bearer tokens: JWTs signed with RS256 or ES256 (RFC 7519, RFC 7518 §3), checked against the issuer's JWKS.

Two issuers are supported:
- an external identity provider (the ministry's Keycloak, say), whose keys come from its JWKS URL;
- the embedded issuer of a stand-alone installation, an EC P-256 key pair kept in a PEM file (created on
  first use) that signs the tokens of ``ece token``, the login endpoint and the client-credentials endpoint.

Verification refuses what the JOSE pitfalls allow: ``alg: none``, any HMAC algorithm (a verifier that hashes
with the public key as an HMAC secret would accept a forged token), a key whose type does not match ``alg``,
a foreign issuer or audience, an expired or not-yet-valid token.

Claims carried (the identity provider maps its attributes to these names): ``sub``, ``role``, ``facility``,
``practitioner_role``, ``patient``, ``region``, ``scope`` (space-separated SMART scopes) and ``name``.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from ece.access.actor import Actor, Role
from ece.access.errors import Unauthenticated

ALGORITHMS = ("ES256", "RS256")
_KEY_TYPES = {"ES256": "EC", "RS256": "RSA"}
# Clock difference tolerated between the issuer and this server on exp/nbf/iat.
LEEWAY_SECONDS = 30
DEFAULT_TOKEN_MINUTES = 60
MAX_TOKEN_MINUTES = 24 * 60
# A client sends the same token with every request, and checking it (signature, claims) cost ~0.4 ms of the
# ~4 ms of CPU an API worker spends on a read (bench/api_cpu.py): a verified token is taken at its word again
# until it expires, for at most VERIFIED_SECONDS (so an external issuer's withdrawn key stops being trusted within
# its JWKS cache lifespan plus this), in a bounded cache of the most recently used tokens per process.
VERIFIED_SECONDS = 60
VERIFIED_TOKENS = 4096


@dataclass(frozen=True)
class TokenSettings:
    issuer: str
    audience: str
    jwks_url: str | None = None  # external issuer; None: the embedded one
    signing_key_file: Path | None = None


class LocalIssuer:
    """The embedded issuer: one EC P-256 key, created (mode 0600) the first time it is needed."""

    def __init__(self, key_file: Path, *, issuer: str, audience: str):
        self.key_file = key_file
        self.issuer = issuer
        self.audience = audience
        self._private = _load_or_create_key(key_file)
        public_jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(self._private.public_key()))
        self.kid = _thumbprint(public_jwk)
        self.public_jwk = {**public_jwk, "kid": self.kid, "use": "sig", "alg": "ES256"}

    def jwks(self) -> dict:
        return {"keys": [self.public_jwk]}

    def mint(self, actor: Actor, *, minutes: int = DEFAULT_TOKEN_MINUTES, name: str | None = None,
             now: float | None = None) -> str:
        if not 0 < minutes <= MAX_TOKEN_MINUTES:
            raise ValueError(f"minutes must be between 1 and {MAX_TOKEN_MINUTES}")
        issued = int(now if now is not None else time.time())
        claims: dict[str, Any] = {"iss": self.issuer, "aud": self.audience, "sub": actor.subject,
                                  "iat": issued, "nbf": issued, "exp": issued + minutes * 60,
                                  "jti": uuid.uuid4().hex, "role": actor.role.value}
        for claim, value in (("facility", actor.facility), ("practitioner_role", actor.practitioner_role),
                             ("patient", actor.patient), ("region", actor.region), ("name", name)):
            if value:
                claims[claim] = value
        if actor.scopes:
            claims["scope"] = " ".join(sorted(actor.scopes))
        return jwt.encode(claims, self._private, algorithm="ES256", headers={"kid": self.kid})


def _load_or_create_key(path: Path) -> ec.EllipticCurvePrivateKey:
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError(f"{path}: expected an EC P-256 private key")
        return key
    path.parent.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    temporary = path.with_suffix(f".{uuid.uuid4().hex}.tmp")
    temporary.touch(mode=0o600)
    temporary.write_bytes(pem)
    try:
        os.link(temporary, path)  # atomic: a reader never sees a half-written key
    except FileExistsError:  # another process created it first: use theirs
        pass
    finally:
        temporary.unlink()
    return _load_or_create_key(path)


def _thumbprint(jwk: dict) -> str:
    """RFC 7638 JWK thumbprint of an EC key, as the key id."""
    import base64
    import hashlib

    canonical = json.dumps({k: jwk[k] for k in ("crv", "kty", "x", "y")}, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).decode().rstrip("=")


class TokenVerifier:
    """Turns a bearer token into an ``Actor`` or raises ``Unauthenticated`` (401)."""

    def __init__(self, settings: TokenSettings, local: LocalIssuer | None = None):
        self.settings = settings
        self._local = local
        self._remote = jwt.PyJWKClient(settings.jwks_url, cache_keys=True, lifespan=300) \
            if settings.jwks_url else None
        self._verified: OrderedDict[str, tuple[float, Actor, dict]] = OrderedDict()  # token -> (until, actor, claims)

    def _key(self, header: dict) -> Any:
        alg = header.get("alg")
        if alg not in ALGORITHMS:
            raise _refused(f"algoritmo no admitido / algorithm not accepted: {str(alg)[:20]}")
        kid = header.get("kid")
        if self._remote is not None:
            try:
                jwk = self._remote.get_signing_key(kid) if kid else None
            except jwt.PyJWKClientError as error:
                raise _refused("clave de firma desconocida / unknown signing key") from error
            if jwk is None:
                raise _refused("el token no nombra su clave (kid) / the token names no key (kid)")
            key_type, key = jwk.key_type, jwk.key
        elif self._local is not None:
            if kid != self._local.kid:
                raise _refused("clave de firma desconocida / unknown signing key")
            key_type, key = "EC", self._local._private.public_key()
        else:
            raise _refused("no hay emisor configurado / no issuer configured")
        if key_type != _KEY_TYPES[alg] or not isinstance(key, (ec.EllipticCurvePublicKey, rsa.RSAPublicKey)):
            raise _refused("el algoritmo no corresponde a la clave / algorithm does not match the key")
        return key

    def verify(self, token: str) -> tuple[Actor, dict]:
        now = time.time()
        known = self._verified.get(token)
        if known is not None and now < known[0]:
            self._verified.move_to_end(token)
            return known[1], known[2]
        actor, claims = self._check(token)
        # Never past ``exp``: from then on the token is checked again, and refused once the leeway is over too.
        until = min(float(claims["exp"]), now + VERIFIED_SECONDS)
        if until > now:
            self._verified[token] = (until, actor, claims)
            self._verified.move_to_end(token)
            if len(self._verified) > VERIFIED_TOKENS:
                self._verified.popitem(last=False)
        return actor, claims

    def _check(self, token: str) -> tuple[Actor, dict]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise _refused("token mal formado / malformed token") from None
        key = self._key(header)
        try:
            claims = jwt.decode(token, key, algorithms=[header["alg"]], audience=self.settings.audience,
                                issuer=self.settings.issuer, leeway=LEEWAY_SECONDS,
                                options={"require": ["exp", "iat", "sub", "iss", "aud"]})
        except jwt.ExpiredSignatureError:
            raise _refused("el token expiró / the token has expired") from None
        except jwt.ImmatureSignatureError:
            raise _refused("el token aún no es válido (nbf) / the token is not yet valid") from None
        except jwt.InvalidAudienceError:
            raise _refused("el token es para otra audiencia / the token is for another audience") from None
        except jwt.InvalidIssuerError:
            raise _refused("el token es de otro emisor / the token is from another issuer") from None
        except jwt.PyJWTError:
            raise _refused("firma o contenido inválido / invalid signature or claims") from None
        return actor_from_claims(claims), claims


def actor_from_claims(claims: dict) -> Actor:
    try:
        role = Role(claims.get("role"))
    except ValueError:
        raise _refused("el token no tiene un rol válido / the token has no valid role") from None
    actor = Actor(subject=str(claims["sub"]), role=role, facility=_local_ref(claims, "facility", "Organization"),
                  practitioner_role=_local_ref(claims, "practitioner_role", "PractitionerRole"),
                  patient=_local_ref(claims, "patient", "Patient"), region=_text(claims.get("region")),
                  scopes=frozenset(str(claims.get("scope") or "").split()))
    missing = {Role.CLINICIAN: actor.facility, Role.PATIENT: actor.patient, Role.COORDINATOR: actor.region}
    if role in missing and not missing[role]:
        needed = {Role.CLINICIAN: "facility", Role.PATIENT: "patient", Role.COORDINATOR: "region"}[role]
        raise _refused(f"al rol {role.value} le falta '{needed}' / role {role.value} needs '{needed}'")
    return actor


def _text(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def _local_ref(claims: dict, claim: str, resource_type: str) -> str | None:
    """``Organization/abc`` (or a bare id, as SMART's ``patient`` launch context carries) -> ``Organization/abc``."""
    value = _text(claims.get(claim))
    if value is None:
        return None
    kind, _, ident = value.rpartition("/")
    if kind not in ("", resource_type) or not ident:
        raise _refused(f"'{claim}' debe ser {resource_type}/<id> / must be {resource_type}/<id>")
    return f"{resource_type}/{ident}"


def _refused(reason: str) -> Unauthenticated:
    return Unauthenticated(reason, error="invalid_token")
