"""Search indexes for every R4 parameter type: number, quantity, uri and composite tables; token text
(for :text) and reference identifiers (for :identifier).

Existing rows are not re-extracted here: run ``ece reindex`` after upgrading a database with data.

Revision ID: 0002_search_all_types
Revises: 0001_record_store
Create Date: 2026-11-29 10:45
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_search_all_types"
down_revision = "0001_record_store"
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
    op.add_column("search_token", sa.Column("text", sa.Text))
    op.add_column("search_reference", sa.Column("id_system", sa.Text))
    op.add_column("search_reference", sa.Column("id_value", sa.Text))

    _index_table("search_number", sa.Column("value", sa.Numeric, nullable=False))
    op.create_index("ix_search_number_resource_type_param_value", "search_number", ["resource_type", "param", "value"])

    _index_table("search_quantity", sa.Column("value", sa.Numeric, nullable=False), sa.Column("system", sa.Text),
                 sa.Column("code", sa.Text), sa.Column("unit", sa.Text))
    op.create_index("ix_search_quantity_resource_type_param_code_value", "search_quantity",
                    ["resource_type", "param", "code", "value"])

    _index_table("search_uri", sa.Column("value", sa.Text, nullable=False))
    op.create_index("ix_search_uri_resource_type_param_value", "search_uri", ["resource_type", "param", "value"],
                    postgresql_ops={"value": "text_pattern_ops"})

    _index_table("search_composite",
                 sa.Column("c1_system", sa.Text), sa.Column("c1_code", sa.Text),
                 sa.Column("t2_system", sa.Text), sa.Column("t2_code", sa.Text),
                 sa.Column("q2_value", sa.Numeric), sa.Column("q2_system", sa.Text), sa.Column("q2_code", sa.Text),
                 sa.Column("d2_low", TZ), sa.Column("d2_high", TZ), sa.Column("s2_value", sa.Text))
    op.create_index("ix_search_composite_resource_type_param_c1_code", "search_composite",
                    ["resource_type", "param", "c1_code"])


def downgrade() -> None:
    for name in ("search_composite", "search_uri", "search_quantity", "search_number"):
        op.drop_table(name)
    op.drop_column("search_reference", "id_value")
    op.drop_column("search_reference", "id_system")
    op.drop_column("search_token", "text")
