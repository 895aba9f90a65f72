"""The notification outbox (ece.notifications.outbox): one row per notice and channel, written in the
transaction of the event, delivered by the Celery workers.

Revision ID: 0005_notification_outbox
Revises: 0004_string_whole_values
Create Date: 2026-11-29 13:15
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0005_notification_outbox"
down_revision = "0004_string_whole_values"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notification_outbox",
        sa.Column("id", sa.Text, nullable=False),
        sa.Column("event", sa.Text, nullable=False),
        sa.Column("recipient", sa.Text, nullable=False),
        sa.Column("about", sa.Text, nullable=False),
        sa.Column("channel", sa.Text, nullable=False),
        sa.Column("address", sa.Text, nullable=False),
        sa.Column("language", sa.Text, nullable=False),
        sa.Column("title_es", sa.Text, nullable=False),
        sa.Column("text_es", sa.Text, nullable=False),
        sa.Column("title_en", sa.Text, nullable=False),
        sa.Column("text_en", sa.Text, nullable=False),
        sa.Column("tags", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
        sa.Column("reference_number", sa.Text, nullable=True),
        sa.Column("subscription_id", sa.Text, nullable=True),
        sa.Column("resource_version", sa.Integer, nullable=True),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_notification_outbox"),
    )
    op.create_index("ix_notification_outbox_open", "notification_outbox", ["status", "next_attempt_at"],
                    postgresql_where=sa.text("status <> 'delivered'"))


def downgrade() -> None:
    op.drop_table("notification_outbox")
