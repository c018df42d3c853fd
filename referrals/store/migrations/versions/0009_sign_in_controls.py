"""sign-in through an OpenID provider, idle sessions, failed sign-ins counted where every replica sees them

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The provider's subject ("<issuer> <sub>") of a user who signs in there; an account locked after failures.
    op.add_column("app_user", sa.Column("subject", sa.String(), nullable=True))
    op.create_unique_constraint("uq_app_user_subject", "app_user", ["subject"])
    op.add_column("app_user", sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True))
    # A session locks after a while without activity; one opened at the provider keeps its ID token for sign-out.
    op.add_column(
        "web_session",
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.add_column("web_session", sa.Column("via", sa.String(), nullable=False, server_default="token"))
    op.add_column("web_session", sa.Column("id_token", sa.Text(), nullable=True))
    # Failed authentications by client address and by account, in the database so every API process counts
    # them together; rows older than the longest window are deleted as new ones come.
    op.create_table(
        "auth_failure",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("kind", sa.String(), nullable=False),  # client | account
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_auth_failure_kind_key_at", "auth_failure", ["kind", "key", "at"])
    op.create_index("ix_auth_failure_at", "auth_failure", ["at"])
    # A sign-in begun at the provider: its state (stored as a hash), nonce and PKCE verifier, used once.
    op.create_table(
        "oidc_login",
        sa.Column("state_hash", sa.String(), primary_key=True),
        sa.Column("nonce", sa.String(), nullable=False),
        sa.Column("code_verifier", sa.String(), nullable=False),
        sa.Column("next", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("oidc_login")
    op.drop_table("auth_failure")
    op.drop_column("web_session", "id_token")
    op.drop_column("web_session", "via")
    op.drop_column("web_session", "last_seen_at")
    op.drop_column("app_user", "locked_until")
    op.drop_constraint("uq_app_user_subject", "app_user")
    op.drop_column("app_user", "subject")
