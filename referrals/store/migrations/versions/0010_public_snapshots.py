"""public snapshots: the aggregate figures published on /public, kept one row per publication

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # One row per publication, never overwritten: the figures as published (already suppressed), their period,
    # the SHA-256 of their canonical JSON, and the publishing workflow's id that makes a retried write a no-op.
    op.create_table(
        "public_snapshot",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("published_on", sa.Date(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("period_end", sa.String(), nullable=False),
        sa.Column("figures", postgresql.JSONB(), nullable=False),
        sa.Column("sha256", sa.String(), nullable=False),
        sa.UniqueConstraint("key"),
    )
    op.create_index("ix_public_snapshot_published_at", "public_snapshot", ["published_at"])


def downgrade() -> None:
    op.drop_index("ix_public_snapshot_published_at", "public_snapshot")
    op.drop_table("public_snapshot")
