"""Mark the search_string rows that hold a whole value (names also get a row per word start), so _sort
orders by the whole value.

Revision ID: 0004_string_whole_values
Revises: 0003_reindex_progress
Create Date: 2026-11-29 11:30
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_string_whole_values"
down_revision = "0003_reindex_progress"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("search_string", sa.Column("whole", sa.Boolean, nullable=False, server_default=sa.true()))


def downgrade() -> None:
    op.drop_column("search_string", "whole")
