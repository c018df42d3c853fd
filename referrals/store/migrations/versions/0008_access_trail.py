"""the access trail: every read, search, download, sign-in and codec use, append-only and hash-chained

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# The floor of the retention (referrals/domain/policy.py: access_log_retention_days may be longer, never shorter).
RETENTION_DAYS = 365


def upgrade() -> None:
    op.create_table(
        "access_log",
        sa.Column("seq", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.String(), nullable=True),
        sa.Column("user_name", sa.String(), nullable=True),
        sa.Column("who", sa.String(), nullable=True),
        sa.Column("client", sa.String(), nullable=False),
        sa.Column("component", sa.String(), nullable=False),
        sa.Column("action", sa.String(), nullable=False),
        sa.Column("outcome", sa.String(), nullable=False),
        sa.Column("case_id", sa.String(), nullable=True),  # no foreign key: a not-found read names no case
        sa.Column("target", sa.String(), nullable=True),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(), nullable=False),
        sa.Column("hash", sa.String(), nullable=False),
        sa.CheckConstraint("outcome IN ('allowed', 'refused', 'not_found', 'failed')", name="ck_access_log_outcome"),
    )
    op.create_index("ix_access_log_case_id_at", "access_log", ["case_id", "at"])
    op.create_index("ix_access_log_user_id_at", "access_log", ["user_id", "at"])
    op.create_index("ix_access_log_at", "access_log", ["at"])
    # The identities tried while nobody was signed in (a failed sign-in under an unknown e-mail).
    op.create_index("ix_access_log_who_at", "access_log", ["who", "at"], postgresql_where=sa.text("user_id IS NULL"))
    # The canonical text each hash covers; referrals/store/access_log.py (entry_text) builds the same text to verify.
    # Every field but the sequence, the time and the previous hash is length-prefixed ("-" for none), so no
    # value can pass for two.
    op.execute("""
        CREATE FUNCTION access_log_field(value text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
            SELECT CASE WHEN value IS NULL THEN '-' ELSE length(value) || ':' || value END
        $$;
        CREATE FUNCTION access_log_text(
            p_seq bigint, p_at timestamptz, p_user_id text, p_user_name text, p_who text, p_client text,
            p_component text, p_action text, p_outcome text, p_case_id text, p_target text, p_details text,
            p_prev_hash text
        ) RETURNS text LANGUAGE sql STABLE AS $$
            SELECT concat_ws('|', 'access/1', p_seq::text,
                             to_char(p_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') || '+00:00',
                             access_log_field(p_user_id), access_log_field(p_user_name), access_log_field(p_who),
                             access_log_field(p_client), access_log_field(p_component), access_log_field(p_action),
                             access_log_field(p_outcome), access_log_field(p_case_id), access_log_field(p_target),
                             access_log_field(p_details), p_prev_hash)
        $$;
    """)
    # One round trip per entry: under a transaction-scoped advisory lock (so appends from every API process
    # line up, the chain never forks), read the last entry (this statement's snapshot is taken after the lock:
    # it sees the entry the previous holder committed), hash, insert, answer the new sequence number.
    op.execute("""
        CREATE FUNCTION access_log_append(
            p_at timestamptz, p_user_id text, p_user_name text, p_who text, p_client text, p_component text,
            p_action text, p_outcome text, p_case_id text, p_target text, p_details text
        ) RETURNS bigint LANGUAGE plpgsql AS $$
        DECLARE
            last_seq bigint;
            last_hash text;
            new_hash text;
        BEGIN
            PERFORM pg_advisory_xact_lock(hashtext('access_log'), 0);  -- two keys: apart from the one-key locks
            SELECT seq, hash INTO last_seq, last_hash FROM access_log ORDER BY seq DESC LIMIT 1;
            last_seq := coalesce(last_seq, 0);
            last_hash := coalesce(last_hash, repeat('0', 64));
            new_hash := encode(sha256(convert_to(access_log_text(
                last_seq + 1, p_at, p_user_id, p_user_name, p_who, p_client, p_component, p_action, p_outcome,
                p_case_id, p_target, p_details, last_hash), 'UTF8')), 'hex');
            INSERT INTO access_log (seq, at, user_id, user_name, who, client, component, action, outcome, case_id,
                                    target, details, prev_hash, hash)
            VALUES (last_seq + 1, p_at, p_user_id, p_user_name, p_who, p_client, p_component, p_action, p_outcome,
                    p_case_id, p_target, p_details, last_hash, new_hash);
            RETURN last_seq + 1;
        END $$;
    """)
    # Append-only in the database itself: no entry is ever changed; one is deleted only past the retention's
    # floor (`referrals access-log prune`), and the table is never truncated.
    op.execute(f"""
        CREATE FUNCTION access_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'DELETE' THEN
                IF OLD.at < now() - interval '{RETENTION_DAYS} days' THEN
                    RETURN OLD;
                END IF;
                RAISE EXCEPTION 'access_log is append-only: entries are kept {RETENTION_DAYS} days at least';
            END IF;
            RAISE EXCEPTION 'access_log is append-only';
        END $$;
        CREATE TRIGGER access_log_append_only BEFORE UPDATE OR DELETE ON access_log
        FOR EACH ROW EXECUTE FUNCTION access_log_append_only();
        CREATE TRIGGER access_log_no_truncate BEFORE TRUNCATE ON access_log
        FOR EACH STATEMENT EXECUTE FUNCTION access_log_append_only();
    """)


def downgrade() -> None:
    op.execute("DROP TRIGGER access_log_no_truncate ON access_log")
    op.execute("DROP TRIGGER access_log_append_only ON access_log")
    op.execute("DROP FUNCTION access_log_append_only()")
    op.execute(
        "DROP FUNCTION access_log_append(timestamptz, text, text, text, text, text, text, text, text, text, text)"
    )
    op.execute(
        "DROP FUNCTION access_log_text(bigint, timestamptz, text, text, text, text, text, text, text, text, "
        "text, text, text)"
    )
    op.execute("DROP FUNCTION access_log_field(text)")
    op.drop_index("ix_access_log_who_at", table_name="access_log")
    op.drop_index("ix_access_log_at", table_name="access_log")
    op.drop_index("ix_access_log_user_id_at", table_name="access_log")
    op.drop_index("ix_access_log_case_id_at", table_name="access_log")
    op.drop_table("access_log")
