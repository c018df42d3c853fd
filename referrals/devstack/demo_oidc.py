"""`make run OIDC=1`: a real OpenID provider on loopback (referrals/devstack/oidc_provider.py) with one demo account per
role, each in a group the API maps to that role, signing in with a second factor; the desk signs in there."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

from referrals.devstack import oidc_provider
from referrals.devstack.demo_users import DISTRICTS, ROLES, demo_name

CLIENT_ID = "referrals-desk"


def group(role: str) -> str:
    return "CPD-" + "-".join(part.capitalize() for part in role.split("_"))


def accounts() -> dict[str, dict]:
    found = {}
    for number, role in enumerate(ROLES, start=1):
        login = role.replace("_", "-")
        found[login] = {
            "sub": f"demo-{login}",
            "password": f"demo-{login}",
            "email": f"{login}@demo-idp.invalid",
            "email_verified": True,
            "name": f"{demo_name(role)} (provider)",
            "groups": [group(role)],
            "mfa": True,
            **({"district": DISTRICTS[role], "star": f"9{number:04d}"} if role in DISTRICTS else {}),
        }
    # Signs in without a second factor: the desk explains why it refuses.
    found["no-mfa"] = {
        **found["legal-reviewer"],
        "sub": "demo-no-mfa",
        "password": "demo-no-mfa",
        "email": "no-mfa@demo-idp.invalid",
        "name": "Demo Without A Second Factor",
        "mfa": False,
    }
    return found


def start(var: Path, api_url: str, port: int):
    """The provider (a context manager; stop it on exit) and the settings that point the API at it."""
    secret = _secret(var / "oidc" / "client-secret")
    client = {
        "client_id": CLIENT_ID,
        "client_secret": secret,
        "redirect_uris": [f"{api_url}/desk/oidc/callback"],
        "post_logout_redirect_uris": [f"{api_url}/desk/sign-in?ended=signed_out"],
    }
    provider = oidc_provider.launch(
        var / "oidc", clients=[client], accounts=accounts(), resource=f"{api_url}/", port=port
    )
    env = {
        "REFERRALS_OIDC_ISSUER": provider.issuer,
        "REFERRALS_OIDC_CLIENT_ID": CLIENT_ID,
        "REFERRALS_OIDC_CLIENT_SECRET": secret,
        "REFERRALS_OIDC_AUDIENCE": f"{api_url}/",
        "REFERRALS_OIDC_REQUIRE_MFA": "true",
        "REFERRALS_OIDC_GROUP_ROLES": json.dumps({group(role): role for role in ROLES}),
    }
    return provider, env


def _secret(path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.write_text(secrets.token_urlsafe(24))
    return path.read_text().strip()


def banner_rows() -> str:
    rows = [
        (login, account["password"], ", ".join(account["groups"]) + ("" if account["mfa"] else " (no MFA)"))
        for login, account in accounts().items()
    ]
    width = max(len(login) for login, _, _ in rows)
    return "\n".join(
        f"  {login.ljust(width)}  {password.ljust(width + 5)}  {groups}" for login, password, groups in rows
    )
