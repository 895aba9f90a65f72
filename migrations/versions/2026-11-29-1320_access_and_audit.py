"""Access control and audit: users of the embedded issuer, break-the-glass grants, and the append-only,
hash-chained audit trail (AuditEvent JSON per row).

Revision ID: 0006_access_and_audit
Revises: 0005_notification_outbox
Create Date: 2026-11-29 13:20
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006_access_and_audit"
down_revision = "0005_notification_outbox"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "app_user",
        sa.Column("username", sa.Text, primary_key=True),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("role", sa.Text, nullable=False),
        sa.Column("display_name", sa.Text, nullable=True),
        sa.Column("facility", sa.Text, nullable=True),
        sa.Column("practitioner_role", sa.Text, nullable=True),
        sa.Column("patient", sa.Text, nullable=True),
        sa.Column("region", sa.Text, nullable=True),
        sa.Column("scopes", sa.Text, nullable=False, server_default=""),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.create_table(
        "access_grant",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("facility", sa.Text, nullable=True),
        sa.Column("patient_id", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_access_grant_subject_expires", "access_grant", ["subject", "expires_at"])
    op.create_table(
        "audit_event",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("recorded", sa.DateTime(timezone=True), nullable=False),
        sa.Column("patients", postgresql.ARRAY(sa.Text), nullable=False),
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("hash", sa.Text, nullable=False),
    )
    op.create_index("ix_audit_event_patients", "audit_event", ["patients"], postgresql_using="gin")
    op.create_table(
        "audit_chain_head",
        sa.Column("id", sa.SmallInteger, primary_key=True),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("hash", sa.Text, nullable=False),
        sa.CheckConstraint("id = 1", name="ck_audit_chain_head_single_row"),
    )
    op.execute("INSERT INTO audit_chain_head (id, seq, hash) VALUES (1, 0, '')")
    # Append-only: the application never updates or deletes an audit row; the hash chain detects whoever
    # gets around this trigger (a superuser can), and `ece audit verify` names the first broken link.
    op.execute("""
        CREATE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'audit_event es de solo anexado / is append-only';
        END $$""")
    op.execute("CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event "
               "FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()")
    # One round trip per audited request: lock the head, link each event (SHA-256 over the previous hash, the
    # sequence number, the patients and the AuditEvent JSON; ece.audit.chain.link computes the same), insert,
    # move the head. ``p_async``: a transaction that has written nothing else may commit without the WAL flush.
    op.execute(r"""
        CREATE FUNCTION audit_append(p_recorded timestamptz[], p_patients text[], p_contents text[],
                                     p_async boolean) RETURNS void LANGUAGE plpgsql AS $$
        DECLARE
            head_seq bigint;
            head_hash text;
        BEGIN
            IF p_async AND pg_current_xact_id_if_assigned() IS NULL THEN
                PERFORM set_config('synchronous_commit', 'off', true);
            END IF;
            SELECT seq, hash INTO head_seq, head_hash FROM audit_chain_head WHERE id = 1 FOR UPDATE;
            FOR i IN 1 .. coalesce(array_length(p_contents, 1), 0) LOOP
                head_seq := head_seq + 1;
                head_hash := encode(sha256(convert_to(head_hash || E'\n' || head_seq || E'\n' || p_patients[i]
                                                      || E'\n' || p_contents[i], 'UTF8')), 'hex');
                INSERT INTO audit_event (seq, recorded, patients, content, hash)
                VALUES (head_seq, p_recorded[i], string_to_array(p_patients[i], ','), p_contents[i], head_hash);
            END LOOP;
            UPDATE audit_chain_head SET seq = head_seq, hash = head_hash WHERE id = 1;
        END $$""")


def downgrade() -> None:
    op.execute("DROP FUNCTION audit_append(timestamptz[], text[], text[], boolean)")
    op.execute("DROP TRIGGER audit_event_append_only ON audit_event")
    op.execute("DROP FUNCTION audit_event_append_only()")
    op.drop_table("audit_chain_head")
    op.drop_index("ix_audit_event_patients", table_name="audit_event")
    op.drop_table("audit_event")
    op.drop_index("ix_access_grant_subject_expires", table_name="access_grant")
    op.drop_table("access_grant")
    op.drop_table("app_user")
