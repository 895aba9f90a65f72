"""Alembic environment: migrates the database given by ``sqlalchemy.url`` (set by ``app.migrate``)."""

from alembic import context
from sqlalchemy import create_engine, pool

from ece.schema import metadata

config = context.config

# kombu's SQLAlchemy transport (the embedded broker) keeps its own tables in this database.
BROKER_TABLES = {"kombu_queue", "kombu_message"}


def include_name(name, type_, parent_names) -> bool:
    return not (type_ == "table" and name in BROKER_TABLES)


def run_migrations_online() -> None:
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        from app.db import resolve_database_url
        from app.settings import get_settings

        url = resolve_database_url(get_settings())
    connectable = config.attributes.get("connection")
    if connectable is not None:
        context.configure(connection=connectable, target_metadata=metadata, include_name=include_name)
        with context.begin_transaction():
            context.run_migrations()
        return
    # No statement time limit for the migration's own session, whatever the database or role sets: building an
    # index on a loaded table takes minutes (the date index of 64,000 patients, 70 s), and a limit meant for the
    # application would cancel the upgrade halfway (it would roll back, but never complete).
    engine = create_engine(url, poolclass=pool.NullPool, connect_args={"options": "-c statement_timeout=0"})
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=metadata, include_name=include_name)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations_online()
