"""document PDFs: each generated document's signed PDF/A, or why it has none

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # One row per document, written with it (the same transaction): the PDF's bytes, hash and signature, or the
    # reason there is no PDF. A document lost (a restore from an older backup) takes its PDF with it.
    op.create_table(
        "document_pdf",
        sa.Column("document_id", sa.String(), sa.ForeignKey("document.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("filename", sa.String(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=True),
        sa.Column("size", sa.Integer(), nullable=True),
        sa.Column("sha256", sa.String(), nullable=True),
        sa.Column("signed_by", sa.String(), nullable=True),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("unavailable", sa.String(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("document_pdf")
