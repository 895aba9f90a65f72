"""Quantities in UCUM base units (ece.ucum), so a search in one unit finds values stored in any commensurable
unit (R4 search.html#quantity): ``canonical_value``/``canonical_code`` on search_quantity and their composite
counterparts, with an index for the search's (param, unit, value) condition.

The columns start NULL: rows written before this revision are still found by the unit as written (the search
falls back to it for a row without a canonical unit) and get their canonical values from ``ece reindex`` (or
``--type Observation`` and the other types with quantities), which runs while the server serves.

Revision ID: 0010_quantity_canonical
Revises: 0009_login_attempts
Create Date: 2026-11-29 18:30
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_quantity_canonical"
down_revision = "0009_login_attempts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("search_quantity", sa.Column("canonical_value", sa.Numeric, nullable=True))
    op.add_column("search_quantity", sa.Column("canonical_code", sa.Text, nullable=True))
    op.create_index("ix_search_quantity_canonical", "search_quantity",
                    ["resource_type", "param", "canonical_code", "canonical_value"])
    op.add_column("search_composite", sa.Column("q2_canonical_value", sa.Numeric, nullable=True))
    op.add_column("search_composite", sa.Column("q2_canonical_code", sa.Text, nullable=True))


def downgrade() -> None:
    op.drop_column("search_composite", "q2_canonical_code")
    op.drop_column("search_composite", "q2_canonical_value")
    op.drop_index("ix_search_quantity_canonical", "search_quantity")
    op.drop_column("search_quantity", "canonical_code")
    op.drop_column("search_quantity", "canonical_value")
