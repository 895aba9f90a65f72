"""Refusals of the referral engine, rendered as OperationOutcome by the one FHIR error handler."""

from __future__ import annotations

from ece.errors import FhirError, Issue


class NotAllowed(FhirError):
    """The caller plays no party allowed to fire this event on this referral (403)."""

    default_code = "forbidden"

    def __init__(self, issues: list[Issue]):
        super().__init__(issues, 403)
