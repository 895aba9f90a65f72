"""Routes of access control: login and client-credentials tokens of the embedded issuer, SMART discovery
(SMART App Launch 2.0 §"Conformance": /.well-known/smart-configuration), the issuer's JWKS, and the
``$break-glass`` and ``$access-log`` operations on a Patient. Adapters only."""

from __future__ import annotations

import base64
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse

from ece import audit, store
from ece.access.breakglass import BREAK_GLASS_DEFAULT_MINUTES, access_log_allowed, break_glass
from ece.access.errors import Unauthenticated
from ece.access.gate import CurrentGuard
from ece.access.login import client_credentials, count_attempt, login
from ece.api import http
from ece.errors import BadRequest, Issue, NotFound, PayloadTooLarge
from ece.tx import unit_of_work
from ece.validation import check_id

# A login form or token request is a few hundred bytes; anything much larger is not one.
MAX_CREDENTIALS_BYTES = 4096

router = APIRouter(tags=["Acceso / access"])

LOGIN_PAGE = """<!doctype html>
<html lang="es"><head><meta charset="utf-8"><title>ECE Honduras — Iniciar sesión</title>
<style>body{{font-family:sans-serif;max-width:26rem;margin:4rem auto}}label,input,button{{display:block;
width:100%;margin:.4rem 0}}input{{padding:.4rem}}small{{color:#555}}</style></head>
<body><h1>Iniciar sesión</h1><p><small>Sign in</small></p>{message}
<form method="post" action="/auth/login">
<label for="u">Usuario <small>/ username</small></label><input id="u" name="username" autocomplete="username" required>
<label for="p">Contraseña <small>/ password</small></label>
<input id="p" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Entrar <small>/ sign in</small></button></form></body></html>"""


def _client(request: Request) -> str | None:
    return request.client.host if request.client else None


async def _count_attempt(request: Request, tx) -> None:
    await count_attempt(tx, address=_client(request) or "?", per_minute=request.app.state.login_attempts_per_minute,
                        now=store.now())


async def _form(request: Request) -> dict[str, str]:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_CREDENTIALS_BYTES:
        raise PayloadTooLarge([Issue("too-costly", "Solicitud demasiado grande / request too large")])
    raw = await request.body()
    if len(raw) > MAX_CREDENTIALS_BYTES:
        raise PayloadTooLarge([Issue("too-costly", "Solicitud demasiado grande / request too large")])
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/x-www-form-urlencoded":
        raise BadRequest([Issue("not-supported", "Se espera application/x-www-form-urlencoded / expected a form")])
    return dict(parse_qsl(raw.decode("utf-8", "replace")))


def _issuer(request: Request):
    issuer = request.app.state.access.local_issuer
    if issuer is None:
        raise NotFound([Issue("not-supported", "Los tokens los emite el proveedor de identidad configurado / "
                                               "tokens are issued by the configured identity provider")])
    return issuer


@router.get("/auth/login", response_class=HTMLResponse, summary="Login form / formulario de inicio de sesión")
async def login_page() -> HTMLResponse:
    return HTMLResponse(LOGIN_PAGE.format(message=""))


@router.post("/auth/login", summary="Login: form POST answering a bearer token")
async def login_submit(request: Request) -> Response:
    form = await _form(request)
    async with unit_of_work(request.app.state.engine) as tx:
        await _count_attempt(request, tx)
        issued = await login(tx, issuer=_issuer(request), username=form.get("username", ""),
                             password=form.get("password", ""), address=_client(request),
                             minutes=request.app.state.login_token_minutes)
    if issued is None:
        raise Unauthenticated("usuario o contraseña incorrectos / wrong username or password")
    return JSONResponse(issued.to_json(), headers={"Cache-Control": "no-store"})


@router.post("/auth/token", summary="OAuth 2.0 client-credentials token (SMART Backend Services)")
async def token(request: Request) -> Response:
    form = await _form(request)
    if form.get("grant_type") != "client_credentials":
        return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
    client_id, client_secret = form.get("client_id", ""), form.get("client_secret", "")
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "basic":
        try:
            client_id, _, client_secret = base64.b64decode(encoded).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return JSONResponse({"error": "invalid_client"}, status_code=401)
    async with unit_of_work(request.app.state.engine) as tx:
        await _count_attempt(request, tx)
        issued = await client_credentials(tx, issuer=_issuer(request), client_id=client_id,
                                          client_secret=client_secret, scope=form.get("scope"),
                                          address=_client(request), minutes=request.app.state.login_token_minutes)
    if issued is None:
        return JSONResponse({"error": "invalid_client"}, status_code=401)
    return JSONResponse(issued.to_json(), headers={"Cache-Control": "no-store"})


@router.get("/.well-known/smart-configuration", summary="SMART on FHIR discovery")
async def smart_configuration(request: Request) -> Response:
    config = request.app.state.access
    base = str(request.base_url).rstrip("/")
    body: dict = {
        "issuer": config.verifier.settings.issuer,
        "jwks_uri": config.verifier.settings.jwks_url or f"{base}/.well-known/jwks.json",
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "scopes_supported": ["system/*.read", "system/*.rs", "system/*.*", "user/*.read", "user/*.rs",
                             "patient/*.read", "patient/*.rs"],
        "capabilities": ["client-confidential-symmetric", "permission-v1", "permission-v2", "permission-patient",
                         "permission-user"],
    }
    if config.local_issuer is not None:
        body["token_endpoint"] = f"{base}/auth/token"
    return JSONResponse(body)


@router.get("/.well-known/jwks.json", summary="Public keys of the embedded issuer")
async def jwks(request: Request) -> Response:
    return JSONResponse(_issuer(request).jwks())


@router.post("/fhir/Patient/{patient_id}/$break-glass", summary="Emergency access to a patient's record")
async def break_glass_route(request: Request, patient_id: str, guard: CurrentGuard) -> Response:
    check_id(patient_id)
    reason, minutes = _break_glass_parameters(await http.read_json_body(request))
    async with unit_of_work(request.app.state.engine) as tx:
        result = await break_glass(tx, guard=guard, patient_id=patient_id, reason=reason, minutes=minutes)
    return http.json_response(request, result, status=201)


def _break_glass_parameters(body) -> tuple[str, int]:
    """``Parameters`` with ``reason`` (valueString, required) and ``minutes`` (valueInteger, optional)."""
    if not isinstance(body, dict) or body.get("resourceType") != "Parameters":
        raise BadRequest([Issue("invalid", "Se espera un Parameters con 'reason' / expected Parameters with "
                                           "'reason'")])
    values = {p.get("name"): p for p in body.get("parameter", []) if isinstance(p, dict)}
    reason = values.get("reason", {}).get("valueString")
    minutes = values.get("minutes", {}).get("valueInteger", BREAK_GLASS_DEFAULT_MINUTES)
    if not isinstance(reason, str) or not isinstance(minutes, int):
        raise BadRequest([Issue("required", "'reason' (valueString) es obligatorio / is required",
                                ("Parameters.parameter",))])
    return reason, minutes


@router.get("/fhir/Patient/{patient_id}/$access-log", summary="Who accessed this patient's record, and when")
async def access_log_route(request: Request, patient_id: str, guard: CurrentGuard) -> Response:
    check_id(patient_id)
    if not await access_log_allowed(guard, patient_id):
        raise guard.refuse(None, "solo el propio paciente ve su registro de accesos / only the patient sees "
                                 "their access log", interaction="r", target=f"Patient/{patient_id}")
    async with unit_of_work(request.app.state.engine) as tx:
        body = await audit.access_log(tx.conn, patient_id=patient_id)
    return http.json_response(request, body)

