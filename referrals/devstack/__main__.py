"""`make run`: PostgreSQL, Temporal, migrations, demo users, worker and API, stopped on Ctrl-C."""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import ExitStack
from pathlib import Path

from referrals.devstack import banner, demo_oidc, demo_users, postgres, procs, signals, temporal
from referrals.devstack.procs import StartupError
from referrals.documents.pdf import Unavailable, find_libreoffice
from referrals.documents.signing import development_certificate
from referrals.domain.policy import load_policy

ROOT = Path(__file__).resolve().parent.parent.parent
DATABASE = "referrals"


def _check_port_free(port: int, what: str) -> None:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers do: ignore TIME_WAIT
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            raise StartupError(f"port {port} ({what}) is already in use: another `make run`?") from None


def _start_child(stack: ExitStack, name: str, args: list[str], **kwargs) -> subprocess.Popen:
    with signals.deferred():
        proc = procs.spawn(args, **kwargs)
        stack.callback(_stop_child, name, proc)
    return proc


def _stop_child(name: str, proc: subprocess.Popen) -> None:
    print(f"devstack: stopping {name}", flush=True)
    procs.stop(proc)


def _wait_healthy(url: str, children: dict[str, subprocess.Popen], timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _check_alive(children)
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise StartupError(f"{url} did not answer 200 within {timeout:.0f}s")


def _first_snapshot(api_url: str, users: list[dict]) -> str:
    """The public page has figures from the start: a snapshot published at once, as an admin would (best effort:
    the schedule publishes one daily anyway)."""
    admin = next((u for u in users if u["role"] == "admin"), None)
    if admin is None:
        return "no admin among the demo users: the schedule publishes the first snapshot"
    request = urllib.request.Request(
        f"{api_url}/public/snapshots", method="POST", headers={"Authorization": f"Bearer {admin['token']}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return f"snapshot published ({response.status})"
    except OSError as exc:
        return f"no snapshot yet ({exc}): POST /public/snapshots as admin, or wait for the schedule"


def _check_alive(children: dict[str, subprocess.Popen]) -> None:
    for name, proc in children.items():
        if proc.poll() is not None:
            raise StartupError(f"the {name} exited unexpectedly (code {proc.returncode}); stopping the others")


def _run(stack: ExitStack) -> None:
    api_port = int(os.environ.get("REFERRALS_API_PORT", "8000"))
    temporal_port = int(os.environ.get("REFERRALS_TEMPORAL_PORT", "7233"))
    ui_port = int(os.environ.get("REFERRALS_TEMPORAL_UI_PORT", "8233"))
    smtp_port = int(os.environ.get("REFERRALS_SMTP_PORT", "8025"))
    metrics_port = int(os.environ.get("REFERRALS_WORKER_METRICS_PORT", "9464"))
    var = Path(os.environ.get("REFERRALS_VAR_DIR") or ROOT / "var").resolve()
    for port, what in (
        (api_port, "API"),
        (temporal_port, "Temporal"),
        (ui_port, "Temporal UI"),
        (smtp_port, "SMTP"),
        (metrics_port, "worker metrics"),
    ):
        _check_port_free(port, what)
    (var / "log").mkdir(parents=True, exist_ok=True)

    print(f"devstack: starting PostgreSQL ({var / 'pgdata'})", flush=True)
    with signals.deferred():
        server = postgres.start(var / "pgdata")

        def stop_postgres() -> None:
            print("devstack: stopping PostgreSQL", flush=True)
            postgres.stop(server)

        stack.callback(stop_postgres)
    fresh = not postgres.database_exists(server, DATABASE)
    database_url = postgres.ensure_database(server, DATABASE)

    temporal_log = var / "log" / "temporal.log"
    print(f"devstack: starting Temporal on 127.0.0.1:{temporal_port} (log: {temporal_log})", flush=True)
    # The UI is served by the API at its own origin under /temporal (referrals/web/temporal_ui.py), behind the desk's
    # sign-in: its codec calls are same-origin, so the desk's session cookie goes with them.
    codec = f"http://127.0.0.1:{api_port}/codec"
    args = [str(temporal.binary("temporal")),
            *temporal.dev_server_args(temporal_port, ui_port, var / "temporal.db", codec, "/temporal")]  # fmt: skip
    server_proc = _start_child(stack, "Temporal server", args, log_file=temporal_log)
    address = f"127.0.0.1:{temporal_port}"
    try:
        temporal.wait_ready_blocking(address, timeout=60, proc=server_proc)
    except (RuntimeError, TimeoutError) as error:
        tail = "".join(temporal_log.read_text(errors="replace").splitlines(keepends=True)[-20:])
        raise StartupError(f"{error}\n--- last lines of {temporal_log} ---\n{tail}") from None

    # An SMTP sink that keeps every message as a file (Maildir), so escalation e-mail can be read.
    maildir = var / "mail"
    smtp_args = [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{smtp_port}",
                 "-c", "aiosmtpd.handlers.Mailbox", str(maildir)]  # fmt: skip
    smtp_proc = _start_child(stack, "SMTP sink", smtp_args, log_file=var / "log" / "smtp.log")

    ui_direct = f"http://127.0.0.1:{ui_port}"
    api_url = f"http://127.0.0.1:{api_port}"
    ui_url = f"{api_url}/temporal/"
    env = dict(temporal.local_profile(os.environ, address, var / "temporal.toml"), PYTHONUNBUFFERED="1",
               DATABASE_URL=database_url, REFERRALS_ENV="development",
               REFERRALS_TEMPORAL_UI_URL=ui_direct, REFERRALS_PUBLIC_URL=api_url,
               REFERRALS_TEMPORAL_UI_UPSTREAM=ui_direct,  # the API proxies it: the cases' links go to ui_url
               REFERRALS_SMTP_URL=os.environ.get("REFERRALS_SMTP_URL", f"smtp://127.0.0.1:{smtp_port}"),
               REFERRALS_WORKER_METRICS_BIND=f"127.0.0.1:{metrics_port}")  # fmt: skip
    env.setdefault("REFERRALS_ACTOR_KEYS", _actor_keys(var))
    if "REFERRALS_SIGNING_KEY" not in env:  # the PDFs' signature: this stack's own self-signed certificate
        env["REFERRALS_SIGNING_CERTIFICATE"], env["REFERRALS_SIGNING_KEY"] = _signing_certificate(var, env)

    provider = None
    if os.environ.get("OIDC", "") not in ("", "0"):  # make run OIDC=1: a real OpenID provider for the desk
        oidc_port = int(os.environ.get("REFERRALS_OIDC_PORT", "8090"))
        _check_port_free(oidc_port, "OpenID provider")
        print(f"devstack: starting the OpenID provider on 127.0.0.1:{oidc_port}", flush=True)
        with signals.deferred():
            provider, oidc_env = demo_oidc.start(var, api_url, oidc_port)
            stack.callback(lambda: (print("devstack: stopping the OpenID provider", flush=True), provider.stop()))
        env.update(oidc_env)

    print("devstack: applying migrations (alembic upgrade head)", flush=True)
    procs.run([sys.executable, "-m", "alembic", "upgrade", "head"], env=env, cwd=ROOT, what="alembic upgrade head")
    users = demo_users.ensure(var, env=env, cwd=ROOT, fresh_database=fresh)

    print("devstack: starting worker and API", flush=True)
    children = {"Temporal server": server_proc, "SMTP sink": smtp_proc}
    children["worker"] = _start_child(stack, "worker", [sys.executable, "-m", "referrals.worker"], env=env, cwd=ROOT)
    # --no-proxy-headers: only REFERRALS_TRUSTED_PROXIES may name the client's address (referrals/api/client_address.py).
    api_args = [sys.executable, "-m", "uvicorn", "--factory", "referrals.api.main:create_app", "--no-access-log",
                "--no-proxy-headers", "--host", "127.0.0.1", "--port", str(api_port)]  # fmt: skip
    children["API"] = _start_child(stack, "API", api_args, env=env, cwd=ROOT)
    _wait_healthy(f"{api_url}/healthz", children)

    published = _first_snapshot(api_url, users)
    extras = {
        "Public": f"{api_url}/public/ (no sign-in: the published figures; {published})",
        "UI direct": f"{ui_direct}/temporal/ (for operators: not behind the desk's sign-in)",
        "E-mail": f"{maildir / 'new'} (an SMTP sink on 127.0.0.1:{smtp_port})",
        "Metrics": f"{api_url}/metrics (API), http://127.0.0.1:{metrics_port}/metrics (worker)",
        "Stuck cases": f"REFERRALS_ENV=development DATABASE_URL='{database_url}' .venv/bin/referrals stuck",
        "PDFs": _pdf_line(env),
    }
    if provider is not None:
        extras["Provider"] = f'{provider.issuer} (OpenID; "Sign in with your department account" on the desk)'
    print(
        banner.render(
            api_url, ui_url, users, str(var), extras, demo_oidc.banner_rows() if provider is not None else None
        ),
        flush=True,
    )
    while True:
        _check_alive(children)
        time.sleep(0.5)


def _actor_keys(var: Path) -> str:
    """The key the API and the worker sign and check each step's actor with: this stack's own, made once and kept
    in var/ (readable by its owner alone), never the published development key."""
    path = var / "actor-keys"
    if not path.exists():
        path.touch(mode=0o600)
        path.write_text("make-run-1:" + base64.b64encode(os.urandom(32)).decode())
    return path.read_text().strip()


def _signing_certificate(var: Path, env: dict[str, str]) -> tuple[str, str]:
    """A self-signed certificate and its key, made once and kept in var/ (the key readable by its owner alone), in the
    policy's department's name, saying it is a development certificate."""
    certificate, key = var / "signing-certificate.pem", var / "signing-key.pem"
    if not (certificate.exists() and key.exists()):
        policy = load_policy(Path(env.get("REFERRALS_POLICY_FILE") or ROOT / "policy" / "chicago.toml"))
        certificate_pem, key_pem = development_certificate(policy.department)
        key.touch(mode=0o600)
        key.write_bytes(key_pem)
        certificate.write_bytes(certificate_pem)
    return str(certificate), str(key)


def _pdf_line(env: dict[str, str]) -> str:
    """Whether the worker makes each document's PDF, or why not (the case pages say so too)."""
    converter = env.get("REFERRALS_PDF_CONVERTER")
    if converter == "off":
        return "not made (REFERRALS_PDF_CONVERTER=off)"
    if not converter:
        try:
            find_libreoffice()
        except Unavailable as missing:
            return f"not made: {missing}"
    check = f".venv/bin/referrals documents verify FILE.pdf --trust {env.get('REFERRALS_SIGNING_CERTIFICATE')}"
    return f"every document also as a signed PDF ({converter or 'LibreOffice beside the worker'}); check one: {check}"


def main() -> int:
    signals.install()
    try:
        with ExitStack() as stack:
            try:
                _run(stack)
            except (StartupError, FileNotFoundError) as error:
                signals.ignore()
                print(f"devstack: {error}", file=sys.stderr, flush=True)
                return 1
    except signals.Shutdown:
        print("devstack: stopped", flush=True)
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
