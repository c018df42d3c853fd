"""Child processes of the launcher: started in their own process group, stopped in order."""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

STOP_TIMEOUT = 15.0


_prctl: Callable[..., int] | None
try:
    _prctl = ctypes.CDLL(None, use_errno=True).prctl
except (OSError, AttributeError):  # not Linux
    _prctl = None


def _die_with_parent() -> None:
    # Runs in the forked child: it gets SIGTERM if the launcher dies without cleaning up (SIGKILL).
    assert _prctl is not None  # spawn passes this function only when prctl is there (orphan_guard)
    _prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def spawn(
    args: list[str],
    *,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    log_file: Path | None = None,
) -> subprocess.Popen:
    """Start `args`; output goes to `log_file` (appended) or, if None, to our terminal.

    The child gets its own process group so that Ctrl-C at the terminal reaches only the
    launcher, which then stops the children in order.
    """
    # PDEATHSIG fires when the *thread* that forked exits: only safe from the main thread.
    orphan_guard = (
        _prctl is not None
        and sys.platform.startswith("linux")
        and threading.current_thread() is threading.main_thread()
    )
    out = None
    if log_file is not None:
        Path(log_file).parent.mkdir(parents=True, exist_ok=True)
        out = open(log_file, "ab")
    try:
        return subprocess.Popen(
            args,
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT if out else None,
            process_group=0,
            preexec_fn=_die_with_parent if orphan_guard else None,
        )
    finally:
        if out is not None:
            out.close()  # the child holds its own descriptor


def stop(proc: subprocess.Popen, timeout: float = STOP_TIMEOUT) -> int | None:
    """SIGTERM, wait up to `timeout` seconds, then SIGKILL. Returns the exit code."""
    if proc.poll() is None:
        try:
            proc.terminate()
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            print(f"devstack: pid {proc.pid} did not stop within {timeout:.0f}s; killing it", file=sys.stderr)
            proc.kill()
            proc.wait()
    _kill_group(proc)
    return proc.returncode


def free_port() -> int:
    """A TCP port on 127.0.0.1 nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(args: list[str], *, env: dict[str, str], cwd: Path, what: str) -> str:
    """Run a short command to completion; return its stdout, or raise with its output."""
    result = subprocess.run(args, env=env, cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    if result.returncode != 0:
        raise StartupError(
            f"{what} failed (exit {result.returncode}): {' '.join(args)}\n{result.stdout}{result.stderr}".rstrip()
        )
    return result.stdout


class StartupError(RuntimeError):
    """The stack could not be brought up; the message says why."""


def _kill_group(proc: subprocess.Popen) -> None:
    """Stragglers the child may have left in its process group (its pid is the group id)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
