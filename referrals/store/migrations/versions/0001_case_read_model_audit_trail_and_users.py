"""case read model, audit trail and users

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE SEQUENCE case_number_seq")
    op.create_table(
        "app_user",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("email", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("roles", sa.ARRAY(sa.String()), nullable=False),
        sa.Column("district", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("star", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("email"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_table(
        "incident",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("workflow_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("case_number", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("district", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("stage", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("disposition", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("filed_by_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("officer_stars", sa.ARRAY(sa.String()), nullable=False),
        sa.Column("open_tasks", sa.ARRAY(sa.String()), nullable=False),
        sa.Column("next_deadline", sa.DateTime(timezone=True), nullable=True),
        sa.Column("escalation_level", sa.Integer(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("filed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("request_hash", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("event_seq", sa.Integer(), nullable=False),
        sa.Column("state", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("case_number"),
        sa.UniqueConstraint("workflow_id"),
    )
    op.create_index(op.f("ix_incident_district"), "incident", ["district"], unique=False)
    op.create_index(op.f("ix_incident_filed_at"), "incident", ["filed_at"], unique=False)
    op.create_index(op.f("ix_incident_filed_by_id"), "incident", ["filed_by_id"], unique=False)
    op.create_index(op.f("ix_incident_stage"), "incident", ["stage"], unique=False)
    op.create_table(
        "allegation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("statute", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("person", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("facts", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["incident.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_allegation_case_id"), "allegation", ["case_id"], unique=False)
    op.create_index(op.f("ix_allegation_statute"), "allegation", ["statute"], unique=False)
    op.create_table(
        "case_event",
        sa.Column("case_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("actor_id", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("actor_name", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("data", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("prev_hash", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("hash", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["incident.id"],
        ),
        sa.PrimaryKeyConstraint("case_id", "seq"),
    )
    op.create_table(
        "case_task",
        sa.Column("case_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("task", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("owner_role", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("escalation_level", sa.Integer(), nullable=False),
        sa.Column("completed_by_id", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["incident.id"],
        ),
        sa.PrimaryKeyConstraint("case_id", "task"),
    )
    op.create_index(op.f("ix_case_task_status"), "case_task", ["status"], unique=False)
    op.create_table(
        "decision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("task", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("decision", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("actor_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("actor_name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("data", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["incident.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_decision_case_id"), "decision", ["case_id"], unique=False)
    op.create_table(
        "person",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("star_or_badge", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("agency", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["incident.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_person_case_id"), "person", ["case_id"], unique=False)
    op.create_table(
        "recording",
        sa.Column("case_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("camera_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("officer_star", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("purge_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("flag_reasons", sa.ARRAY(sa.String()), nullable=False),
        sa.Column("hold_reference", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("retained_until", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["incident.id"],
        ),
        sa.PrimaryKeyConstraint("case_id", "camera_id"),
    )
    op.create_index(op.f("ix_recording_purge_at"), "recording", ["purge_at"], unique=False)
    op.create_index("ix_incident_open_tasks", "incident", ["open_tasks"], postgresql_using="gin")
    op.create_index("ix_incident_officer_stars", "incident", ["officer_stars"], postgresql_using="gin")
    # The audit trail is append-only: the application's role can neither change nor delete it.
    op.execute(
        """
        CREATE FUNCTION case_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'case_event is append-only';
        END $$;
        CREATE TRIGGER case_event_append_only BEFORE UPDATE OR DELETE ON case_event
            FOR EACH ROW EXECUTE FUNCTION case_event_append_only();
        """
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER case_event_append_only ON case_event")
    op.execute("DROP FUNCTION case_event_append_only")
    op.drop_index("ix_incident_officer_stars", table_name="incident")
    op.drop_index("ix_incident_open_tasks", table_name="incident")
    op.drop_index(op.f("ix_recording_purge_at"), table_name="recording")
    op.drop_table("recording")
    op.drop_index(op.f("ix_person_case_id"), table_name="person")
    op.drop_table("person")
    op.drop_index(op.f("ix_decision_case_id"), table_name="decision")
    op.drop_table("decision")
    op.drop_index(op.f("ix_case_task_status"), table_name="case_task")
    op.drop_table("case_task")
    op.drop_table("case_event")
    op.drop_index(op.f("ix_allegation_statute"), table_name="allegation")
    op.drop_index(op.f("ix_allegation_case_id"), table_name="allegation")
    op.drop_table("allegation")
    op.drop_index(op.f("ix_incident_stage"), table_name="incident")
    op.drop_index(op.f("ix_incident_filed_by_id"), table_name="incident")
    op.drop_index(op.f("ix_incident_filed_at"), table_name="incident")
    op.drop_index(op.f("ix_incident_district"), table_name="incident")
    op.drop_table("incident")
    op.drop_table("app_user")
    op.execute("DROP SEQUENCE case_number_seq")
