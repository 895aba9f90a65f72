"""Migrations run whatever statement time limit the database or its role carries (migrations/env.py): building
an index on a loaded table takes minutes, and a limit meant for the application must not cancel the upgrade."""

from __future__ import annotations

from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app import migrate
from tests.conftest import RUN, _drop_database, _fresh_database


def test_an_upgrade_completes_under_a_one_millisecond_database_statement_timeout(server_admin_url):
    name = f"ece_migrate_limit_{RUN}"
    url = _fresh_database(server_admin_url, name)
    admin = create_engine(server_admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" SET statement_timeout = 1'))

        migrate.upgrade(url)

        # Checked on sessions without the limit: with 1 ms, even a catalog lookup may be cancelled.
        unlimited = create_engine(make_url(url), connect_args={"options": "-c statement_timeout=0"})
        with unlimited.connect() as conn:
            version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
        unlimited.dispose()
        with admin.connect() as conn:
            settings = conn.execute(text("SELECT s.setconfig FROM pg_db_role_setting s JOIN pg_database d ON "
                                         "d.oid = s.setdatabase WHERE d.datname = :n"), {"n": name}).scalar_one()
        assert version == ScriptDirectory.from_config(migrate.alembic_config(url)).get_current_head()
        assert settings == ["statement_timeout=1"]  # the database keeps its own limit
    finally:
        admin.dispose()
        _drop_database(server_admin_url, name)
