"""The command line and the policy file."""

import base64
import json
import os
import socket
import subprocess
import sys

import pytest

from referrals.config import ROOT
from referrals.documents.signing import development_certificate
from referrals.domain.policy import PolicyError, load_policy
from tests.support.cli import referrals


async def test_users_add_prints_id_and_a_working_token(api, database_url):
    done = referrals(
        database_url,
        "users",
        "add",
        "--name",
        "Lt. Park",
        "--email",
        "park@test.invalid",
        "--role",
        "command",
        "--role",
        "auditor",
        "--json",
    )
    assert done.returncode == 0, done.stderr
    created = json.loads(done.stdout.strip().splitlines()[-1])
    assert set(created) == {"id", "token"}
    me = await api.get("/users/me", headers={"Authorization": f"Bearer {created['token']}"})
    assert me.status_code == 200
    assert (me.json()["id"], me.json()["roles"]) == (created["id"], ["auditor", "command"])

    again = referrals(database_url, "users", "add", "--name", "X", "--email", "park@test.invalid", "--role", "admin")
    assert again.returncode == 1 and "exists already" in again.stderr
    bad = referrals(database_url, "users", "add", "--name", "X", "--email", "not-an-email", "--role", "admin")
    assert bad.returncode == 2 and "--email" in bad.stderr


async def test_tokens_are_stored_hashed(api, people, sessions):
    from sqlmodel import select

    from referrals.store.tables import AppUser

    async with sessions() as s:
        hashes = [u.token_hash for u in (await s.exec(select(AppUser))).all()]
    assert people.tokens["officer"] not in hashes
    assert all(len(h) == 64 for h in hashes)


def test_the_shipped_policy_loads():
    policy = load_policy(ROOT / "policy" / "chicago.toml")
    assert policy.bwc_retention_days == 90
    assert policy.statute("720 ILCS 5/12-3").title == "Battery"
    assert policy.tasks["footage_hold"].escalation[0].notify == ["evidence_custodian", "supervisor"]


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (('due = "PT24H"', 'due = "tomorrow"'), "tasks.footage_hold.due"),
        (("bwc_retention_days = 90", "bwc_retention_days = -1"), "bwc_retention_days"),
        (('notify = ["command"]', 'notify = ["janitor"]'), "tasks.footage_hold.escalation.1.notify.0"),
        (("[tasks.legal_review]", "[tasks.coffee_break]"), "tasks.coffee_break"),
        (("[prosecutor]", "prosecutor = 1\n[x]"), "prosecutor"),
    ],
)
def test_a_malformed_policy_is_refused_naming_the_key(tmp_path, change, named):
    text = (ROOT / "policy" / "chicago.toml").read_text().replace(*change, 1)
    path = tmp_path / "policy.toml"
    path.write_text(text)
    with pytest.raises(PolicyError) as refused:
        load_policy(path)
    assert named in str(refused.value)


def test_the_worker_will_not_start_on_a_malformed_policy(tmp_path, database_url):
    path = tmp_path / "policy.toml"
    path.write_text((ROOT / "policy" / "chicago.toml").read_text().replace('due = "P3D"', 'due = "three days"', 1))
    env = {**os.environ, "DATABASE_URL": database_url, "REFERRALS_POLICY_FILE": str(path), "REFERRALS_ENV": "test"}
    done = subprocess.run(
        [sys.executable, "-m", "referrals.worker"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode != 0
    assert "tasks.supervisor_identification.due" in done.stderr


def test_the_worker_says_where_it_cannot_serve_metrics(database_url):
    env = {**os.environ, "DATABASE_URL": database_url, "REFERRALS_ENV": "test"}
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        for bind in ("nonsense", f"127.0.0.1:{taken.getsockname()[1]}"):
            done = subprocess.run(
                [sys.executable, "-m", "referrals.worker"],
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=60,
                env={**env, "REFERRALS_WORKER_METRICS_BIND": bind},
            )
            assert done.returncode != 0
            assert f"REFERRALS_WORKER_METRICS_BIND='{bind}'" in done.stderr and "Traceback" not in done.stderr


def test_production_refuses_to_start_without_encryption_or_actor_keys_or_signing_certificate(database_url, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("REFERRALS_")}
    env.update(DATABASE_URL=database_url, REFERRALS_ENV="production")
    done = subprocess.run(
        [sys.executable, "-m", "referrals.worker"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode != 0
    assert "REFERRALS_ENCRYPTION_KEYS is required in production" in done.stderr
    assert "Traceback" not in done.stderr
    good = "k1:" + base64.b64encode(os.urandom(32)).decode()
    unsigned = subprocess.run(
        [sys.executable, "-m", "referrals.worker"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**env, "REFERRALS_ENCRYPTION_KEYS": good},
    )
    assert unsigned.returncode != 0 and "REFERRALS_ACTOR_KEYS is required in production" in unsigned.stderr
    no_certificate = subprocess.run(
        [sys.executable, "-m", "referrals.worker"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**env, "REFERRALS_ENCRYPTION_KEYS": good, "REFERRALS_ACTOR_KEYS": good},
    )
    assert no_certificate.returncode != 0 and "Traceback" not in no_certificate.stderr
    assert "REFERRALS_SIGNING_CERTIFICATE and REFERRALS_SIGNING_KEY are required in production" in no_certificate.stderr
    certificate, key = tmp_path / "certificate.pem", tmp_path / "key.pem"
    certificate.write_bytes(development_certificate("Test")[0])
    key.write_bytes(development_certificate("Test")[1])  # another key than the certificate's
    env.update(REFERRALS_SIGNING_CERTIFICATE=str(certificate), REFERRALS_SIGNING_KEY=str(key))
    mismatched = subprocess.run(
        [sys.executable, "-m", "referrals.worker"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**env, "REFERRALS_ENCRYPTION_KEYS": good, "REFERRALS_ACTOR_KEYS": good},
    )
    assert mismatched.returncode != 0 and "Traceback" not in mismatched.stderr
    assert f"worker: the signing key {key} is not the key of the certificate {certificate}" in mismatched.stderr
    bad = subprocess.run(
        [sys.executable, "-m", "referrals.worker"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**env, "REFERRALS_ENCRYPTION_KEYS": "k1:short", "REFERRALS_ACTOR_KEYS": good},
    )
    assert bad.returncode != 0 and "REFERRALS_ENCRYPTION_KEYS: 'k1' is not 'id:<32 bytes, base64>'" in bad.stderr
    bad = subprocess.run(
        [sys.executable, "-m", "referrals.worker"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**env, "REFERRALS_ENCRYPTION_KEYS": good, "REFERRALS_ACTOR_KEYS": "a1:short"},
    )
    assert bad.returncode != 0 and "REFERRALS_ACTOR_KEYS: 'a1' is not 'id:<32 bytes, base64>'" in bad.stderr


def test_the_api_will_not_start_on_a_malformed_policy(tmp_path, settings):
    from referrals.api.main import create_app

    path = tmp_path / "policy.toml"
    path.write_text((ROOT / "policy" / "chicago.toml").read_text().replace('after = "P2D"', 'after = "soon"', 1))
    with pytest.raises(PolicyError) as refused:
        create_app(settings.model_copy(update={"policy_file": path}))
    assert "tasks.supervisor_identification.escalation.1.after" in str(refused.value)


async def test_referrals_stuck_lists_overdue_tasks_or_says_none(database_url):
    done = referrals(database_url, "stuck")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("CASE") or done.stdout.strip() == "no overdue tasks"


def test_the_migrations_build_exactly_the_tables_the_code_declares(database_url):
    from alembic import command
    from alembic.config import Config

    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["database_url"] = database_url
    command.check(config)  # raises when autogenerate would find a difference
