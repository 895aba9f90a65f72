"""Security wiring: the token issuer and verifier from settings, the production-mode refusals, security
headers and CORS."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.settings import Settings
from ece.access.gate import AccessConfig
from ece.access.tokens import LocalIssuer, TokenSettings, TokenVerifier

DEFAULT_ISSUER = Settings.model_fields["auth_issuer"].default
DEFAULT_AUDIENCE = Settings.model_fields["auth_audience"].default


class UnsafeSettings(RuntimeError):
    pass


def production_problems(settings: Settings) -> list[str]:
    """What production mode refuses: the defaults every installation shares, and switches meant for benchmarks."""
    problems = []
    if not settings.access_enforced:
        problems.append("ECE_ACCESS_ENFORCED=false (solo para benchmarks / benchmarks only)")
    if not settings.auth_jwks_url and settings.auth_signing_key_file is None:
        problems.append("ni ECE_AUTH_JWKS_URL ni ECE_AUTH_SIGNING_KEY_FILE: la clave del emisor se crearía sola / "
                        "neither is set: the issuer key would be generated on the fly")
    if settings.auth_issuer == DEFAULT_ISSUER or settings.auth_audience == DEFAULT_AUDIENCE:
        problems.append("ECE_AUTH_ISSUER y ECE_AUTH_AUDIENCE deben ser los de la instalación / must name this "
                        "installation, not the defaults")
    if "*" in _origins(settings):
        problems.append("ECE_CORS_ORIGINS=* no se admite en producción / is not allowed in production")
    if settings.database_url and ":postgres@" in settings.database_url:
        problems.append("ECE_DATABASE_URL usa la contraseña predeterminada / uses the default password")
    return problems


def check_production(settings: Settings) -> None:
    if settings.production:
        problems = production_problems(settings)
        if problems:
            raise UnsafeSettings("Modo producción: no se arranca / production mode: refusing to start:\n- "
                                 + "\n- ".join(problems))


def access_config(settings: Settings) -> AccessConfig:
    token_settings = TokenSettings(issuer=settings.auth_issuer, audience=settings.auth_audience,
                                   jwks_url=settings.auth_jwks_url or None,
                                   signing_key_file=settings.signing_key_path())
    local = local_issuer(settings) if not settings.auth_jwks_url else None
    return AccessConfig(verifier=TokenVerifier(token_settings, local), local_issuer=local,
                        enforced=settings.access_enforced)


SMART_OAUTH_URIS = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"
RESTFUL_SECURITY_SERVICE = "http://terminology.hl7.org/CodeSystem/restful-security-service"


def capability_security(settings: Settings, config: AccessConfig) -> Callable[[str], dict]:
    """The CapabilityStatement's ``rest.security`` (R4 capabilitystatement-definitions.html
    #CapabilityStatement.rest.security): SMART on FHIR bearer tokens, the embedded issuer's token endpoint
    (SMART App Launch's oauth-uris extension; /.well-known/smart-configuration says the same), and whether CORS
    is on. With access control off (a bench or a closed test network) it says so instead."""
    cors = bool(_origins(settings))

    def section(base_url: str) -> dict:
        if not config.enforced:
            return {"cors": cors, "description": "Control de acceso desactivado (ECE_ACCESS_ENFORCED=false) / "
                                                 "access control is off"}
        body = {"cors": cors,
                "service": [{"coding": [{"system": RESTFUL_SECURITY_SERVICE, "code": "SMART-on-FHIR"}],
                             "text": "Token portador OAuth2 (SMART on FHIR) / OAuth2 bearer token (SMART on FHIR)"}],
                "description": "Cada petición lleva un token JWT (Authorization: Bearer) del emisor configurado; "
                               "ver /.well-known/smart-configuration / every request carries a JWT bearer token "
                               "of the configured issuer; see /.well-known/smart-configuration"}
        if config.local_issuer is not None:
            origin = base_url.removesuffix("/").removesuffix("/fhir")
            body["extension"] = [{"url": SMART_OAUTH_URIS, "extension": [
                {"url": "token", "valueUri": f"{origin}/auth/token"}]}]
        return body

    return section


def local_issuer(settings: Settings) -> LocalIssuer:
    return LocalIssuer(settings.signing_key_path(), issuer=settings.auth_issuer, audience=settings.auth_audience)


def _origins(settings: Settings) -> list[str]:
    return [o.strip() for o in settings.cors_origins.split(",") if o.strip()]


# OWASP secure headers for an API that serves no pages of its own besides the login form.
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"content-security-policy", b"default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
                                 b"frame-ancestors 'none'"),
    (b"cache-control", b"no-store"),
]
HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")


class SecurityHeaders:
    def __init__(self, app: ASGIApp, *, production: bool):
        self.app = app
        self.headers = SECURITY_HEADERS + ([HSTS] if production else [])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        docs = scope.get("path", "").startswith(("/docs", "/redoc", "/openapi.json"))

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _v in message.get("headers", [])}
                extra = [(n, v) for n, v in self.headers if n not in present
                         and not (docs and n == b"content-security-policy")]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, with_headers)


class WithholdExceptionMessages(logging.Filter):
    """No clinical data in logs: an exception's message may quote the data that caused it (a validation error
    quotes the value), so logged tracebacks keep their frames and the exception's type, not its message."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            kind, _error, trace = record.exc_info
            frames = "".join(f'  File "{f.filename}", line {f.lineno}, in {f.name}\n'
                             for f in traceback.extract_tb(trace))
            record.exc_text = (f"Traceback (most recent call last):\n{frames}"
                               f"{kind.__name__ if kind else 'Exception'}: (mensaje omitido / message withheld)")
            record.exc_info = None
        return True


def withhold_exception_messages() -> None:
    """On every handler of the root and uvicorn loggers (records propagate to handlers, not logger filters)."""
    for name in ("", "uvicorn", "uvicorn.error"):
        for handler in logging.getLogger(name).handlers:
            if not any(isinstance(f, WithholdExceptionMessages) for f in handler.filters):
                handler.addFilter(WithholdExceptionMessages())


def install_security(app: FastAPI, settings: Settings) -> None:
    withhold_exception_messages()
    origins = _origins(settings)
    if origins:
        app.add_middleware(CORSMiddleware, allow_origins=origins, allow_methods=["GET", "POST", "PUT", "PATCH",
                                                                                 "DELETE"],
                           allow_headers=["Authorization", "Content-Type", "If-Match", "If-None-Exist", "Prefer"],
                           expose_headers=["ETag", "Location", "Last-Modified"], max_age=600)
    app.add_middleware(SecurityHeaders, production=settings.production)
