"""PostgreSQL over TLS (README "Configuration", docs/operations.md "PostgreSQL over TLS"): DATABASE_URL with
sslmode=verify-full and sslrootcert works for the migrations, the API, the worker's startup and the CLI; a wrong CA, a
certificate for another host, or a server without TLS is refused at startup in one sentence naming the setting.

Debian's PostgreSQL (tests/support/debian_postgres.py: the embedded wheel's server is built without OpenSSL), three
throw-away servers for the module on localhost's TCP: `ssl = on` with a certificate for localhost and 127.0.0.1 from a CA
made here, `ssl = on` with one for db.test alone, and `ssl = off`."""

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import trustme
from structlog.testing import capture_logs

from referrals.api.main import create_app
from referrals.api.startup import StartupRefused
from referrals.config import ROOT, Settings
from referrals.store.database_tls import DatabaseTLSError, check_database
from tests.support import debian_postgres
from tests.support.keys import TEST_ACTOR_KEYS, TEST_KEYS

pytestmark = [
    pytest.mark.stack,
    pytest.mark.skipif(debian_postgres.binaries() is None, reason=debian_postgres.MISSING),
]

DATABASE = "referrals_tls"


class Servers:
    def __init__(self, directory: Path) -> None:
        ca, self.ca_file, self.other_ca_file = trustme.CA(), directory / "ca.pem", directory / "other-ca.pem"
        ca.cert_pem.write_to_path(self.ca_file)
        trustme.CA().cert_pem.write_to_path(self.other_ca_file)
        certificates = [_issue(ca, directory, "localhost", "127.0.0.1"), _issue(ca, directory, "db.test"), None]
        with ThreadPoolExecutor(len(certificates)) as pool:  # about a second each
            starting = [pool.submit(debian_postgres.start, tls=certificate) for certificate in certificates]
        self.started = [future.result() for future in starting if future.exception() is None]
        try:
            for future in starting:
                future.result()  # the first server that did not start, with its log
            self.server, self.other_host, self.plain = self.started
            self.server.create_database(DATABASE)
        except BaseException:
            self.close()
            raise

    def url(self, *, ca: Path | None = None, sslmode: str = "verify-full", other_host: bool = False) -> str:
        """To the server with `ssl = on` (its certificate for localhost, or with `other_host` for db.test alone)."""
        server = self.other_host if other_host else self.server
        return server.url(DATABASE, sslmode=sslmode, sslrootcert=str(ca or self.ca_file))

    def plain_url(self, sslmode: str = "require") -> str:
        """To the server with `ssl = off`."""
        return self.plain.url(DATABASE, sslmode=sslmode, sslrootcert=str(self.ca_file))

    def close(self) -> None:
        for server in self.started:
            server.stop()


def _issue(ca: trustme.CA, directory: Path, *names: str) -> tuple[Path, Path]:
    """A server certificate for `names` (PEM, the chain after it) and its key."""
    issued = ca.issue_cert(*names)
    certificate, key = directory / f"{names[0]}.pem", directory / f"{names[0]}.key"
    issued.private_key_pem.write_to_path(key)
    for i, pem in enumerate(issued.cert_chain_pems):
        pem.write_to_path(certificate, append=i > 0)
    return certificate, key


def run(database_url: str, *command: str) -> subprocess.CompletedProcess:
    """An entry point as operators run it (compose's migrate service, the CLI), in a process of its own."""
    env = {**os.environ, "DATABASE_URL": database_url, "REFERRALS_ENV": "test"}
    return subprocess.run(
        [sys.executable, "-m", *command], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    servers = Servers(tmp_path_factory.mktemp("pgtls"))
    try:
        migrated = run(servers.url(), "alembic", "upgrade", "head")  # as compose's migrate service and `make run` do
        assert migrated.returncode == 0, migrated.stderr
        yield servers
    finally:
        servers.close()


def settings_for(url: str, **more) -> Settings:
    return Settings(env="test", database_url=url, encryption_keys=TEST_KEYS, actor_keys=TEST_ACTOR_KEYS, **more)


def test_the_migrations_run_over_verify_full(tls):
    done = run(tls.url(), "alembic", "current")
    assert done.returncode == 0, done.stderr
    assert "(head)" in done.stdout


async def test_the_api_starts_and_reads_the_database_over_tls(tls, dev_server):
    settings = settings_for(tls.url(), temporal_address=dev_server.client.service_client.config.target_host)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as client:
            ready = await client.get("/readyz")  # a query on the pool's connection, over TLS
    assert ready.status_code == 200, ready.text


def test_the_workers_startup_check_passes_over_tls(tls):
    check_database(settings_for(tls.url()))  # as referrals.worker.main calls it, before Temporal


def test_a_cli_command_reads_the_database_over_tls(tls):
    done = run(tls.url(), "referrals.cli", "stuck", "--json")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_a_certificate_from_another_ca_is_refused_at_startup(tls):
    url = tls.url(ca=tls.other_ca_file)
    expected = (
        f"PostgreSQL's certificate is not signed by the CA in DATABASE_URL's sslrootcert ({tls.other_ca_file}): "
        "certificate verify failed"
    )
    with pytest.raises(DatabaseTLSError) as refused:
        check_database(settings_for(url))
    assert str(refused.value) == expected
    worker = run(url, "referrals.worker")  # refused before it reaches for Temporal
    assert (worker.returncode, worker.stderr.strip().splitlines()[-1]) == (1, f"worker: {expected}")
    cli = run(url, "referrals.cli", "stuck")
    assert (cli.returncode, cli.stderr.strip(), cli.stdout) == (2, f"referrals: {expected}", "")


def test_a_server_without_tls_is_refused_at_startup(tls):
    url = tls.plain_url()
    port = tls.plain.port
    expected = (
        f"DATABASE_URL asks for TLS (sslmode=require) but the PostgreSQL server at localhost:{port} does not offer it"
    )
    with pytest.raises(DatabaseTLSError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        check_database(settings_for(url))
    migrate = run(url, "alembic", "upgrade", "head")
    assert migrate.returncode != 0
    said = (migrate.stdout + migrate.stderr).strip()  # alembic's "FAILED: ..." (on stdout, as alembic prints it)
    assert said.splitlines()[-1] == f"FAILED: {expected}"
    assert "Traceback" not in said


async def test_the_api_refuses_to_start_in_one_sentence(tls):
    app = create_app(settings_for(tls.plain_url("verify-full")))
    with pytest.raises(StartupRefused, match="does not offer it"):
        async with app.router.lifespan_context(app):
            pass


def test_a_certificate_for_another_host_is_refused_at_startup(tls):
    with pytest.raises(DatabaseTLSError) as refused:
        check_database(settings_for(tls.url(other_host=True)))
    assert str(refused.value).startswith(
        f"PostgreSQL's certificate does not name the host in DATABASE_URL (localhost:{tls.other_host.port}): "
    )
    assert '"db.test"' in str(refused.value)


def test_a_missing_ca_file_is_named(tls, tmp_path):
    missing = tmp_path / "no-such-ca.pem"
    with pytest.raises(DatabaseTLSError, match=f"DATABASE_URL's sslrootcert \\({missing}\\) does not exist"):
        check_database(settings_for(tls.url(ca=missing)))


def test_in_production_a_database_on_another_machine_without_tls_is_warned_about_at_startup(tls):
    remote = settings_for("postgresql://referrals@db.invalid:5432/referrals").model_copy(update={"env": "production"})
    with capture_logs() as logged:
        check_database(remote)  # (nothing answers there: only a warning that it was not checked)
    warned = [entry for entry in logged if entry["event"] == "database_without_tls"]
    assert len(warned) == 1 and warned[0]["host"] == "db.invalid" and warned[0]["sslmode"] == "prefer", logged
    assert "sslmode=verify-full&sslrootcert=" in warned[0]["fix"]
    with capture_logs() as logged:
        check_database(settings_for(tls.url()).model_copy(update={"env": "production"}))  # verify-full: nothing said
    assert not [entry for entry in logged if entry["event"] == "database_without_tls"], logged
