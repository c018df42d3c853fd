"""each case's facts as the public figures count them, and its chain's head, kept beside its audit trail

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07

Publishing read the whole audit trail (3.4 million events at 200,000 cases, 2 GB) twice, to find each case's last
stage, supervisor's agency, statutes and filing and to count the referrals and decisions by month, and joined it
again to find each chain's head: 12 s of a snapshot's 14 at 200,000 cases. A trigger now keeps them per case as
events are written (`case_tally`), in the form the figures' query reads them (referrals/store/public_snapshots.py):
each value prefixed with its event's number, ten digits, so that the greatest in the C collation is the latest, and
the greatest of what was kept and what was added is the latest of both. The events counted by month (referrals,
charging decisions, outcomes) are copied as they are written, with only what they are counted by (`counted_event`).
The audit trail is append-only (0001's trigger); where its owner sets that aside, the cases changed are counted again.
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

_SEQ = "lpad(seq::text, 10, '0')"
_PER_CASE_KINDS = (
    "'case_filed', 'supplement_filed', 'supervisor_identification_recorded', 'violation_report_recorded', "
    "'stage_changed', 'tasks_reopened', 'case_closed'"
)
# Each case's facts in `source` (the events of one statement, or the whole trail), as public_snapshots._PER_CASE
# finds them; `last_at` says whether they are still the facts as of a cutoff (every event counted before it).
_TALLY = f"""
SELECT case_id,
    max(at) FILTER (WHERE kind IN ({_PER_CASE_KINDS})) AS last_at,
    max(CASE WHEN kind = 'case_closed' THEN {_SEQ} || 'closed'
        WHEN kind IN ('stage_changed', 'tasks_reopened') AND data ->> 'stage' <> ''
        THEN {_SEQ} || (data ->> 'stage') END COLLATE "C") AS stage,
    max(CASE WHEN kind = 'supervisor_identification_recorded'
        THEN {_SEQ} || coalesce('=' || (data ->> 'agency'), '-') END COLLATE "C") AS supervisor,
    max(CASE WHEN kind = 'violation_report_recorded'
        THEN {_SEQ} || jsonb_path_query_array(data, '$.allegations[*].statute')::text END COLLATE "C") AS statutes,
    max(CASE WHEN kind = 'case_filed' THEN {_SEQ} || jsonb_strip_nulls(jsonb_build_object(
        'kind', kind,
        'occurred_at', data -> 'occurred_at',
        'agencies', jsonb_path_query_array(data, '$.federal_personnel[*].agency')
    ))::text END COLLATE "C") AS filed,
    count(*) FILTER (WHERE kind IN ('case_filed', 'supplement_filed')) AS filings,
    max(seq) AS head_seq,
    substr(max({_SEQ} || hash COLLATE "C"), 11) AS head_hash
FROM {{source}}
GROUP BY case_id
"""
_COLUMNS = "case_id, last_at, stage, supervisor, statutes, filed, filings, head_seq, head_hash"
# The events the figures count by month (referrals, charging decisions, outcomes), with only what they are counted by.
_COUNTED = """
INSERT INTO counted_event (case_id, seq, kind, at, decided_at, decided_on, what)
SELECT case_id, seq, kind, at, data ->> 'decided_at', data ->> 'decided_on',
    CASE kind WHEN 'charging_decided' THEN data ->> 'decision'
        WHEN 'prosecution_outcome_recorded' THEN data ->> 'outcome' END
FROM {source}
WHERE kind IN ('referral_acknowledged', 'charging_decided', 'prosecution_outcome_recorded')
"""


def upgrade() -> None:
    op.create_table(
        "case_tally",
        sa.Column("case_id", sa.String(), primary_key=True),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("stage", sa.String(collation="C"), nullable=True),
        sa.Column("supervisor", sa.String(collation="C"), nullable=True),
        sa.Column("statutes", sa.String(collation="C"), nullable=True),
        sa.Column("filed", sa.String(collation="C"), nullable=True),
        sa.Column("filings", sa.BigInteger(), nullable=False),
        sa.Column("head_seq", sa.BigInteger(), nullable=False),
        sa.Column("head_hash", sa.String(), nullable=False),
    )
    op.create_table(
        "counted_event",
        sa.Column("case_id", sa.String(), primary_key=True),
        sa.Column("seq", sa.BigInteger(), primary_key=True),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.String(), nullable=True),
        sa.Column("decided_on", sa.String(), nullable=True),
        sa.Column("what", sa.String(), nullable=True),
    )
    op.execute(f"INSERT INTO case_tally ({_COLUMNS}) {_TALLY.format(source='case_event')}")
    op.execute(_COUNTED.format(source="case_event"))
    # Once per statement, over the rows it added: a step's events, or a COPY's thousands, one upsert per case.
    op.execute(
        f"""
        CREATE FUNCTION case_tally_add() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO case_tally ({_COLUMNS}) {_TALLY.format(source="added")}
            ON CONFLICT (case_id) DO UPDATE SET
                last_at = greatest(case_tally.last_at, excluded.last_at),
                stage = greatest(case_tally.stage, excluded.stage),
                supervisor = greatest(case_tally.supervisor, excluded.supervisor),
                statutes = greatest(case_tally.statutes, excluded.statutes),
                filed = greatest(case_tally.filed, excluded.filed),
                filings = case_tally.filings + excluded.filings,
                head_hash = CASE WHEN excluded.head_seq > case_tally.head_seq
                    THEN excluded.head_hash ELSE case_tally.head_hash END,
                head_seq = greatest(case_tally.head_seq, excluded.head_seq);
            {_COUNTED.format(source="added")};
            RETURN NULL;
        END $$;
        CREATE TRIGGER case_tally_add AFTER INSERT ON case_event
            REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION case_tally_add();
        """
    )
    # The trail is append-only, but its owner may set that trigger aside: to put a case back as a backup had it, to
    # forget one (tests/test_rebuild.py), or to rewrite one. The cases an update or a delete touched are counted again
    # from what their trails then hold, their heads with them (as `audit verify --published` reads them).
    touched = "(SELECT * FROM case_event WHERE case_id IN (SELECT case_id FROM changed)) AS touched"
    op.execute(
        f"""
        CREATE FUNCTION case_tally_again() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            DELETE FROM case_tally WHERE case_id IN (SELECT case_id FROM changed);
            INSERT INTO case_tally ({_COLUMNS}) {_TALLY.format(source=touched)};
            DELETE FROM counted_event WHERE case_id IN (SELECT case_id FROM changed);
            {_COUNTED.format(source=touched)};
            RETURN NULL;
        END $$;
        CREATE TRIGGER case_tally_updated AFTER UPDATE ON case_event
            REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION case_tally_again();
        CREATE TRIGGER case_tally_deleted AFTER DELETE ON case_event
            REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION case_tally_again();
        """
    )


def downgrade() -> None:
    for trigger in ("case_tally_add", "case_tally_updated", "case_tally_deleted"):
        op.execute(f"DROP TRIGGER {trigger} ON case_event")
    op.execute("DROP FUNCTION case_tally_add")
    op.execute("DROP FUNCTION case_tally_again")
    op.drop_table("counted_event")
    op.drop_table("case_tally")
