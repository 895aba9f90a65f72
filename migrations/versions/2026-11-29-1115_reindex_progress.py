"""Where ``ece reindex`` stopped, per resource type, so an interrupted rebuild resumes.

Revision ID: 0003_reindex_progress
Revises: 0002_search_all_types
Create Date: 2026-11-29 11:15
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_reindex_progress"
down_revision = "0002_search_all_types"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "search_reindex_progress",
        sa.Column("resource_type", sa.Text, nullable=False),
        sa.Column("last_id", sa.Text, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("resource_type", name="pk_search_reindex_progress"),
    )


def downgrade() -> None:
    op.drop_table("search_reindex_progress")
