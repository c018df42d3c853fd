"""Full-text search over the case read model: its words, and apart from them the names of the people involved

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# Generated from the stored case, so every write of the read model (and a rebuild) keeps them current.
# The case and event numbers weigh most, then the place and summary, then the narratives.
SEARCH = """
    setweight(to_tsvector('english', coalesce(case_number, '') || ' '
                                     || coalesce(state #>> '{details,event_number}', '')), 'A')
    || setweight(to_tsvector('english', coalesce(state #>> '{details,location}', '') || ' '
                                        || coalesce(state #>> '{details,summary}', '')), 'B')
    || setweight(to_tsvector('english', coalesce(state #>> '{details,narrative}', '') || ' '
                                        || coalesce(jsonb_path_query_array(
                                               state, '$.supplements[*].payload.narrative')::text, '')), 'C')
"""
# Names of the people involved, searched only for the roles that may look a person up (referrals/api/listing.py).
NAMES = "to_tsvector('simple', coalesce(jsonb_path_query_array(state, '$.people[*].name')::text, ''))"


def upgrade() -> None:
    op.execute(f"ALTER TABLE incident ADD COLUMN search tsvector GENERATED ALWAYS AS ({SEARCH}) STORED")
    op.execute(f"ALTER TABLE incident ADD COLUMN names tsvector GENERATED ALWAYS AS ({NAMES}) STORED")
    op.execute("CREATE INDEX ix_incident_search ON incident USING gin (search)")
    op.execute("CREATE INDEX ix_incident_names ON incident USING gin (names)")
    op.execute("CREATE INDEX ix_incident_occurred_at ON incident (occurred_at)")


def downgrade() -> None:
    op.execute("DROP INDEX ix_incident_occurred_at")
    op.execute("DROP INDEX ix_incident_names")
    op.execute("DROP INDEX ix_incident_search")
    op.execute("ALTER TABLE incident DROP COLUMN names")
    op.execute("ALTER TABLE incident DROP COLUMN search")
