"""each public snapshot publishes the Merkle root of every hash chain's head; the heads are kept beside it

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Null for the snapshots published before it: `audit verify --published` has nothing of theirs to check.
    op.add_column("public_snapshot", sa.Column("chains_root", sa.String(), nullable=True))
    op.add_column("public_snapshot", sa.Column("chains_at", sa.DateTime(timezone=True), nullable=True))
    # The heads the roots were made of (referrals/domain/chain_roots.py), to name a chain rewritten after one: each
    # snapshot keeps those that moved since the snapshots before it. No foreign key: a snapshot withdrawn (its row
    # deleted) leaves the heads the later ones were made of.
    op.create_table(
        "published_chain_head",
        sa.Column("snapshot_id", sa.BigInteger(), primary_key=True),
        sa.Column("chain", sa.String(), primary_key=True),
        sa.Column("chain_id", sa.String(), primary_key=True),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(), nullable=False),
    )
    # Whether a chain's head was kept before (a snapshot keeps only those that moved), and each chain's newest.
    op.create_index("ix_published_chain_head_chain", "published_chain_head", ["chain", "chain_id", "seq"])


def downgrade() -> None:
    op.drop_table("published_chain_head")
    op.drop_column("public_snapshot", "chains_at")
    op.drop_column("public_snapshot", "chains_root")
