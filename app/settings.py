"""Runtime settings, read from ``ECE_*`` environment variables (and an optional ``.env``).

Every variable is listed, with its default, in ``.env.example``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

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
    # The longest a statement of an API request may run before PostgreSQL cancels it (400 too-costly); 0: no limit.
    # Command-line loads and tasks have none. A transaction Bundle at the 64 MB body limit writes in about 25 s.
    statement_timeout_seconds: float = Field(default=60.0, ge=0)
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

    # Production mode: refuses to start on default secrets or with access control off (app.security).
    production: bool = False
    # Bearer tokens (ece.access.tokens). The issuer and audience every token must name; a JWKS URL for an
    # external identity provider (e.g. Keycloak's .../protocol/openid-connect/certs), or empty for the
    # embedded issuer, whose EC P-256 key is read from auth_signing_key_file (created under data_dir if unset).
    auth_issuer: str = "urn:ece-hn:emisor-local"
    auth_audience: str = "urn:ece-hn:fhir"
    auth_jwks_url: str | None = None
    auth_signing_key_file: Path | None = None
    # Benchmarks only: no token checks, no authorisation, no audit. Refused in production mode.
    access_enforced: bool = True
    # Login endpoint: attempts per client address per minute; token lifetime of a login, in minutes.
    login_attempts_per_minute: int = Field(default=10, gt=0)
    login_token_minutes: int = Field(default=60, gt=0, le=24 * 60)
    # Audits of reads commit durably too (waiting for the WAL flush); off: a PostgreSQL crash may lose the read
    # audits of its last fraction of a second. Writes and their audits are always durable.
    audit_durable_reads: bool = False
    # Browser origins allowed by CORS (comma-separated; empty: none).
    cors_origins: str = ""

    def signing_key_path(self) -> Path:
        return self.auth_signing_key_file or self.data_dir / "keys" / "emisor-es256.pem"
    # Referral deadlines per priority (R4 request-priority): minutes to accept, and to attend once accepted.
    referral_accept_deadline_stat_minutes: int = Field(default=30, gt=0)
    referral_accept_deadline_asap_minutes: int = Field(default=2 * 60, gt=0)
    referral_accept_deadline_urgent_minutes: int = Field(default=24 * 60, gt=0)
    referral_accept_deadline_routine_minutes: int = Field(default=3 * 24 * 60, gt=0)
    referral_attend_deadline_stat_minutes: int = Field(default=2 * 60, gt=0)
    referral_attend_deadline_asap_minutes: int = Field(default=12 * 60, gt=0)
    referral_attend_deadline_urgent_minutes: int = Field(default=3 * 24 * 60, gt=0)
    referral_attend_deadline_routine_minutes: int = Field(default=30 * 24 * 60, gt=0)
    # A referral sent without a destination: "auto-route" (best candidate) or "regional-worklist" (coordinator).
    referral_unassigned: Literal["auto-route", "regional-worklist"] = "regional-worklist"
    # An emergency (stat) without a destination is offered to this many candidates at once (whatever the above).
    referral_stat_offers: int = Field(default=3, gt=0)
    # The deadline sweep redirects a referral not accepted in time to the next candidate.
    referral_redirect_when_overdue: bool = False
    # How often the beat runs the deadline sweep.
    referral_sweep_seconds: int = Field(default=60, gt=0)
    # Notifications (ece.notifications). Email over SMTP: ``smtp_tls`` is "none", "starttls" or "ssl"; an
    # empty host means email is not sent (the in-app inbox still is).
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_tls: str = Field(default="none", pattern="^(none|starttls|ssl)$")
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_from: str = "notificaciones@salud.gob.hn"
    # CA certificates (PEM) that verify the SMTP server's certificate under starttls or ssl; empty: the system's.
    smtp_ca_file: str | None = None
    # SMS through an HTTP gateway (POST JSON {"to", "message"}); empty URL: no SMS. The template takes
    # {titulo} (the event title), {referencia} (the referral number) and {fecha} (the notice's local date: said to
    # be the notice's, so a patient never takes it for an appointment date). Nothing clinical.
    sms_gateway_url: str | None = None
    sms_gateway_token: str | None = None
    sms_template: str = ("Salud Honduras: {titulo}, referencia {referencia}. Aviso del {fecha}; los detalles, en su "
                         "establecimiento.")
    # First retry delay of a failed delivery; each further one doubles (MAX_DELIVERY_ATTEMPTS in
    # ece/notifications/delivery.py gives the total).
    notify_retry_base_seconds: float = Field(default=10.0, gt=0)
    # How often `ece beat` re-queues outbox rows nobody took, and how old a row must be to be taken for lost.
    notify_sweep_seconds: float = Field(default=15.0, gt=0)
    notify_sweep_grace_seconds: float = Field(default=30.0, ge=0)
    # Timeout of one SMTP, SMS or rest-hook delivery attempt.
    notify_timeout_seconds: float = Field(default=10.0, gt=0)
    # /health answers 503 when an undelivered outbox row is older than this.
    health_max_outbox_age_seconds: float = Field(default=300.0, gt=0)
    # `ece run` on an empty database first seeds a synthetic network with this many patients (0: none).
    demo_patients: int = Field(default=300, ge=0)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
