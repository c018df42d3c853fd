"""Leaving a process that has made a Temporal client, without the interpreter's finalization: the client's runtime
threads may still be winding down, and finalizing under them can abort the process with SIGABRT, its exit status and
its last words lost. Used by the `referrals` command, the worker, and an API that cannot start."""

import os
import sys


def now(code: int, message: str | None = None) -> None:
    """Says `message` (if any) on stderr, flushes what was written, and ends the process with `code`."""
    if message:
        print(message, file=sys.stderr)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
