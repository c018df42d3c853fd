"""One demo user per role, created through the CLI; their tokens kept in var/demo-users.json.

Tokens are stored hashed in the database, so the plain tokens exist only in that file
(development only). A second `make run` reuses it rather than creating users again.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from referrals.devstack import procs

ROLES = (
    "officer",
    "supervisor",
    "evidence_custodian",
    "legal_reviewer",
    "command",
    "prosecutor_liaison",
    "auditor",
    "admin",
)
# In Chicago's district 010; under another policy the users are made in its first district or precinct (the
# provider's demo accounts, referrals/devstack/demo_oidc.py, stay Chicago's).
DISTRICTS = {"officer": "010", "supervisor": "010"}
FILE_NAME = "demo-users.json"


def demo_name(role: str) -> str:
    return "Demo " + " ".join(part.capitalize() for part in role.split("_"))


def ensure(var_dir: Path, *, env: dict[str, str], cwd: Path, fresh_database: bool) -> list[dict]:
    """Return the demo users (role, name, email, district, id, token), creating missing ones.

    `fresh_database`: the database was just created, so any saved tokens are stale.
    """
    path = var_dir / FILE_NAME
    users = {} if fresh_database else _load(path)
    for role in ROLES:
        if role in users:
            continue
        users[role] = _create(role, env=env, cwd=cwd)
        _save(path, users)  # after each one, so that a failure half-way loses nothing
    return [users[role] for role in ROLES]


def demo_district(env: dict[str, str], cwd: Path) -> str:
    """010 under Chicago's policy; under another (REFERRALS_POLICY_FILE), its first district or precinct."""
    from referrals.domain.policy import load_policy

    policy = load_policy(cwd / env.get("REFERRALS_POLICY_FILE", "policy/chicago.toml"))
    return "010" if policy.district("010") else policy.districts[0].code


def _create(role: str, *, env: dict[str, str], cwd: Path) -> dict:
    name, email = demo_name(role), f"{role}@demo.invalid"
    district = demo_district(env, cwd) if role in DISTRICTS else None
    args = [sys.executable, "-m", "referrals.cli", "users", "add", "--name", name, "--email", email, "--role", role]
    if district:
        args += ["--district", district]
    args.append("--json")
    out = procs.run(args, env=env, cwd=cwd, what=f"creating demo user {email}")
    created = _last_json_object(out)
    if not created or "token" not in created:
        raise procs.StartupError(f"`{' '.join(args)}` printed no JSON object with a token:\n{out}")
    return {"role": role, "name": name, "email": email, "district": district, **created}


def _last_json_object(out: str) -> dict | None:
    # Log lines may share stdout with the result: take the last line that is a JSON object.
    for line in reversed(out.strip().splitlines()):
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    try:  # pretty-printed over several lines
        value = json.loads(out)
        return value if isinstance(value, dict) else None
    except ValueError:
        return None


def _load(path: Path) -> dict[str, dict]:
    try:
        saved = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return {user["role"]: user for user in saved if isinstance(user, dict) and user.get("token")}


def _save(path: Path, users: dict[str, dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    # Plain bearer tokens: readable by the owner only.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump([users[role] for role in ROLES if role in users], f, indent=2)
    os.replace(tmp, path)
