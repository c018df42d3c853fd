"""a step's event names the workflow update that recorded it: a step retried after its case continued as new

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Outside the event's hash (the chain is unchanged); null for events recorded before it and for the system's.
    # Looked up with the case's id, within the case's own events (the primary key's first column).
    op.add_column("case_event", sa.Column("update_id", sa.String(), nullable=True))


def downgrade() -> None:
    op.drop_column("case_event", "update_id")
