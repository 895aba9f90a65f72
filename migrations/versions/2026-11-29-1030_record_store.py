"""The record store: current and history tables, and the first search-index tables.

Revision ID: 0001_record_store
Revises:
Create Date: 2026-11-29 10:30
"""

import sqlalchemy as sa
from alembic import op

revision = "0001_record_store"
down_revision = None
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def _index_table(name: str, *columns: sa.Column) -> None:
    op.create_table(
        name,
        sa.Column("resource_type", sa.Text, nullable=False),
        sa.Column("resource_id", sa.Text, nullable=False),
        sa.Column("param", sa.Text, nullable=False),
        *columns,
    )
    op.create_index(f"ix_{name}_resource_type_resource_id", name, ["resource_type", "resource_id"])


def upgrade() -> None:
    op.create_table(
        "resource",
        sa.Column("resource_type", sa.Text, nullable=False),
        sa.Column("id", sa.Text, nullable=False),
        sa.Column("version_id", sa.Integer, nullable=False),
        sa.Column("last_updated", TZ, nullable=False),
        sa.Column("deleted", sa.Boolean, nullable=False),
        sa.Column("content", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("resource_type", "id", name="pk_resource"),
    )
    op.create_index("ix_resource_resource_type_last_updated", "resource", ["resource_type", "last_updated"])

    op.create_table(
        "resource_history",
        sa.Column("seq", sa.BigInteger, sa.Identity(always=True), nullable=False),
        sa.Column("resource_type", sa.Text, nullable=False),
        sa.Column("id", sa.Text, nullable=False),
        sa.Column("version_id", sa.Integer, nullable=False),
        sa.Column("last_updated", TZ, nullable=False),
        sa.Column("method", sa.Text, nullable=False),
        sa.Column("deleted", sa.Boolean, nullable=False),
        sa.Column("content", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("seq", name="pk_resource_history"),
        sa.UniqueConstraint("resource_type", "id", "version_id",
                            name="uq_resource_history_resource_type_id_version_id"),
    )
    op.create_index("ix_resource_history_last_updated", "resource_history", ["last_updated"])
    op.create_index("ix_resource_history_resource_type_seq", "resource_history", ["resource_type", "seq"])

    _index_table("search_token", sa.Column("system", sa.Text), sa.Column("code", sa.Text))
    op.create_index("ix_search_token_resource_type_param_code_system", "search_token",
                    ["resource_type", "param", "code", "system"])

    _index_table("search_string", sa.Column("value", sa.Text, nullable=False),
                 sa.Column("exact", sa.Text, nullable=False))
    # text_pattern_ops lets ``LIKE 'perez%'`` use the index whatever the database collation.
    op.create_index("ix_search_string_resource_type_param_value", "search_string",
                    ["resource_type", "param", "value"], postgresql_ops={"value": "text_pattern_ops"})

    _index_table("search_date", sa.Column("low", TZ, nullable=False), sa.Column("high", TZ, nullable=False))
    op.create_index("ix_search_date_resource_type_param_low_high", "search_date",
                    ["resource_type", "param", "low", "high"])

    _index_table("search_reference", sa.Column("target_type", sa.Text), sa.Column("target_id", sa.Text),
                 sa.Column("url", sa.Text))
    op.create_index("ix_search_reference_resource_type_param_target_id_target_type", "search_reference",
                    ["resource_type", "param", "target_id", "target_type"])
    op.create_index("ix_search_reference_target_type_target_id", "search_reference",
                    ["target_type", "target_id"])


def downgrade() -> None:
    for name in ("search_reference", "search_date", "search_string", "search_token",
                 "resource_history", "resource"):
        op.drop_table(name)
