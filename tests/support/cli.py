"""The command line run as an operator runs it: `python -m referrals.cli` in a process of its own, against a database."""

import os
import subprocess
import sys

from referrals.config import ROOT


def referrals(database_url: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": database_url, "REFERRALS_ENV": "test"}
    return subprocess.run(
        [sys.executable, "-m", "referrals.cli", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
