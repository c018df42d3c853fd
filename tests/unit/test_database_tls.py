"""A production DATABASE_URL to another machine without TLS is warned about at startup (referrals.store.engine)."""

import pytest

from referrals.store.database_tls import tls_missing

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg://app@db.internal:5432/referrals",
        "postgresql+psycopg://app@db.internal/referrals?sslmode=prefer",
        "postgresql+psycopg://app@10.0.0.5/referrals?sslmode=disable",
        "postgresql+psycopg://app@/referrals?host=db1.internal:5432,db2.internal:5432&sslmode=allow",
    ],
)
def test_a_remote_host_without_tls_is_named(url):
    missing = tls_missing(url)
    assert missing is not None
    assert "internal" in missing["host"] or "10.0.0.5" in missing["host"]
    assert "sslmode=verify-full&sslrootcert=" in missing["fix"]


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg://app@db.internal/referrals?sslmode=verify-full&sslrootcert=/etc/ca.pem",
        "postgresql+psycopg://app@db.internal/referrals?sslmode=require",
        "postgresql+psycopg://app@localhost/referrals",
        "postgresql+psycopg://app@127.0.0.2:5433/referrals?sslmode=disable",
        "postgresql+psycopg://app@[::1]/referrals",
        "postgresql+psycopg://app@/referrals?host=/var/run/postgresql",
        "postgresql+psycopg://app@/referrals",
    ],
)
def test_tls_asked_for_or_this_machine_is_not_warned_about(url):
    assert tls_missing(url) is None


def test_pgsslmode_counts_when_the_url_names_none():
    assert tls_missing("postgresql+psycopg://app@db.internal/referrals", pgsslmode="verify-full") is None
    assert tls_missing("postgresql+psycopg://app@db.internal/referrals?sslmode=disable", pgsslmode="require")
