"""Schemathesis runs every operation of the OpenAPI schema with a token of a role allowed to take it: no 5xx;
every status code, content type, header and body is one the schema documents; a request the schema
forbids (a wrong type, an undeclared query parameter, a missing required header) is refused; and a
method the path does not serve answers 405 with an `Allow` listing every method it does.

Not enabled, and why: `positive_data_acceptance` (rules the schema cannot state, such as a time that must not
be in the future or a name required unless withheld, refuse schema-valid bodies with 422 by design), and
the checks that send requests of their own outside this in-process client (`ignored_auth`,
`use_after_free`, `ensure_resource_availability`): tests/test_access.py covers authentication and roles.

The app under test is an instance of its own, with a worker on its own task queue, both in the event loop
Schemathesis runs ASGI apps in; its failed-authentication limit is raised so that the cases which leave the
token out do not lock the fuzzer out.
"""

import itertools
import uuid
from contextlib import asynccontextmanager

import pytest
import schemathesis
from schemathesis.python.asgi import ASGIClient, shutdown_lifespans

from api.main import create_app
from config import Settings
from domain.permissions import allowed
from tests.conftest import PEOPLE
from tests.scenario import FILING
from tests.test_access import ROUTES
from worker import build_worker

# About 4,000 requests: the coverage phase's boundary cases, then 150 generated ones per operation. Reproducible:
# derandomized, and no example database written into the checkout.
CONFIG = {
    "generation": {"max-examples": 30, "deterministic": True, "database": "none"},
    "suppress-health-check": ["too_slow", "filter_too_much", "data_too_large"],
    "checks": {
        "enabled": False,
        "not_a_server_error": {"enabled": True},
        "status_code_conformance": {"enabled": True},
        "content_type_conformance": {"enabled": True},
        "response_schema_conformance": {"enabled": True},
        "response_headers_conformance": {"enabled": True},
        "negative_data_rejection": {"enabled": True},
        "unsupported_method": {"enabled": True},
        "missing_required_header": {"enabled": True},
    },
}


def openapi() -> dict:
    # The schema depends on no setting: an app that is never started describes it.
    return create_app(Settings(env="test", database_url="postgresql://unused")).openapi()


schema = schemathesis.openapi.from_dict(openapi(), config=schemathesis.Config.from_dict(CONFIG))


def caller(label: str) -> str:
    """Someone the operation allows, so requests get past authorisation; for the rest, who sees every case."""
    operation = ROUTES[tuple(label.split(" ", 1))]
    if operation is None:
        return "auditor"
    return next(who for who, (roles, _, _) in PEOPLE.items() if allowed(operation, roles))


class Fuzz:
    """Sends each case with a token; every other case that names a case names a real one."""

    def __init__(self, client: ASGIClient, people):
        self.client = client
        self.people = people
        self.cases: dict[str, str] = {}
        self.turn = itertools.count()

    def send(self, case) -> None:
        if "case_id" in (case.path_parameters or {}) and next(self.turn) % 2:
            case.path_parameters["case_id"] = self._case_for(case.operation.label)
        headers = self.people.headers(caller(case.operation.label))
        case.call_and_validate(base_url=self.client.base_url, session=self.client, headers=headers)

    def _case_for(self, label: str) -> str:
        # One case per operation: a step that closes its case leaves the others open.
        if label not in self.cases:
            filed = self.client.post("/incidents", json=FILING, headers=self.people.headers("officer"))
            assert filed.status_code == 201, filed.text
            self.cases[label] = filed.json()["id"]
        return self.cases[label]


def with_worker(app, settings):
    serve = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app):
        async with serve(app), build_worker(app.state.temporal, settings, app.state.sessions):
            yield

    app.router.lifespan_context = lifespan
    return app


@pytest.fixture(scope="module")
def fuzz(settings, people):
    own = settings.model_copy(update={"task_queue": f"referrals-fuzz-{uuid.uuid4()}", "smtp_url": None,
                                      "webhook_url": None, "auth_failures_per_minute": 1_000_000})
    with ASGIClient(with_worker(create_app(own), own)) as client:
        yield Fuzz(client, people)
    shutdown_lifespans()  # the app and its worker stop before the session's PostgreSQL and Temporal do


@schema.parametrize()
def test_every_operation_answers_as_documented(case, fuzz):
    fuzz.send(case)


def test_every_error_is_documented_with_the_one_error_shape():
    spec = openapi()
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if status[0] in "45":
                    assert response["content"]["application/json"]["schema"] == {
                        "$ref": "#/components/schemas/ErrorOut"}, (method, path, status)

