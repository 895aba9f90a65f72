"""The refusals of access control, rendered like every other ``FhirError`` as an OperationOutcome."""

from __future__ import annotations

from ece.errors import FhirError, Issue


class Unauthenticated(FhirError):
    """401: no token, or one that does not verify (RFC 6750 §3 names the challenge in WWW-Authenticate)."""

    default_code = "login"

    def __init__(self, reason: str, *, error: str | None = None):
        super().__init__([Issue("login", f"Autenticación requerida / authentication required: {reason}")], 401)
        self.reason = reason
        challenge = 'Bearer realm="ece"'
        if error:
            escaped = reason.replace('"', "'")
            challenge += f', error="{error}", error_description="{escaped}"'
        self.headers = {"WWW-Authenticate": challenge}


class Forbidden(FhirError):
    """403: the actor is known but its role, scopes, care relationship or the patient's consent do not allow it."""

    default_code = "forbidden"

    def __init__(self, reason: str, *, patient: str | None = None, target: str | None = None):
        super().__init__([Issue("forbidden", f"Acceso denegado / access denied: {reason}")], 403)
        self.reason = reason
        self.patient = patient
        self.target = target
