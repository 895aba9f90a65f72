"""Token verification (ece.access.tokens): what verifies, and every forgery that must not."""

from __future__ import annotations

import base64
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from ece.access import Actor, Role, Unauthenticated, tokens
from ece.access.tokens import LocalIssuer, TokenSettings, TokenVerifier

ISSUER = "urn:ece-test:emisor"
AUDIENCE = "urn:ece-test:fhir"
CLINICIAN = Actor(subject="dra-lopez", role=Role.CLINICIAN, facility="Organization/hospital-escuela",
                  practitioner_role="PractitionerRole/pr-1", scopes=frozenset({"user/*.read"}))


@pytest.fixture(scope="module")
def issuer(tmp_path_factory) -> LocalIssuer:
    return LocalIssuer(tmp_path_factory.mktemp("keys") / "key.pem", issuer=ISSUER, audience=AUDIENCE)


@pytest.fixture(scope="module")
def verifier(issuer: LocalIssuer) -> TokenVerifier:
    return TokenVerifier(TokenSettings(issuer=ISSUER, audience=AUDIENCE), issuer)


def claims(**overrides) -> dict:
    now = int(time.time())
    return {"iss": ISSUER, "aud": AUDIENCE, "sub": "dra-lopez", "iat": now, "nbf": now, "exp": now + 300,
            "role": "clinician", "facility": "Organization/hospital-escuela", **overrides}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def refusal(verifier: TokenVerifier, token: str) -> str:
    with pytest.raises(Unauthenticated) as caught:
        verifier.verify(token)
    assert caught.value.status == 401
    assert caught.value.headers["WWW-Authenticate"].startswith('Bearer realm="ece", error="invalid_token"')
    return caught.value.reason


def test_minted_token_verifies_to_the_same_actor(issuer, verifier):
    actor, token_claims = verifier.verify(issuer.mint(CLINICIAN, minutes=5, name="Dra. Ana López"))

    assert actor == CLINICIAN
    assert token_claims["name"] == "Dra. Ana López"


def test_key_file_is_private_and_reused(tmp_path: Path):
    first = LocalIssuer(tmp_path / "k.pem", issuer=ISSUER, audience=AUDIENCE)
    second = LocalIssuer(tmp_path / "k.pem", issuer=ISSUER, audience=AUDIENCE)

    assert (tmp_path / "k.pem").stat().st_mode & 0o077 == 0
    assert first.kid == second.kid


def test_alg_none_is_refused(issuer, verifier):
    header = b64(json.dumps({"alg": "none", "typ": "JWT", "kid": issuer.kid}).encode())
    token = f"{header}.{b64(json.dumps(claims()).encode())}."

    assert "algorithm" in refusal(verifier, token)


def test_hs256_signed_with_the_public_key_is_refused(issuer, verifier):
    """Algorithm confusion: an HMAC whose secret is the server's public key, which anyone can fetch."""
    public_pem = jwt.algorithms.ECAlgorithm.from_jwk(json.dumps(issuer.public_jwk)).public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": issuer.kid}).encode())
    body = b64(json.dumps(claims(role="system", scope="system/*.*")).encode())
    import hashlib
    import hmac
    signature = b64(hmac.new(public_pem, f"{header}.{body}".encode(), hashlib.sha256).digest())

    assert "algorithm" in refusal(verifier, f"{header}.{body}.{signature}")


def test_expired_token_is_refused(issuer, verifier):
    token = issuer.mint(CLINICIAN, minutes=1, now=time.time() - 3600)

    assert "expired" in refusal(verifier, token)


def test_token_not_yet_valid_is_refused(issuer, verifier):
    token = issuer.mint(CLINICIAN, minutes=10, now=time.time() + 600)

    assert "not yet valid" in refusal(verifier, token)


def test_token_signed_by_a_foreign_key_with_our_kid_is_refused(issuer, verifier):
    foreign = ec.generate_private_key(ec.SECP256R1())
    token = jwt.encode(claims(), foreign, algorithm="ES256", headers={"kid": issuer.kid})

    assert "signature" in refusal(verifier, token)


def test_token_of_another_issuer_or_audience_is_refused(issuer, verifier, tmp_path):
    other = LocalIssuer(issuer.key_file, issuer="urn:otro", audience=AUDIENCE)
    elsewhere = LocalIssuer(issuer.key_file, issuer=ISSUER, audience="urn:otra-audiencia")

    assert "issuer" in refusal(verifier, other.mint(CLINICIAN))
    assert "audience" in refusal(verifier, elsewhere.mint(CLINICIAN))


def test_tampered_claims_are_refused(issuer, verifier):
    header, body, signature = issuer.mint(CLINICIAN).split(".")
    forged = b64(json.dumps(claims(role="system", scope="system/*.*")).encode())

    assert "signature" in refusal(verifier, f"{header}.{forged}.{signature}")


def test_role_without_its_context_is_refused(issuer, verifier):
    patient_without_link = Actor(subject="juan", role=Role.PATIENT)
    coordinator_without_region = Actor(subject="coord", role=Role.COORDINATOR)

    assert "patient" in refusal(verifier, issuer.mint(patient_without_link))
    assert "region" in refusal(verifier, issuer.mint(coordinator_without_region))


def _counting_decodes(monkeypatch) -> list[str]:
    decoded: list[str] = []
    decode = jwt.decode

    def counting(token, *args, **kwargs):
        decoded.append(token)
        return decode(token, *args, **kwargs)

    monkeypatch.setattr(tokens.jwt, "decode", counting)
    return decoded


def test_a_verified_token_is_not_checked_again_on_the_next_request(issuer, monkeypatch):
    verifier = TokenVerifier(TokenSettings(issuer=ISSUER, audience=AUDIENCE), issuer)
    decoded = _counting_decodes(monkeypatch)
    token = issuer.mint(CLINICIAN, minutes=5, name="Dra. Ana López")

    first, second = verifier.verify(token), verifier.verify(token)

    assert first == second and first[0] == CLINICIAN and first[1]["name"] == "Dra. Ana López"
    assert decoded == [token]


def test_a_remembered_token_is_checked_again_once_it_expires(issuer, monkeypatch):
    verifier = TokenVerifier(TokenSettings(issuer=ISSUER, audience=AUDIENCE), issuer)
    decoded = _counting_decodes(monkeypatch)
    issued = int(time.time())
    token = issuer.mint(CLINICIAN, minutes=5, now=issued)
    verifier.verify(token)

    monkeypatch.setattr(tokens.time, "time", lambda: issued + 5 * 60)
    verifier.verify(token)  # PyJWT's own clock is real time: the token still verifies, but only by checking it

    assert decoded == [token, token]


def test_a_token_within_the_leeway_after_its_expiry_is_verified_every_time(issuer, monkeypatch):
    verifier = TokenVerifier(TokenSettings(issuer=ISSUER, audience=AUDIENCE), issuer)
    decoded = _counting_decodes(monkeypatch)
    token = issuer.mint(CLINICIAN, minutes=1, now=time.time() - 70)  # expired 10 s ago, within the leeway

    verifier.verify(token)
    verifier.verify(token)

    assert decoded == [token, token]


def test_a_refused_token_is_refused_again(issuer, verifier):
    header, body, signature = issuer.mint(CLINICIAN).split(".")
    forged = b64(json.dumps(claims(role="system", scope="system/*.*")).encode())

    assert "signature" in refusal(verifier, f"{header}.{forged}.{signature}")
    assert "signature" in refusal(verifier, f"{header}.{forged}.{signature}")


def test_garbage_is_refused(verifier):
    assert "malformed" in refusal(verifier, "no.es-un.token")


class _Jwks(BaseHTTPRequestHandler):
    body = b""

    def do_GET(self):  # noqa: N802 - http.server's naming
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        pass


def test_rs256_token_of_an_external_issuer_verifies_against_its_jwks_url():
    """The production path: keys fetched from the identity provider's JWKS (e.g. Keycloak's certs URL)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    _Jwks.body = json.dumps({"keys": [{**jwk, "kid": "kc-1", "use": "sig", "alg": "RS256"}]}).encode()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Jwks)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        verifier = TokenVerifier(TokenSettings(issuer=ISSUER, audience=AUDIENCE,
                                               jwks_url=f"http://127.0.0.1:{server.server_address[1]}/certs"))
        token = jwt.encode(claims(role="coordinator", region="08", facility=None), key, algorithm="RS256",
                           headers={"kid": "kc-1"})
        wrong_kid = jwt.encode(claims(), key, algorithm="RS256", headers={"kid": "kc-2"})
        es_on_rsa = jwt.encode(claims(), ec.generate_private_key(ec.SECP256R1()), algorithm="ES256",
                               headers={"kid": "kc-1"})

        actor, _ = verifier.verify(token)

        assert actor.role is Role.COORDINATOR and actor.region == "08"
        assert "unknown signing key" in refusal(verifier, wrong_kid)
        assert "does not match" in refusal(verifier, es_on_rsa)
    finally:
        server.shutdown()
