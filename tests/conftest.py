"""Real parts for every tier: PostgreSQL (embedded wheel), the Temporal dev server, the worker, the API."""

import base64
import os
import uuid

import httpx
import pytest
from alembic import command
from alembic.config import Config
from temporalio.testing import WorkflowEnvironment

from referrals.api.main import create_app
from referrals.config import ROOT, Settings
from referrals.devstack import postgres, temporal
from referrals.domain import search_attributes as sa
from referrals.domain.case import IncidentInput, workflow_id_for
from referrals.domain.enums import Role
from referrals.domain.messages import Actor, IncidentFiling, NewUser
from referrals.domain.policy import Policy, load_policy
from referrals.store import users
from referrals.store.engine import async_engine, session_factory
from referrals.temporal_client import data_converter, signing
from referrals.worker import build_worker
from referrals.workflows.incident import IncidentWorkflow
from tests.receivers import SmtpSink, WebhookSink

pytest_plugins = ["tests.in_parallel"]  # `report`: the drills and benchmarks run at once

CHICAGO = load_policy(ROOT / "policy" / "chicago.toml")
FAST = ROOT / "tests" / "fast_policy.toml"
# The key the recorded histories under tests/histories/ were written with (fictional data: a test
# fixture, not a secret). Recording puts it first; otherwise a fresh key leads and it follows, as after
# a rotation, so the recorded histories still decrypt and replay.
HISTORY_KEY = "history-1:aGlzdG9yaWVzLXJlY29yZGVkLWZvci1yZXBsYXktMDE="
_FRESH = "test-1:" + base64.b64encode(os.urandom(32)).decode()
TEST_KEYS = f"{HISTORY_KEY},{_FRESH}" if os.environ.get("RECORD_HISTORIES") else f"{_FRESH},{HISTORY_KEY}"
# The steps' signing key (referrals/actor_assertions.py): the API's, the worker's and the test clients' own.
TEST_ACTOR_KEYS = "test-actor-1:" + base64.b64encode(os.urandom(32)).decode()
FILER = Actor(user_id="u-officer", name="P.O. Ana Ruiz", roles=[Role.OFFICER], district="010", star="12345")


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    server = postgres.start(tmp_path_factory.mktemp("pg") / "pgdata")
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
def settings(database_url, dev_server, smtp_sink, webhook_sink) -> Settings:
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


class People:
    """One user per role, plus the variations the visibility rules need; each with its token."""

    def __init__(self):
        self.tokens: dict[str, str] = {}
        self.ids: dict[str, str] = {}
        self.emails: dict[str, str] = {}

    def headers(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}


PEOPLE = {
    "officer": ([Role.OFFICER], "010", "12345"),
    "partner": ([Role.OFFICER], "010", "67890"),  # appears in the scenario's recordings
    "officer_elsewhere": ([Role.OFFICER], "010", "55555"),  # same district, not in the case
    "supervisor": ([Role.SUPERVISOR], "010", None),
    "supervisor_elsewhere": ([Role.SUPERVISOR], "012", None),
    "custodian": ([Role.EVIDENCE_CUSTODIAN], None, None),
    "reviewer": ([Role.LEGAL_REVIEWER], None, None),
    "commander": ([Role.COMMAND], None, None),
    "reviewer_commander": ([Role.LEGAL_REVIEWER, Role.COMMAND], None, None),
    "officer_commander": ([Role.OFFICER, Role.COMMAND], "010", "24680"),
    "liaison": ([Role.PROSECUTOR_LIAISON], None, None),
    "auditor": ([Role.AUDITOR], None, None),
    "admin": ([Role.ADMIN], None, None),
}


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
