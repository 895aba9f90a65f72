"""Migrations run whatever statement time limit the database or its role carries (migrations/env.py): building
an index on a loaded table takes minutes, and a limit meant for the application must not cancel the upgrade."""

from __future__ import annotations

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app import migrate
from tests.conftest import RUN, _drop_database, _fresh_database


def test_an_upgrade_completes_under_a_one_millisecond_database_statement_timeout(server_admin_url):
    name = f"ece_migrate_limit_{RUN}"
    url = _fresh_database(server_admin_url, name)
    try:
        admin = create_engine(server_admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" SET statement_timeout = 1'))
        admin.dispose()

        migrate.upgrade(url)

        assert migrate.pending_revision(url) is None
        engine = create_engine(make_url(url))
        with engine.connect() as conn:
            assert conn.execute(text("SHOW statement_timeout")).scalar_one() == "1ms"  # the database keeps its own
        engine.dispose()
    finally:
        _drop_database(server_admin_url, name)
