"""What `make run` prints once everything answers."""

from __future__ import annotations

# An authenticated read any role may make, for the example curl.
EXAMPLE_PATH = "/incidents"


def render(
    api_url: str,
    temporal_ui_url: str,
    users: list[dict],
    var_dir: str,
    extras: dict[str, str],
    provider_accounts: str | None = None,
) -> str:
    rows = [("ROLE", "NAME", "DISTRICT", "TOKEN")]
    rows += [(u["role"], u["name"], u.get("district") or "-", u["token"]) for u in users]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    table = "\n".join(
        "  " + "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:3])) + "  " + row[3] for row in rows
    )
    officer = next((u for u in users if u["role"] == "officer"), users[0] if users else None)
    token = officer["token"] if officer else "TOKEN"
    more = "\n".join(f"  {label:<12} {value}" for label, value in extras.items())
    line = "=" * 78
    accounts = (
        (
            "\n  Accounts at the OpenID provider (login, password, group; every one but the last with MFA):\n"
            f"{provider_accounts}\n"
        )
        if provider_accounts
        else ""
    )
    or_provider = " or an account at the provider" if provider_accounts else ""
    return f"""
{line}
  Incident referrals: development stack is up

  Desk         {api_url}/desk/   (sign in with a token below{or_provider})
  API docs     {api_url}/docs
  Temporal UI  {temporal_ui_url}   (signed in at the desk as a role that sees every case)
{more}

  Demo users (tokens also in {var_dir}/demo-users.json):
{table}
{accounts}
  Try:
    curl -H "Authorization: Bearer {token}" {api_url}{EXAMPLE_PATH}

  Ctrl-C stops everything; data stays in {var_dir}/ (make clean removes it).
{line}
"""
