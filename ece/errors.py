"""Typed domain errors of the record store.

Each carries the HTTP status and the OperationOutcome issue it renders to
(R4 §3.1.0.5 "OperationOutcome" and http.html#Status). One handler in ``app.main`` turns them
into responses; nothing below the routes raises HTTP exceptions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Issue:
    """One OperationOutcome.issue: ``code`` from the issue-type value set (required binding)."""

    code: str
    diagnostics: str
    expression: Sequence[str] = ()
    severity: str = "error"

    def to_json(self) -> dict:
        issue: dict = {"severity": self.severity, "code": self.code, "diagnostics": self.diagnostics}
        if self.expression:
            issue["expression"] = list(self.expression)
        return issue


class FhirError(Exception):
    """A refusal that renders as an OperationOutcome with ``status``."""

    default_code = "processing"

    def __init__(self, issues: list[Issue], status: int = 400):
        super().__init__(issues)
        self.issues = issues
        self.status = status

    def __str__(self) -> str:
        return "; ".join(i.diagnostics for i in self.issues)

    @classmethod
    def single(cls, diagnostics: str, *, code: str | None = None, expression: Sequence[str] = ()):
        return cls([Issue(code or cls.default_code, diagnostics, tuple(expression))])

    def outcome(self) -> dict:
        return {"resourceType": "OperationOutcome", "issue": [i.to_json() for i in self.issues]}


class BadRequest(FhirError):
    default_code = "invalid"

    def __init__(self, issues: list[Issue]):
        super().__init__(issues, 400)


class InvalidResource(BadRequest):
    """The content could not be parsed or failed the base specification's rules (R4 http.html#2.21.0.13)."""


class NotFound(FhirError):
    default_code = "not-found"

    def __init__(self, issues: list[Issue]):
        super().__init__(issues, 404)


class Gone(FhirError):
    """Read of a deleted resource (R4 http.html#read: 410 Gone)."""

    default_code = "deleted"

    def __init__(self, issues: list[Issue], *, version_id: int | None = None):
        super().__init__(issues, 410)
        self.version_id = version_id


class MethodNotAllowed(FhirError):
    default_code = "not-supported"

    def __init__(self, issues: list[Issue]):
        super().__init__(issues, 405)


class Conflict(FhirError):
    default_code = "conflict"

    def __init__(self, issues: list[Issue]):
        super().__init__(issues, 409)


class PreconditionFailed(FhirError):
    """If-Match mismatch and conditional interactions with several matches (R4 http.html#concurrency)."""

    default_code = "conflict"

    def __init__(self, issues: list[Issue]):
        super().__init__(issues, 412)


class PayloadTooLarge(FhirError):
    default_code = "too-costly"

    def __init__(self, issues: list[Issue]):
        super().__init__(issues, 413)


class TooCostly(FhirError):
    """A statement ran past the server's time limit and PostgreSQL cancelled it (``statement_timeout``). Nothing
    was written. 400: the request, not the server, is what to change: a narrower search, a smaller Bundle."""

    default_code = "too-costly"

    def __init__(self, issues: list[Issue]):
        super().__init__(issues, 400)


class UnsupportedMediaType(FhirError):
    default_code = "not-supported"

    def __init__(self, issues: list[Issue]):
        super().__init__(issues, 415)


class NotAcceptable(FhirError):
    default_code = "not-supported"

    def __init__(self, issues: list[Issue]):
        super().__init__(issues, 406)


class UnprocessableEntity(FhirError):
    """Business-rule or profile refusals (R4 http.html#2.21.0.13: 422)."""

    default_code = "processing"

    def __init__(self, issues: list[Issue]):
        super().__init__(issues, 422)


class DatabaseUnavailable(FhirError):
    """The database connection was lost or refused (a restart, a failover, a network cut): nothing of the request
    was committed, and the same request may be sent again shortly. 503 with Retry-After (R4 http.html: transient
    conditions), not a 500 that an integrator would take for a defect."""

    default_code = "transient"
    RETRY_AFTER_S = 5

    def __init__(self, issues: list[Issue]):
        super().__init__(issues, 503)
        self.headers = {"Retry-After": str(self.RETRY_AFTER_S)}


class ValidatorUnavailable(FhirError):
    """A validator in the write path could not run: the write is refused, not let through (fail closed)."""

    default_code = "exception"

    def __init__(self, issues: list[Issue]):
        super().__init__(issues, 503)
