"""Login and token attempts per client address, counted in the database (ece.access.login.count_attempt), so
every API process and a restart share one limit instead of one each.

Revision ID: 0009_login_attempts
Revises: 0008_clinician_care_check
Create Date: 2026-11-29 17:20
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_login_attempts"
down_revision = "0008_clinician_care_check"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_attempt",
        sa.Column("address", sa.Text, nullable=False),
        sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_login_attempt_address_attempted_at", "login_attempt", ["address", "attempted_at"])
    op.create_index("ix_login_attempt_attempted_at", "login_attempt", ["attempted_at"])


def downgrade() -> None:
    op.drop_table("login_attempt")
