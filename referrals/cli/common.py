"""What the `referrals` command's subcommands share: an administration action's entry in the access trail."""

import getpass
import socket
from datetime import UTC, datetime
from typing import Any

from referrals.store import access_log


def cli_entry(action: str, target: str | None, outcome: str = "allowed", **details: Any) -> access_log.AccessEntry:
    """An administration action taken on the command line, in the access trail: who ran it is the operating
    system's user, from this machine."""
    return access_log.AccessEntry(
        at=datetime.now(UTC),
        action=action,
        outcome=outcome,
        component="cli",
        client=socket.gethostname(),
        user_id=None,
        user_name=None,
        who=f"cli:{getpass.getuser()}",
        case_id=None,
        target=target,
        details=details,
    )
