"""A whole stack of real processes in a temporary directory, for drills and benchmarks that break
its parts: PostgreSQL (embedded), the Temporal dev server on an on-disk SQLite file, an SMTP sink
(Maildir), the worker and the API (uvicorn), each one stoppable, killable and restartable.

    async with Stack.started() as stack:
        token = stack.tokens["custodian"]; stack.api_url; stack.kill_worker(); stack.start_worker()
"""

from __future__ import annotations

import asyncio
import json
import mailbox
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import psutil
from alembic import command
from alembic.config import Config

from referrals.config import ROOT
from referrals.devstack import postgres, procs, temporal
from referrals.domain.enums import Role
from referrals.domain.messages import NewUser
from referrals.store import users
from referrals.store.engine import async_engine, session_factory

# Who drives a lifecycle: the officer is the filer (and appears in the scenario's recordings).
PEOPLE = {
    "officer": ([Role.OFFICER], "010", "12345"),
    "supervisor": ([Role.SUPERVISOR], "010", None),
    "custodian": ([Role.EVIDENCE_CUSTODIAN], None, None),
    "reviewer": ([Role.LEGAL_REVIEWER], None, None),
    "commander": ([Role.COMMAND], None, None),
    "liaison": ([Role.PROSECUTOR_LIAISON], None, None),
    "auditor": ([Role.AUDITOR], None, None),
}


class PartExited(RuntimeError):
    """A part of the stack exited as it started (a port it was to listen on was taken meanwhile)."""


class Stack:
    def __init__(self, root: Path, request_timeout: float) -> None:
        self.root = root
        self.log_dir = root / "log"
        self.maildir = root / "mail"
        self.temporal_port, self.ui_port = procs.free_port(), procs.free_port()
        self.api_port, self.smtp_port = procs.free_port(), procs.free_port()
        self.request_timeout = request_timeout
        self.tokens: dict[str, str] = {}
        self.user_ids: dict[str, str] = {}
        self.database_url = ""
        self._pg = None
        self._children: dict[str, subprocess.Popen] = {}

    @classmethod
    @asynccontextmanager
    async def started(cls, request_timeout: float = 20.0):
        root = Path(tempfile.mkdtemp(prefix="referrals-stack-"))
        stack = cls(root, request_timeout)
        try:
            await stack._start()
            yield stack
        finally:
            stack._stop_all()
            shutil.rmtree(root, ignore_errors=True)

    @property
    def temporal_address(self) -> str:
        return f"127.0.0.1:{self.temporal_port}"

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    # --- the parts

    async def _start(self) -> None:
        self.start_database()
        self.database_url = postgres.ensure_database(self._pg, "referrals")
        config = Config(str(ROOT / "alembic.ini"))
        config.attributes["database_url"] = self.database_url
        await asyncio.to_thread(command.upgrade, config, "head")
        await self._create_people()
        await self._on_free_ports(self.start_temporal, "temporal_port", "ui_port")
        await self._on_free_ports(self._start_smtp, "smtp_port")
        self.start_worker()
        await self._on_free_ports(self.start_api, "api_port")

    async def _on_free_ports(self, start, *ports: str) -> None:
        """Start a part on ports chosen free beforehand. Between the choosing and the binding another process may
        take one (a stack started beside this one, a Temporal server's own ports), and the part then exits at
        once: it is started again on others, twice at most."""
        for attempt in range(3):
            try:
                return await start()
            except PartExited:
                if attempt == 2:
                    raise
                for port in ports:
                    setattr(self, port, procs.free_port())

    async def _start_smtp(self) -> None:
        proc = self._spawn(
            "smtp",
            [
                sys.executable,
                "-m",
                "aiosmtpd",
                "-n",
                "-l",
                f"127.0.0.1:{self.smtp_port}",
                "-c",
                "aiosmtpd.handlers.Mailbox",
                str(self.maildir),
            ],
        )
        await self._until_listening("smtp", proc, self.smtp_port)

    async def _until_listening(self, name: str, proc: subprocess.Popen, *ports: int, timeout: float = 60.0) -> None:
        """Until `proc` itself listens on `ports`: an answer on one of them may come from another process that
        took the port (another stack's server of the same kind)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:  # (the log's end in the message: the stack's folder goes with the stack)
                raise PartExited(f"the {name} exited (code {proc.returncode}), its log ending: {self._log_tail(name)}")
            try:
                listening = {
                    c.laddr.port
                    for c in psutil.Process(proc.pid).net_connections("tcp")
                    if c.status == psutil.CONN_LISTEN
                }
            except psutil.NoSuchProcess:
                listening = set()
            if listening >= set(ports):
                return
            await asyncio.sleep(0.1)
        raise TimeoutError(f"the {name} did not listen on {ports} within {timeout:.0f}s; see {self.log_dir}")

    async def start_api(self) -> None:
        proc = self._spawn(
            "api",
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                "referrals.api.main:create_app",
                "--no-access-log",
                "--no-proxy-headers",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.api_port),
            ],
        )
        await self._until_listening("api", proc, self.api_port)
        await self._until_healthy()

    def stop_api(self) -> None:
        procs.stop(self._children.pop("api"))

    def env(self) -> dict[str, str]:
        return dict(
            temporal.local_profile(os.environ, self.temporal_address, self.root / "temporal.toml"),
            PYTHONUNBUFFERED="1",
            REFERRALS_ENV="development",
            REFERRALS_LOG_FORMAT="json",
            DATABASE_URL=self.database_url,
            REFERRALS_PUBLIC_URL=self.api_url,
            REFERRALS_SMTP_URL=f"smtp://127.0.0.1:{self.smtp_port}",
            REFERRALS_REQUEST_TIMEOUT_SECONDS=str(self.request_timeout),
            # The drills and benchmarks measure the lifecycle, several stacks at once: no LibreOffice per worker (the
            # documents say their PDF is off) unless the environment names a converter for them.
            REFERRALS_PDF_CONVERTER=os.environ.get("REFERRALS_PDF_CONVERTER", "off"),
        )

    async def cli(self, *args: str) -> subprocess.CompletedProcess:
        """`referrals ARGS` against this stack, in a thread: its exit code, stdout and stderr as text."""
        return await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "referrals.cli", *args],
            env=self.env(),
            cwd=ROOT,
            capture_output=True,
            text=True,
        )

    def dump_database(self, path: Path) -> None:
        postgres.dump(self._pg, "referrals", path)

    def restore_database(self, path: Path) -> None:
        postgres.restore(self._pg, "referrals", path)

    async def rebuild(self) -> list[dict]:
        """`referrals rebuild --json` against this stack: one report per case."""
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "referrals.cli",
            "rebuild",
            "--json",
            cwd=ROOT,
            env=self.env(),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await proc.communicate()
        reports = [json.loads(line) for line in out.decode().splitlines() if line.startswith("{")]
        if proc.returncode not in (0, 1) or not reports and err:
            raise RuntimeError(f"referrals rebuild exited {proc.returncode}: {err.decode()[-2000:]}")
        return reports

    def start_database(self) -> None:
        self._pg = postgres.start(self.root / "pgdata")

    def stop_database(self) -> None:
        postgres.stop(self._pg)

    async def start_temporal(self) -> None:
        args = temporal.dev_server_args(self.temporal_port, self.ui_port, self.root / "temporal.db")
        proc = self._spawn("temporal", [str(temporal.binary("temporal")), *args])
        await self._until_listening("temporal", proc, self.temporal_port, self.ui_port)
        await temporal.wait_ready(self.temporal_address, timeout=60, proc=proc)

    def stop_temporal(self) -> None:
        procs.stop(self._children.pop("temporal"))

    def start_worker(self) -> None:
        self._spawn("worker", [sys.executable, "-m", "referrals.worker"])

    def kill_worker(self) -> None:
        """SIGKILL: no shutdown, running activities and workflow tasks simply vanish."""
        proc = self._children.pop("worker")
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()

    def log_entries(self, name: str) -> list[dict]:
        """A part's log lines that are JSON (structlog's, in production's format), in order."""
        entries = []
        for line in (self.log_dir / f"{name}.log").read_text(errors="replace").splitlines():
            if line.startswith("{"):
                try:
                    entries.append(json.loads(line))
                except ValueError:
                    continue
        return entries

    def running(self) -> list[str]:
        """The parts started as children that are running now (PostgreSQL aside)."""
        return sorted(name for name, proc in self._children.items() if proc.poll() is None)

    def pids(self) -> dict[str, int]:
        """The processes whose CPU and memory benchmarks report (PostgreSQL: its postmaster, whose
        children are the backends)."""
        return {
            **{name: self._children[name].pid for name in ("api", "worker", "temporal")},
            "postgres": self._pg.get_pid(),
        }

    def mail(self) -> list:
        if not (self.maildir / "new").exists():
            return []
        return list(mailbox.Maildir(self.maildir, create=False))

    def _log_tail(self, name: str, lines: int = 8) -> str:
        """The last lines of a part's log, on one line."""
        try:
            text = (self.log_dir / f"{name}.log").read_text(errors="replace")
        except OSError as error:
            return f"(no log: {error})"
        return " | ".join([line.strip() for line in text.splitlines() if line.strip()][-lines:]) or "(empty)"

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen:
        proc = procs.spawn(args, env=self.env(), cwd=ROOT, log_file=self.log_dir / f"{name}.log")
        self._children[name] = proc
        return proc

    async def _create_people(self) -> None:
        engine = async_engine(self.database_url)
        try:
            async with session_factory(engine)() as session:
                for who, (roles, district, star) in PEOPLE.items():
                    new = NewUser(
                        name=f"Drill {who}", email=f"{who}@drill.invalid", roles=roles, district=district, star=star
                    )
                    user, self.tokens[who] = await users.create_user(session, new)
                    self.user_ids[who] = user.id
        finally:
            await engine.dispose()

    async def _until_healthy(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(base_url=self.api_url) as http:
            while time.monotonic() < deadline:
                for name, proc in self._children.items():
                    if proc.poll() is not None:
                        raise RuntimeError(f"the {name} exited (code {proc.returncode}); see {self.log_dir}")
                try:
                    if (await http.get("/healthz")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.2)
        raise TimeoutError(f"the API did not answer within {timeout:.0f}s; see {self.log_dir}")

    def _stop_all(self) -> None:
        for name in ("api", "worker", "smtp", "temporal"):
            if name in self._children:
                procs.stop(self._children.pop(name))
        if self._pg is not None:
            postgres.stop(self._pg)
