"""The API and the worker started as a deployment starts them: processes of their own, configured by their environment.

with api_process(settings, log) as url: ...       # the Dockerfile's CMD, on a loopback port of its own
with worker_process(env, log) as proc: ...        # python -m referrals.worker, up once it says worker_started
"""

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx
from pydantic import SecretStr

from referrals.config import ROOT, Settings
from referrals.devstack import procs
from referrals.devstack.procs import free_port

# Read from Temporal's environment configuration (environment() gives them as TEMPORAL_ADDRESS and _NAMESPACE).
TEMPORAL_FIELDS = ("temporal_address", "temporal_namespace")


def shipped_command() -> list[str]:
    """The Dockerfile's CMD, which compose's `api` service runs too."""
    line = next(line for line in (ROOT / "Dockerfile").read_text().splitlines() if line.startswith("CMD "))
    return json.loads(line.removeprefix("CMD "))


def environment(settings: Settings) -> dict[str, str]:
    """The settings as the process's environment, as a deployment passes them."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("REFERRALS_", "TEMPORAL_")) and name not in ("DATABASE_URL", "FORWARDED_ALLOW_IPS")
    }
    env["TEMPORAL_CONFIG_FILE"] = os.environ["TEMPORAL_CONFIG_FILE"]  # the suite's, with no profile (conftest.py)
    env["TEMPORAL_ADDRESS"], env["TEMPORAL_NAMESPACE"] = settings.temporal.address, settings.temporal.namespace
    for name in Settings.model_fields:
        value = getattr(settings, name)
        if value is None or name in TEMPORAL_FIELDS:
            continue
        value = value.get_secret_value() if isinstance(value, SecretStr) else value
        env[f"REFERRALS_{name.upper()}"] = str(value).lower() if isinstance(value, bool) else str(value)
    return env


def start_api(env: Mapping[str, str], log: Path, port: int) -> subprocess.Popen:
    """The API as the Dockerfile starts it, on 127.0.0.1:port, its output in `log`."""
    command = shipped_command()
    assert command[0] == "uvicorn"
    command = [sys.executable, "-m", *command]
    command[command.index("--host") + 1] = "127.0.0.1"
    command[command.index("--port") + 1] = str(port)
    with log.open("wb") as out:
        return subprocess.Popen(
            command, cwd=ROOT, env=dict(env), stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def start_worker(env: Mapping[str, str], log: Path) -> subprocess.Popen:
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "referrals.worker"],
            cwd=ROOT,
            env=dict(env),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


@contextmanager
def api_process(settings: Settings, log: Path, env: Mapping[str, str] | None = None) -> Iterator[str]:
    """The API as the Dockerfile starts it, on a loopback port of its own; yields its base URL once it answers."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = start_api(env or environment(settings.model_copy(update={"public_url": url})), log, port)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, f"the API stopped: {log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, f"the API did not answer: {log.read_text()[-3000:]}"
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        yield url
    finally:
        procs.stop(proc, timeout=20)


@contextmanager
def worker_process(env: Mapping[str, str], log: Path) -> Iterator[subprocess.Popen]:
    """`python -m referrals.worker`, yielded once it has logged worker_started (it is connected and polling)."""
    proc = start_worker(env, log)
    try:
        deadline = time.monotonic() + 60
        while "worker_started" not in log.read_text(errors="replace"):
            assert proc.poll() is None, f"the worker stopped: {log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, f"the worker did not start: {log.read_text()[-3000:]}"
            time.sleep(0.1)
        yield proc
    finally:
        procs.stop(proc, timeout=20)


def refused(proc: subprocess.Popen, log: Path, timeout: float = 30) -> str:
    """What a process that must not start said before it stopped; it must stop within `timeout` seconds."""
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        procs.stop(proc, timeout=20)
        raise AssertionError(f"still running after {timeout} s: {log.read_text()[-3000:]}") from None
    assert proc.returncode != 0, log.read_text()[-3000:]
    return log.read_text(errors="replace")
