"""Runtime settings, read from ``ECE_*`` environment variables (and an optional ``.env``).

Every variable is listed, with its default, in ``.env.example``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[1]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ECE_", env_file=".env", extra="ignore")

    # PostgreSQL. Empty means: start the embedded server kept under ``data_dir``.
    database_url: str | None = None
    # Tests only: the PostgreSQL server the suite creates its databases on (embedded when empty).
    test_database_url: str | None = None
    # Celery broker. Empty means: kombu's SQLAlchemy transport on the same PostgreSQL.
    broker_url: str | None = None
    # The Celery queue (and exchange) of this deployment: deployments (or test runs) sharing one broker each use
    # their own.
    task_queue: str = "ece"
    data_dir: Path = PROJECT_ROOT / "var"

    host: str = "127.0.0.1"
    port: int = 8000
    # Uvicorn worker processes for ``ece serve``.
    workers: int = 1
    db_pool_size: int = 10
    # Public base of the FHIR endpoint, used in Location headers and Bundle links when the
    # server sits behind a proxy. Empty means: derived from each request.
    public_base_url: str | None = None

    # Bad-input limits: bodies larger than this answer 413; JSON nested deeper answers 400.
    max_body_bytes: int = Field(default=64 * 1024 * 1024, gt=0)
    max_json_depth: int = Field(default=96, gt=4)
    default_page_size: int = Field(default=20, gt=0)
    max_page_size: int = Field(default=1000, gt=0)

    # Resource types that must meet their national profile even when they declare none (comma-separated).
    # Unset: every type with a national profile; empty: none (declared national profiles are still checked).
    enforced_profile_types: str | None = None

    # Notifications (ece.notifications). Email over SMTP: ``smtp_tls`` is "none", "starttls" or "ssl"; an
    # empty host means email is not sent (the in-app inbox still is).
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_tls: str = Field(default="none", pattern="^(none|starttls|ssl)$")
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_from: str = "notificaciones@salud.gob.hn"
    # SMS through an HTTP gateway (POST JSON {"to", "message"}); empty URL: no SMS. The template takes
    # {titulo} (the event title), {referencia} (the referral number) and {fecha} (the event's local date).
    sms_gateway_url: str | None = None
    sms_gateway_token: str | None = None
    sms_template: str = "Salud Honduras: {titulo}. Referencia {referencia}, {fecha}."
    # First retry delay of a failed delivery; each further one doubles (MAX_DELIVERY_ATTEMPTS in
    # ece/notifications/retry.py gives the total).
    notify_retry_base_seconds: float = Field(default=10.0, gt=0)
    # How often `ece beat` re-queues outbox rows nobody took, and how old a row must be to be taken for lost.
    notify_sweep_seconds: float = Field(default=15.0, gt=0)
    notify_sweep_grace_seconds: float = Field(default=30.0, ge=0)
    # Timeout of one SMTP, SMS or rest-hook delivery attempt.
    notify_timeout_seconds: float = Field(default=10.0, gt=0)
    # /health answers 503 when an undelivered outbox row is older than this.
    health_max_outbox_age_seconds: float = Field(default=300.0, gt=0)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
