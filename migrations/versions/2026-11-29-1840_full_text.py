"""Full-text search: one ``search_text`` row per resource with the words of its narrative (``_text``) and of
all its text (``_content``), R4 search.html#text and #content; written by ece.store from ece.fulltext.

Resources stored before this migration have no row until ``ece reindex`` rebuilds their index rows; until then
``_text`` and ``_content`` do not find them.

Revision ID: 0011_full_text
Revises: 0010_quantity_canonical
Create Date: 2026-11-29 18:40
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import TSVECTOR

revision = "0011_full_text"
down_revision = "0010_quantity_canonical"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "search_text",
        sa.Column("resource_type", sa.Text, nullable=False),
        sa.Column("resource_id", sa.Text, nullable=False),
        sa.Column("narrative", TSVECTOR, nullable=False),
        sa.Column("content", TSVECTOR, nullable=False),
    )
    # No unique key: the write statement deletes a resource's old row and inserts its new one in the same
    # statement, in no guaranteed order (as for the other search_* tables).
    op.create_index("ix_search_text_resource_type_resource_id", "search_text", ["resource_type", "resource_id"])
    op.create_index("ix_search_text_narrative", "search_text", ["narrative"], postgresql_using="gin")
    op.create_index("ix_search_text_content", "search_text", ["content"], postgresql_using="gin")


def downgrade() -> None:
    op.drop_table("search_text")
