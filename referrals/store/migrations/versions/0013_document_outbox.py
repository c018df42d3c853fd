"""the document outbox: the documents a step's write asks for, made by the document maker off the case's path

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Written in the step's transaction with its events (issue 32: a step never waits for a document), read and
    # deleted by the maker once the document is stored. It holds only what is still to be made.
    op.create_table(
        "document_outbox",
        sa.Column("document_id", sa.String(), primary_key=True),
        sa.Column("position", sa.BigInteger(), sa.Identity(), nullable=False, unique=True),
        sa.Column("task_queue", sa.String(), nullable=False),
        sa.Column("workflow_id", sa.String(), nullable=False),
        sa.Column("case_id", sa.String(), sa.ForeignKey("incident.id", ondelete="CASCADE"), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("event_seq", sa.Integer(), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("letterhead", JSONB(), nullable=False),
        sa.Column("state", JSONB(), nullable=False),
        sa.Column("trace", JSONB(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(), nullable=True),
    )
    op.create_index("ix_document_outbox_task_queue_position", "document_outbox", ["task_queue", "position"])


def downgrade() -> None:
    op.drop_table("document_outbox")
