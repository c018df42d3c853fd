"""SIGINT/SIGTERM for the launcher: raise `Shutdown`, or defer it across a critical step."""

from __future__ import annotations

import signal
from contextlib import contextmanager

_deferring = False
_pending: int | None = None


class Shutdown(Exception):
    """SIGINT or SIGTERM arrived."""


def install() -> None:
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _on_signal)


def ignore() -> None:
    """Once shutdown begins, let it finish: each step has its own timeout."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)


def _on_signal(signum: int, _frame) -> None:
    global _pending
    if _deferring:
        _pending = signum
        return
    ignore()
    raise Shutdown(signum)


@contextmanager
def deferred():
    """Hold a signal until the step is done, so that what it started is registered for cleanup."""
    global _deferring
    _deferring = True
    try:
        yield
    finally:
        _deferring = False
        if _pending is not None:
            ignore()
            raise Shutdown(_pending)
