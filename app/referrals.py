"""Wiring of the referral engine into the record store, shared by the API process and the Celery processes:
its write-path hook, its search parameters and its policy from ``ECE_REFERRAL_*`` settings."""

from __future__ import annotations

from app.settings import Settings
from ece import indexing, store
from fhir_profiles import systems
from referral import hooks, policy, search_parameters
from referral.machine import Event


def policy_from(settings: Settings) -> policy.Policy:
    return policy.Policy(
        accept_minutes={"stat": settings.referral_accept_deadline_stat_minutes,
                        "asap": settings.referral_accept_deadline_asap_minutes,
                        "urgent": settings.referral_accept_deadline_urgent_minutes,
                        "routine": settings.referral_accept_deadline_routine_minutes},
        attend_minutes={"stat": settings.referral_attend_deadline_stat_minutes,
                        "asap": settings.referral_attend_deadline_asap_minutes,
                        "urgent": settings.referral_attend_deadline_urgent_minutes,
                        "routine": settings.referral_attend_deadline_routine_minutes},
        unassigned=policy.Unassigned(settings.referral_unassigned),
        stat_offers=settings.referral_stat_offers,
        redirect_when_overdue=settings.referral_redirect_when_overdue,
    )


def install_referral_engine(settings: Settings) -> None:
    """Idempotent: the API, the worker and the tests may all call it."""
    configure_referral_engine(settings)
    store.on_write(hooks.on_flushed)


def configure_referral_engine(settings: Settings) -> None:
    """The engine's search parameters and policy without its write hook: for ``ece seed``, which opens each
    referral's Task itself (referral.intake) at the moment the synthetic referral was sent."""
    indexing.register_search_parameters(search_parameters.PARAMETERS)
    policy.configure(policy_from(settings))


def with_referral_operations(operations: dict[str, list[dict]]) -> dict[str, list[dict]]:
    """The CapabilityStatement's operations plus the referral lifecycle's, one per event, on Task."""
    lifecycle = [{"name": str(event), "definition": systems.canonical("OperationDefinition", f"Task-{event}")}
                 for event in Event]
    return {**operations, "Task": [*operations.get("Task", []), *lifecycle]}
