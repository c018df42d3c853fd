"""Schemathesis runs every operation of the OpenAPI schema with a token of a role allowed to take it, over real
HTTP to the app behind uvicorn on loopback: no 5xx; every status code, content type, header and body is one the
schema documents; a request the schema forbids (a wrong type, an undeclared query parameter, a missing required
header) is refused; a method the path does not serve answers 405 with an `Allow` listing every method it does;
an operation that needs a token refuses a request without one; what was just made can be read, and what was
removed cannot.

Not enabled, and why: `positive_data_acceptance`. Rules the schema cannot state (a time that must not be in the
future, a name required unless withheld, charges required to refer) refuse some schema-valid bodies with 422 by
design; they are the refusal tests' (tests/test_refusals.py, test_people.py, test_supplements.py).

The app and its worker run on a task queue of their own; the failed-authentication limit is raised so that the
cases which leave the token out do not lock the fuzzer out.
"""

import itertools
import socket
import threading
import time
import uuid
from contextlib import asynccontextmanager

import pytest
import requests
import schemathesis
import uvicorn

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
        "ignored_auth": {"enabled": True},
        "use_after_free": {"enabled": True},
        "ensure_resource_availability": {"enabled": True},
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

    def __init__(self, client: requests.Session, people):
        self.client = client
        self.people = people
        self.cases: dict[str, str] = {}
        self.turn = itertools.count()

    def send(self, case) -> None:
        if "case_id" in (case.path_parameters or {}) and next(self.turn) % 2:
            case.path_parameters["case_id"] = self._case_for(case.operation.label)
        headers = self.people.headers(caller(case.operation.label))
        case.call_and_validate(base_url=self.client.base_url, session=self.client, headers=headers, timeout=30)

    def _case_for(self, label: str) -> str:
        # One case per operation: a step that closes its case leaves the others open.
        if label not in self.cases:
            filed = self.client.post(f"{self.client.base_url}/incidents", json=FILING,
                                     headers=self.people.headers("officer"))
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


class Server:
    """The app and its worker behind uvicorn on a loopback port, in a thread of its own: Schemathesis sends real
    HTTP requests, its own included (the checks that leave the token out or reuse a deleted resource)."""

    def __init__(self, app):
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        sock.close()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self):
        self.thread.start()
        for _ in range(300):
            if self.server.started:
                return self
            time.sleep(0.05)
        raise RuntimeError("the API did not start")

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(30)


@pytest.fixture(scope="module")
def fuzz(settings, people):
    own = settings.model_copy(update={"task_queue": f"referrals-fuzz-{uuid.uuid4()}", "smtp_url": None,
                                      "webhook_url": None, "auth_failures_per_minute": 1_000_000})
    with Server(with_worker(create_app(own), own)) as server, requests.Session() as session:
        session.base_url = server.base_url
        yield Fuzz(session, people)


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

