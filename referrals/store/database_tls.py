"""PostgreSQL over TLS: one check at startup (the API, the worker, the migrations, the CLI's database commands), and
the warning a production deployment gets when DATABASE_URL reaches another machine without asking for TLS."""

import ipaddress
import os
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy import URL, make_url
from sqlalchemy.exc import OperationalError

from referrals.store.engine import sync_engine

if TYPE_CHECKING:
    from referrals.config import Settings


ASKS_TLS = ("require", "verify-ca", "verify-full")  # libpq's sslmodes that refuse a connection without TLS
ADD_TLS = "add ?sslmode=verify-full&sslrootcert=/path/to/ca.pem (the CA that signed PostgreSQL's certificate)"


class DatabaseTLSError(Exception):
    """DATABASE_URL asks for TLS and PostgreSQL cannot be reached that way: said in the operator's words."""


def _one(value: str | tuple[str, ...] | None) -> str | None:
    return value[-1] if isinstance(value, tuple) else value  # a repeated query parameter: libpq keeps the last


def _hosts(url: URL) -> list[str]:
    """The hosts the URL reaches, as libpq reads them: the URL's, else its `host` query parameter(s) (a list, or a
    Unix socket's directory); none: libpq's default Unix socket."""
    query = url.query.get("host")
    listed = [query] if isinstance(query, str) else list(query or ())
    named = [url.host] if url.host else [h for item in listed for h in item.split(",")]
    return [h.strip() for h in named if h.strip()]


def _stays_on_this_machine(host: str) -> bool:
    if host.startswith(("/", "@")):  # a Unix socket's directory (or an abstract one)
        return True
    name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host  # host:port from a `host=` list
    name = name.strip("[]")
    if name.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def tls_missing(database_url: str, pgsslmode: str | None = None) -> dict[str, str] | None:
    """What a production deployment is told when DATABASE_URL reaches PostgreSQL on another machine without asking
    for TLS (no sslmode, or disable, allow or prefer: libpq then sends the password and every row in the clear to
    whoever is in between): the host(s) and what to add. None when the URL asks for TLS, or stays on this machine
    (loopback, a Unix socket). `pgsslmode`: libpq's PGSSLMODE, used when the URL names no sslmode."""
    url = make_url(database_url)
    sslmode = _one(url.query.get("sslmode")) or pgsslmode or "prefer"
    if sslmode in ASKS_TLS:
        return None
    remote = [h for h in _hosts(url) if not _stays_on_this_machine(h)]
    if not remote:
        return None
    return {"host": ", ".join(remote), "sslmode": sslmode, "fix": f"DATABASE_URL: {ADD_TLS}"}


def _tls_problem(error: str, url: URL, sslmode: str) -> str | None:
    """libpq's refusal (`error`) in the operator's words, when it is about TLS; None when it is not."""
    hosts = _hosts(url) or ["the local Unix socket"]
    where = f"{hosts[0]}:{url.port or 5432}" if not hosts[0].startswith(("/", "@", "the ")) else hosts[0]
    rootcert = _one(url.query.get("sslrootcert")) or os.environ.get("PGSSLROOTCERT")
    lines = [line.strip() for line in error.splitlines() if line.strip()]
    reason = next((line.split(" failed: ", 1)[-1] for line in lines if "SSL" in line or "certificate" in line), "")
    if "server does not support SSL" in error:
        return f"DATABASE_URL asks for TLS (sslmode={sslmode}) but the PostgreSQL server at {where} does not offer it"
    if "does not match host name" in error:
        return (
            f"PostgreSQL's certificate does not name the host in DATABASE_URL ({where}): {reason}; connect by a name "
            "the certificate holds (sslmode=verify-full checks it)"
        )
    if "certificate verify failed" in error:
        return (
            f"PostgreSQL's certificate is not signed by the CA in DATABASE_URL's sslrootcert "
            f"({rootcert or '~/.postgresql/root.crt, libpq default'}): certificate verify failed"
        )
    if "root certificate file" in error and "does not exist" in error:
        if rootcert is None:
            return f"DATABASE_URL asks for sslmode={sslmode} but names no CA: {ADD_TLS.removeprefix('add ?')}"
        return f"DATABASE_URL's sslrootcert ({rootcert}) does not exist"
    if "root certificate" in error or "SSL" in error or "certificate" in error:
        return f"DATABASE_URL asks for TLS (sslmode={sslmode}) and it failed with PostgreSQL at {where}: {reason}"
    return None


def check_database(settings: "Settings", log: Any = None) -> None:
    """At startup (the API's lifespan, the worker, `alembic upgrade`, the CLI's database commands): in production, a
    warning (`database_without_tls`) when DATABASE_URL reaches another machine without TLS; then one connection made
    as the engines make theirs, and DatabaseTLSError, saying what to fix, when the URL asks for TLS (sslmode=require,
    verify-ca, verify-full) and PostgreSQL cannot be reached that way: no TLS offered, a certificate the CA in
    sslrootcert did not sign, or one for another host name. PostgreSQL merely down is not refused here (the API
    starts and answers /readyz without it, the worker retries its activities): a warning, `database_not_checked`."""
    log = log or structlog.get_logger()
    if settings.env == "production" and (missing := tls_missing(settings.database_url, os.environ.get("PGSSLMODE"))):
        log.warning("database_without_tls", **missing)
    url = make_url(settings.database_url)
    sslmode = _one(url.query.get("sslmode")) or os.environ.get("PGSSLMODE") or "prefer"
    engine = sync_engine(settings.database_url)
    try:
        with engine.connect():
            pass
    except OperationalError as exc:
        error = str(exc.orig)
        if sslmode in ASKS_TLS and (problem := _tls_problem(error, url, sslmode)):
            raise DatabaseTLSError(problem) from None
        log.warning("database_not_checked", error=error.strip().splitlines()[-1] if error.strip() else "")
    finally:
        engine.dispose()
