"""evidence files, their bytes in PostgreSQL, and each item's chain of custody

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "evidence_file",
        sa.Column("id", sa.String(), primary_key=True),
        sa.Column("case_id", sa.String(), sa.ForeignKey("incident.id"), nullable=False),
        sa.Column("storage", sa.String(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(), nullable=False),
        sa.Column("content_type", sa.String(), nullable=False),
        sa.Column("filename", sa.String(), nullable=False),
        sa.Column("stored_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_evidence_file_case_id", "evidence_file", ["case_id"])
    op.create_table(
        "evidence_chunk",
        sa.Column("key", sa.String(), primary_key=True),
        sa.Column("n", sa.Integer(), primary_key=True),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("written_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    # Chunks are written once, already compressed media for the most part: no TOAST compression to try.
    op.execute("ALTER TABLE evidence_chunk ALTER COLUMN data SET STORAGE EXTERNAL")
    op.create_table(
        "evidence_custody",
        sa.Column("evidence_id", sa.String(), primary_key=True),
        sa.Column("seq", sa.Integer(), primary_key=True),
        sa.Column("case_id", sa.String(), sa.ForeignKey("incident.id"), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("actor_id", sa.String(), nullable=True),
        sa.Column("actor_name", sa.String(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("data", postgresql.JSONB(), nullable=False),
        sa.Column("prev_hash", sa.String(), nullable=False),
        sa.Column("hash", sa.String(), nullable=False),
    )
    op.create_index("ix_evidence_custody_case_id", "evidence_custody", ["case_id"])
    # Append-only in the database itself: a row of the chain is never changed or deleted.
    op.execute("""
        CREATE FUNCTION evidence_custody_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'evidence_custody is append-only'; END $$;
        CREATE TRIGGER evidence_custody_append_only BEFORE UPDATE OR DELETE ON evidence_custody
        FOR EACH ROW EXECUTE FUNCTION evidence_custody_append_only();
    """)


def downgrade() -> None:
    op.execute("DROP TRIGGER evidence_custody_append_only ON evidence_custody")
    op.execute("DROP FUNCTION evidence_custody_append_only()")
    op.drop_index("ix_evidence_custody_case_id", table_name="evidence_custody")
    op.drop_table("evidence_custody")
    op.drop_table("evidence_chunk")
    op.drop_index("ix_evidence_file_case_id", table_name="evidence_file")
    op.drop_table("evidence_file")
