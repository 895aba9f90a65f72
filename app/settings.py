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


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
