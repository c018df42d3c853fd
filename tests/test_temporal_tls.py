"""Temporal reached as Temporal Cloud and production clusters are: over TLS, with a client certificate (mutual TLS) or
an API key, configured by Temporal's own environment configuration (TEMPORAL_ADDRESS, TEMPORAL_TLS_*,
TEMPORAL_API_KEY). The worker, the API and the `referrals` command are started as a deployment starts them, in
processes of their own, against the suite's dev server behind a TLS front (tests/support/temporal_front.py).

With the right credentials all three connect and a case runs from its filing through a step. With none, or with
untrusted ones, each stops at once, saying which setting to fix, without a stack trace."""

import json
import subprocess
import sys
import uuid

import httpx
import pytest

from referrals.config import ROOT, Settings
from referrals.devstack.front_door import NGINX
from referrals.devstack.procs import free_port
from referrals.temporal_client import connect
from referrals.temporal_environment import TemporalConnectError
from tests.support.processes import api_process, environment, refused, start_api, start_worker, worker_process
from tests.support.scenario import HOLD_1, HOLD_2, Driver
from tests.support.temporal_front import API_KEY, temporal_front

pytestmark = pytest.mark.skipif(NGINX is None, reason="nginx is not installed (`apt-get install nginx-light`)")


@pytest.fixture(scope="module")
def front(settings, tmp_path_factory):
    with temporal_front(tmp_path_factory.mktemp("temporal-front"), settings.temporal.address) as found:
        yield found


def deployed(settings, temporal: dict[str, str]) -> dict[str, str]:
    """The environment of a deployment whose Temporal settings are `temporal`: a task queue of its own, no PDFs."""
    own = settings.model_copy(
        update={"task_queue": f"tls-{uuid.uuid4()}", "pdf_converter": "off", "log_format": "json"}
    )
    env = {name: value for name, value in environment(own).items() if not name.startswith("TEMPORAL_")}
    return {**env, "TEMPORAL_CONFIG_FILE": environment(own)["TEMPORAL_CONFIG_FILE"], **temporal}


def command(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "referrals.cli", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize("kind", ["mutual_tls", "api_key"])
async def test_with_its_credentials_the_worker_the_api_and_the_command_reach_temporal_and_a_case_runs(
    settings, people, front, tmp_path, kind
):
    env = deployed(settings, front.environment(kind))
    with worker_process(env, tmp_path / "worker.log"), api_process(settings, tmp_path / "api.log", env=env) as url:
        async with httpx.AsyncClient(base_url=url, timeout=30) as api:
            d = Driver(api, people)
            case = await d.new_case()
            held = await d.ok(case["id"], "footage-hold", "custodian", {"holds": [HOLD_1, HOLD_2]})
            assert HOLD_1["hold_reference"] not in json.dumps(case) and HOLD_1["hold_reference"] in json.dumps(held)
            rebuilt = command(env, "rebuild", case["case_number"])  # the case's trail read back from Temporal
    assert rebuilt.returncode == 0 and case["case_number"] in rebuilt.stdout, rebuilt.stdout + rebuilt.stderr
    seen = front.requests()
    port = front.mutual_tls if kind == "mutual_tls" else front.api_key
    through = [line for line in seen if line.startswith(f"{port} ")]
    assert any("/UpdateWorkflowExecution " in line and line.endswith(" 200") for line in through), seen[-20:]
    assert any("/PollWorkflowTaskQueue " in line for line in through), seen[-20:]
    if kind == "mutual_tls":  # every request came with the trusted certificate, none with a key
        assert all(line.split()[1:3] == ["SUCCESS", "no"] for line in through), through
    else:  # and every one with the key, in the header the front checks it in: `authorization: Bearer <key>`
        assert all(line.split()[1:3] == ["NONE", "yes"] for line in through), through
    for log in ("worker.log", "api.log"):  # each says how it connected, and nothing of the key or certificate
        said = [json.loads(line) for line in (tmp_path / log).read_text().splitlines() if line.startswith("{")]
        connected = next(e for e in said if e["event"] == "temporal_connected")
        assert connected["tls"] is True and connected["address"] == env["TEMPORAL_ADDRESS"]
        assert (connected["client_certificate"], connected["api_key"]) == (kind == "mutual_tls", kind == "api_key")
        assert "BEGIN" not in (tmp_path / log).read_text() and API_KEY not in (tmp_path / log).read_text()


REFUSALS = {
    "no client certificate": (
        "mutual_tls",
        {"TEMPORAL_TLS_CLIENT_CERT_PATH": "", "TEMPORAL_TLS_CLIENT_KEY_PATH": "", "TEMPORAL_TLS": "true"},
        "asks who is connecting: set TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH",
    ),
    "an untrusted client certificate": (
        "mutual_tls",
        "intruder",
        "refused the client certificate: set TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH",
    ),
    "no CA for the server's certificate": (
        "mutual_tls",
        {"TEMPORAL_TLS_SERVER_CA_CERT_PATH": ""},
        "presents a certificate this client does not trust: set TEMPORAL_TLS_SERVER_CA_CERT_PATH",
    ),
    "a wrong API key": ("api_key", {"TEMPORAL_API_KEY": "wrong"}, "refused the API key: set TEMPORAL_API_KEY"),
    "plain text to a TLS server": (
        "api_key",
        {"TEMPORAL_API_KEY": "", "TEMPORAL_TLS_SERVER_CA_CERT_PATH": ""},
        "expects TLS: set TEMPORAL_TLS=true",
    ),
}


def credentials(front, refusal: str) -> dict[str, str]:
    kind, change, _ = REFUSALS[refusal]
    if change == "intruder":
        cert, key = front.client("intruder")
        change = {"TEMPORAL_TLS_CLIENT_CERT_PATH": str(cert), "TEMPORAL_TLS_CLIENT_KEY_PATH": str(key)}
    return front.environment(kind, **change)


@pytest.mark.parametrize("refusal", ["an untrusted client certificate", "a wrong API key"])
def test_without_trusted_credentials_each_part_stops_at_once_naming_the_setting(settings, front, tmp_path, refusal):
    temporal = credentials(front, refusal)
    env = deployed(settings, temporal)
    said = f"Temporal at {temporal['TEMPORAL_ADDRESS']} {REFUSALS[refusal][2]}"
    worker = start_worker(env, tmp_path / "worker.log")
    api = start_api(env, tmp_path / "api.log", free_port())
    rebuilt = command(env, "rebuild", "CPD-2026-000001")
    assert rebuilt.returncode == 2 and rebuilt.stderr.startswith(f"referrals: {said}"), rebuilt.stderr
    assert rebuilt.stderr.count("\n") == 1, rebuilt.stderr  # one line
    for proc, log, prefix in ((worker, "worker.log", "worker: "), (api, "api.log", "api: ")):
        output = refused(proc, tmp_path / log, timeout=30)
        assert f"{prefix}{said}" in output, output
        assert "Traceback" not in output, output
    assert (worker.returncode, api.returncode) == (1, 3)  # uvicorn's own status for a failed startup


@pytest.mark.parametrize("refusal", REFUSALS)
async def test_each_way_a_connection_can_fail_is_said_with_the_setting_to_fix(settings, front, monkeypatch, refusal):
    """The same sentence the worker, the API and the command print, for every failure the front can make."""
    temporal = credentials(front, refusal)
    for name, value in temporal.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(TemporalConnectError) as refused_by:
        await connect(Settings(database_url=settings.database_url, env="test"))
    assert str(refused_by.value).startswith(f"Temporal at {temporal['TEMPORAL_ADDRESS']} {REFUSALS[refusal][2]}")
