"""the overdue filter of the case list by an index: the cases with a deadline, by it

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # GET /incidents?overdue=true asks for next_deadline < now: without an index, a scan of every case the department
    # ever had (50 ms at 200,000 cases, issue 32). Closed cases have no deadline, so the index holds the open ones.
    op.execute("CREATE INDEX ix_incident_next_deadline ON incident (next_deadline) WHERE next_deadline IS NOT NULL")


def downgrade() -> None:
    op.execute("DROP INDEX ix_incident_next_deadline")
