"""The service floor: the least a service with the product's parts can cost for the floor's lifecycle (the same
start and eight updates as bench/floor.py's), measured by bench/lifecycle.py beside the product and the Temporal
floor, on the same Temporal server and PostgreSQL server (in a database of its own), in the same run.

- An app: FastAPI under uvicorn with the API's settings (`--no-access-log --no-proxy-headers`, as bench/stack.py
  runs the product's), in a process of its own. Each endpoint authenticates its bearer token with one indexed
  query (the SHA-256 of the token in a table of token hashes, one token per role, the stack's own tokens), checks
  the role the step asks for, then sends the workflow update (the filing: update-with-start) and answers.
- A worker, in a process of its own, on a task queue of its own: `ServiceFloorWorkflow` (bench/floor.py), whose
  update handler runs one regular activity that inserts one row in one transaction (a single INSERT in autocommit:
  one statement, one transaction, one round trip), then answers.

No request body, payload codec, ORM, timers, search attributes or documents. Both processes talk to PostgreSQL
through psycopg 3 (the product's driver), each over a small pool of its own.

    python -m bench.service_floor worker   # what ServiceFloor.started runs; the app is `create_app` under uvicorn
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import psutil
import psycopg
from fastapi import FastAPI, HTTPException, Request
from psycopg import sql
from sqlalchemy.engine import make_url
from temporalio import activity
from temporalio.client import Client, WithStartWorkflowOperation
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.worker import Worker

from bench.floor import UPDATES, WRITE, ServiceFloorWorkflow
from referrals.config import ROOT
from referrals.devstack import procs

DATABASE = "service_floor"

# Who may send each update: the filer, then bench/people.py's people of each step (bench/lifecycle.py checks).
WHO = {
    "filing_recorded": "officer",
    "footage-hold": "custodian",
    "supervisor-identification": "officer",
    "violation-report": "officer",
    "legal-review": "reviewer",
    "command-approval": "commander",
    "referral-acknowledgement": "liaison",
    "charging-decision": "liaison",
}
assert tuple(WHO) == UPDATES

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS bearer_token (token_hash text NOT NULL, role text NOT NULL)",
    "CREATE UNIQUE INDEX IF NOT EXISTS bearer_token_hash ON bearer_token (token_hash)",
    "CREATE TABLE IF NOT EXISTS step_write (id bigserial PRIMARY KEY, workflow_id text NOT NULL, step text NOT NULL,"
    " written_at timestamptz NOT NULL DEFAULT now())",
)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def conninfo(database_url: str, dbname: str) -> str:
    """psycopg's connection string for database `dbname` on the server of a SQLAlchemy URL (the stack's)."""
    url = make_url(database_url)
    params: dict[str, str | int] = {"dbname": dbname}
    for key, value in (("user", url.username), ("password", url.password), ("host", url.host), ("port", url.port)):
        if value:
            params[key] = value
    for key, value in url.query.items():
        params[key] = value if isinstance(value, str) else value[-1]
    return psycopg.conninfo.make_conninfo(**params)


class Pool:
    """At most `size` autocommit connections, opened as needed and kept."""

    def __init__(self, dsn: str, size: int = 10) -> None:
        self.dsn = dsn
        self._idle: list[psycopg.AsyncConnection] = []
        self._gate = asyncio.Semaphore(size)

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[psycopg.AsyncConnection]:
        async with self._gate:
            conn = self._idle.pop() if self._idle else await psycopg.AsyncConnection.connect(self.dsn, autocommit=True)
            try:
                yield conn
            except BaseException:
                await conn.close()
                raise
            self._idle.append(conn)

    async def close(self) -> None:
        while self._idle:
            await self._idle.pop().close()


# --- the app


def create_app() -> FastAPI:
    """The service floor's API (uvicorn --factory), configured by SERVICE_FLOOR_{DATABASE,TEMPORAL,QUEUE}."""
    dsn, address, queue = (os.environ[f"SERVICE_FLOOR_{name}"] for name in ("DATABASE", "TEMPORAL", "QUEUE"))
    state: dict = {}

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        state["pool"] = Pool(dsn)
        state["temporal"] = await Client.connect(address)
        yield
        await state["pool"].close()

    app = FastAPI(lifespan=lifespan, openapi_url=None, docs_url=None, redoc_url=None)

    async def authenticate(request: Request, update: str) -> None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise HTTPException(401)
        async with state["pool"].connection() as conn:
            cursor = await conn.execute("SELECT role FROM bearer_token WHERE token_hash = %s", (token_hash(token),))
            row = await cursor.fetchone()
        if row is None:
            raise HTTPException(401)
        if row[0] != WHO[update]:
            raise HTTPException(403)

    @app.get("/healthz")
    async def healthz() -> dict:
        return {"ok": True}

    @app.post("/cases", status_code=201)
    async def file(request: Request) -> dict:
        await authenticate(request, UPDATES[0])
        case_id = f"{queue}-{uuid.uuid4().hex}"
        start = WithStartWorkflowOperation(
            ServiceFloorWorkflow.run, id=case_id, task_queue=queue, id_conflict_policy=WorkflowIDConflictPolicy.FAIL
        )
        done = await state["temporal"].execute_update_with_start_workflow(
            ServiceFloorWorkflow.step, UPDATES[0], start_workflow_operation=start
        )
        return {"id": case_id, "done": done}

    @app.post("/cases/{case_id}/{update}")
    async def step(case_id: str, update: str, request: Request) -> dict:
        if update not in WHO or update == UPDATES[0]:
            raise HTTPException(404)
        await authenticate(request, update)
        done = await state["temporal"].get_workflow_handle(case_id).execute_update(ServiceFloorWorkflow.step, update)
        return {"id": case_id, "done": done}

    return app


# --- the worker


class Writes:
    def __init__(self, pool: Pool) -> None:
        self.pool = pool

    @activity.defn(name=WRITE)
    async def write(self, workflow_id: str, step: str) -> None:
        async with self.pool.connection() as conn:
            await conn.execute("INSERT INTO step_write (workflow_id, step) VALUES (%s, %s)", (workflow_id, step))


async def run_worker() -> None:
    pool = Pool(os.environ["SERVICE_FLOOR_DATABASE"])
    client = await Client.connect(os.environ["SERVICE_FLOOR_TEMPORAL"])
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(signum, stop.set)
    worker = Worker(
        client,
        task_queue=os.environ["SERVICE_FLOOR_QUEUE"],
        workflows=[ServiceFloorWorkflow],
        activities=[Writes(pool).write],
    )
    async with worker:
        await stop.wait()
    await pool.close()


# --- started beside a stack


class ServiceFloor:
    """The app and the worker as processes of their own, on a database of their own on the stack's PostgreSQL
    server, with the stack's tokens seeded (the same token, the same role's name)."""

    def __init__(self, database_url: str, temporal_address: str, log_dir: Path) -> None:
        self.dsn = conninfo(database_url, DATABASE)
        self.temporal_address = temporal_address
        self.log_dir = log_dir
        self.queue = f"service-floor-{uuid.uuid4().hex[:8]}"
        self.port = procs.free_port()
        self._children: dict[str, subprocess.Popen] = {}
        self._server = conninfo(database_url, "postgres")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @classmethod
    @asynccontextmanager
    async def started(
        cls, database_url: str, temporal_address: str, tokens: dict[str, str], log_dir: Path | None = None
    ) -> AsyncIterator[ServiceFloor]:
        floor = cls(database_url, temporal_address, log_dir or Path(tempfile.mkdtemp(prefix="service-floor-")))
        try:
            await asyncio.to_thread(floor._create, tokens)
            floor._spawn("service-floor-worker", [sys.executable, "-m", "bench.service_floor", "worker"])
            await floor._start_app()
            yield floor
        finally:
            for proc in floor._children.values():
                procs.stop(proc)

    def pids(self) -> dict[str, int]:
        return {"app": self._children["service-floor-app"].pid, "worker": self._children["service-floor-worker"].pid}

    def rows(self, prefix: str) -> int:
        """Rows the worker wrote for the cases whose ids begin with `prefix`."""
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            row = conn.execute("SELECT count(*) FROM step_write WHERE workflow_id LIKE %s", (prefix + "%",)).fetchone()
        return row[0] if row else 0

    def _create(self, tokens: dict[str, str]) -> None:
        with psycopg.connect(self._server, autocommit=True) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)).fetchone():
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE)))
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            for statement in SCHEMA:
                conn.execute(statement)
            with conn.transaction():
                conn.execute("DELETE FROM bearer_token")
                for role, token in tokens.items():
                    conn.execute("INSERT INTO bearer_token VALUES (%s, %s)", (token_hash(token), role))
            conn.execute("ANALYZE bearer_token")

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen:
        env = dict(
            os.environ,
            PYTHONUNBUFFERED="1",
            SERVICE_FLOOR_DATABASE=self.dsn,
            SERVICE_FLOOR_TEMPORAL=self.temporal_address,
            SERVICE_FLOOR_QUEUE=self.queue,
        )
        self._children[name] = procs.spawn(args, env=env, cwd=ROOT, log_file=self.log_dir / f"{name}.log")
        return self._children[name]

    async def _start_app(self, timeout: float = 60.0) -> None:
        """uvicorn on a port chosen free; another process may take it meanwhile, then on another, twice at most."""
        for attempt in range(3):
            proc = self._spawn(
                "service-floor-app",
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "--factory",
                    "bench.service_floor:create_app",
                    "--no-access-log",
                    "--no-proxy-headers",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                ],
            )
            deadline = time.monotonic() + timeout
            async with httpx.AsyncClient(base_url=self.url) as http:
                while time.monotonic() < deadline and proc.poll() is None:
                    try:
                        if (await http.get("/healthz")).status_code == 200 and self._listening(proc):
                            return
                    except httpx.TransportError:
                        pass
                    await asyncio.sleep(0.1)
            procs.stop(proc)
            if attempt < 2:
                self.port = procs.free_port()
        raise RuntimeError(f"the service floor's app did not start; see {self.log_dir}")

    def _listening(self, proc: subprocess.Popen) -> bool:
        """Whether `proc` itself listens on the port (a process that took it meanwhile may answer there)."""
        try:
            connections = psutil.Process(proc.pid).net_connections("tcp")
        except psutil.NoSuchProcess:
            return False
        return any(c.laddr.port == self.port and c.status == psutil.CONN_LISTEN for c in connections)


if __name__ == "__main__":
    if sys.argv[1:] != ["worker"]:
        sys.exit("usage: python -m bench.service_floor worker")
    asyncio.run(run_worker())
