"""Schemathesis runs every operation of the OpenAPI schema, with every check it has, over real HTTP to the app behind
uvicorn on loopback, each example with the token of the next role allowed to take it (officer, supervisor,
custodian, reviewer, command, liaison, auditor, admin, each their own user), so that every handler is reached past
its authorisation by each role it serves: no 5xx; every status code, content type, header and body is one the
schema documents; a request the schema forbids (a wrong type, an undeclared query parameter, a missing required
header) is refused; a method the path does not serve answers 405 with an `Allow` listing every method it does;
an operation that needs a token refuses a request without one; what was just made can be read, and what was
removed cannot.

The stateful phase then follows filings through the OpenAPI links from `POST /incidents` to the case's operations:
each run starts from a valid filing (Schemathesis would not choose the filing as a root itself, since it reads
`camera_id` as a reference to a resource nothing in the API creates) and chains steps on the case it made, with the
same checks on every answer.

`positive_data_acceptance` runs with 422 among the answers it accepts, and a check of our own says what a 422 to a
schema-valid request may be: a refusal by a rule the schema cannot state (a time that must not be in the future,
a camera that must be among the case's recordings, a statute that must be in the policy's catalogue, a name
required unless withheld), never one for the request's shape (a missing field, a wrong type, an over-long or blank
string, an unknown field), which would mean the schema and the validators disagree. The rules themselves are the
refusal tests' (tests/test_refusals.py, test_people.py, test_supplements.py).

A filing is then taken through the whole lifecycle as the schema describes it, an evidence upload and a supplement
included, every answer under every check; and the answers of each operation are counted (2xx, 4xx, 5xx, and how many
were 401, 403 or 429), written to var/fuzz-report.json: none may be 5xx, and no operation's answers may be mostly
refusals at the door.

The app and its worker run on a task queue of their own; the failed-authentication limit is raised so that the
cases which leave the token out do not lock the fuzzer out.
"""

import itertools
import json
import os
import re
import socket
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import asynccontextmanager

import hypothesis
import pydantic_core
import pytest
import requests
import schemathesis
import uvicorn
from hypothesis.stateful import initialize
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation.stateful.state_machine import StepInput

from referrals.api.main import create_app
from referrals.config import ROOT, Settings
from referrals.domain.permissions import allowed
from referrals.worker import build_worker
from tests.support.people import PEOPLE
from tests.support.routes import ROUTES
from tests.support.scenario import (
    ACK,
    APPROVE,
    DECLINED,
    FILING,
    HOLD_1,
    HOLD_2,
    IDENTIFIED,
    PHOTO,
    REFER,
    SUPPLEMENT,
    VICTIM,
    VIOLATIONS,
    dated,
)

# The coverage phase's boundary cases, then FUZZ_EXAMPLES generated requests per operation: 12 in the suite, more for
# a fuller run (`FUZZ_EXAMPLES=150 make test PYTEST_ARGS=tests/test_openapi_fuzz.py`). Reproducible: derandomized,
# and no example database written into the checkout.
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "12"))
CONFIG = {
    "generation": {"max-examples": EXAMPLES, "deterministic": True, "database": "none"},
    "suppress-health-check": ["too_slow", "filter_too_much", "data_too_large"],
    # Every check Schemathesis has (`-c all`).
    "checks": {
        "enabled": True,
        "positive_data_acceptance": {"enabled": True, "expected-statuses": ["2xx", "404", "409", "422"]},
    },
}
# Each operation is called in turn by every role that may take it, each with its own token: one user per role (the
# variations of tests/support/people.py, partners and people elsewhere, are the access tests').
ROLES = ["officer", "supervisor", "custodian", "reviewer", "commander", "liaison", "auditor", "admin"]


def openapi() -> dict:
    # The schema depends on no setting: an app that is never started describes it.
    return create_app(Settings(env="test", database_url="postgresql://unused")).openapi()


# FUZZ_SHARD=k/n: the k-th of n shares of the operations (every n-th, in the schema's order) and of the two chained
# tests below (the stateful phase, the longest, goes with the second share, whose operations take less), so that n
# processes fuzz at once: `make test` runs two, after the browser tests. Unset: everything.
SHARD = tuple(int(part) for part in os.environ["FUZZ_SHARD"].split("/")) if os.environ.get("FUZZ_SHARD") else (1, 1)


def in_share(index: int) -> bool:
    return index % SHARD[1] == SHARD[0] - 1


def shared(labels: list[str]) -> list[str]:
    return [label for i, label in enumerate(labels) if in_share(i)]


SPEC = openapi()
schema = schemathesis.openapi.from_dict(SPEC, config=schemathesis.Config.from_dict(CONFIG)).include(
    name=shared([f"{method.upper()} {path}" for path, methods in SPEC["paths"].items() for method in methods])
)


def callers(label: str) -> list[str]:
    """Everyone the operation allows, so requests get past authorisation: for one any signed-in user may call,
    everyone."""
    operation = ROUTES[tuple(label.split(" ", 1))]
    return [who for who in ROLES if operation is None or allowed(operation, PEOPLE[who][0])]


def caller(label: str) -> str:
    return callers(label)[0]


def _template(message: str) -> str:
    # A placeholder that starts the message is a word (`{field_type} should have`); others may be anything.
    pieces = re.split(r"(\{[^}]*\})", message)  # text, placeholder, text, ...
    return "".join(
        re.escape(piece) if i % 2 == 0 else (r"\w+" if i == 1 and not pieces[0] else ".*")
        for i, piece in enumerate(pieces)
    )


# Refusals for a request's shape: pydantic's own messages (all but those of our validators), and ours that state a
# shape the schema also states.
SHAPE = re.compile(
    "|".join(
        [
            _template(e["message_template_python"])
            for e in pydantic_core._pydantic_core.list_all_errors()
            if e["type"] not in ("value_error", "assertion_error")
        ]
        + [
            "unknown field",
            "unknown part.*",
            "not valid JSON at character .*",
            "must not contain NUL characters",
            "Message type .*",
            "Failed to parse .*",
            "must be (a|an) .*",
        ]
    ),
    re.DOTALL,
)


def refused_only_by_rules_the_schema_cannot_state(ctx, response, case) -> None:
    if response.status_code != 422 or case.meta is None or not case.meta.generation.mode.is_positive:
        return
    for detail in response.json()["error"]["details"] or []:
        assert not SHAPE.fullmatch(detail["message"]), (
            f"{case.operation.label} refused a schema-valid request for its shape: {detail}"
        )


class Fuzz:
    """Sends each case with a token; every other case that names a case names a real one."""

    def __init__(self, client: requests.Session, people):
        self.client = client
        self.people = people
        self.cases: dict[str, str] = {}
        self.turn = itertools.count()
        self.roles: dict[str, Iterator[str]] = {}
        self.answers: dict[str, Counter[str]] = defaultdict(Counter)  # by operation: 2xx, 4xx, 5xx, and auth

    def send(self, case) -> None:
        label = case.operation.label
        if "case_id" in (case.path_parameters or {}) and next(self.turn) % 2:
            case.path_parameters["case_id"] = self._case_for(label)
        who = next(self.roles.setdefault(label, itertools.cycle(callers(label))))
        # A case whose headers were made to break the schema (the token left out or malformed) is sent as made: a
        # token put back would make it valid, and its acceptance a false finding.
        tokened = case.meta is None or not case.meta.is_negative_at(ParameterLocation.HEADER)
        response = case.call_and_validate(
            base_url=self.client.base_url,
            session=self.client,
            headers=self.people.headers(who) if tokened else None,
            timeout=30,
            additional_checks=[refused_only_by_rules_the_schema_cannot_state],
        )
        self.count(label, response.status_code, tokened)

    def count(self, label: str, status: int, tokened: bool = True) -> None:
        """Every answer by its class; those at the door (401, 403, 429) apart, for the requests sent with a token
        and for those whose headers were made without one."""
        self.answers[label][f"{status // 100}xx"] += 1
        if status in (401, 403, 429):
            self.answers[label]["401/403/429" if tokened else "401/403/429 untokened"] += 1
        if not tokened:
            self.answers[label]["untokened"] += 1

    def report(self) -> dict[str, dict[str, int]]:
        return {label: dict(sorted(counts.items())) for label, counts in sorted(self.answers.items())}

    def _case_for(self, label: str) -> str:
        # One case per operation: a step that closes its case leaves the others open.
        if label not in self.cases:
            filed = self.client.post(
                f"{self.client.base_url}/incidents", json=FILING, headers=self.people.headers("officer")
            )
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
    own = settings.model_copy(
        update={
            "task_queue": f"referrals-fuzz-{uuid.uuid4()}",
            "smtp_url": None,
            "webhook_url": None,
            "auth_failures_per_minute": 1_000_000,
        }
    )
    with Server(with_worker(create_app(own), own)) as server, requests.Session() as session:
        session.base_url = server.base_url
        yield Fuzz(session, people)


@schema.parametrize()
def test_every_operation_answers_as_documented(case, fuzz):
    fuzz.send(case)


# The stateful phase: schema-valid steps only (their refusals by rules the schema cannot state are expected), and only
# the links the schema declares, not ones Schemathesis would infer from field names.
STATEFUL = {
    **CONFIG,
    "generation": {**CONFIG["generation"], "mode": "positive"},
    "phases": {"stateful": {"inference": {"algorithms": []}}},
}


@pytest.mark.skipif(not in_share(1), reason=f"in another share of the fuzzing (FUZZ_SHARD={SHARD[0]}/{SHARD[1]})")
def test_a_filing_is_followed_through_its_steps(fuzz):
    stateful = schemathesis.openapi.from_dict(openapi(), config=schemathesis.Config.from_dict(STATEFUL))
    machine = stateful.as_state_machine()
    filing = stateful["/incidents"]["POST"]
    answered: list[tuple[str, int]] = []

    class Lifecycle(machine):
        @initialize(target=machine.bundles["POST /incidents -> 201"])
        def file(self):
            case = filing.Case(body=FILING, media_type="application/json")
            self.recorder.record_case(case=case)
            return self.step(StepInput.initial(case))

        def get_call_kwargs(self, case):
            return {
                "base_url": fuzz.client.base_url,
                "session": fuzz.client,
                "headers": fuzz.people.headers(caller(case.operation.label)),
                "timeout": 30,
            }

        def after_call(self, response, case):
            answered.append((case.operation.label, response.status_code))

    Lifecycle.run(
        settings=hypothesis.settings(
            max_examples=30,
            stateful_step_count=8,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(hypothesis.HealthCheck),
        )
    )
    # The chain ran on the cases it filed: steps were taken on them, and read back.
    followed = {label for label, status in answered if label != "POST /incidents" and status in (200, 201)}
    # (Which of the case's reads the derandomized chain picks depends on what the answers put in its bundles: it
    # picked the events in one suite and not in another, and the case itself in one run of the suite and not in
    # another. Every read is fuzzed on its own above.)
    reads = {label for label in followed if label.startswith("GET /incidents/{case_id}")}
    assert reads, sorted(set(answered))
    assert any(label.startswith("POST /incidents/{case_id}/") for label in followed), sorted(set(answered))


# The lifecycle as the schema describes it, each answer under every check: a filing taken through each step of the
# lifecycle to the charging decision, an evidence upload and a supplement on the way, each step by its own role and
# each case read back. (The stateful phase above chains what it generates, which a step's rules mostly refuse.)
LIFECYCLE = [
    ("POST", "/incidents/{case_id}/footage-hold", "custodian", {"holds": [HOLD_1, HOLD_2]}),
    ("POST", "/incidents/{case_id}/supervisor-identification", "officer", IDENTIFIED),
    ("POST", "/incidents/{case_id}/violation-report", "officer", VIOLATIONS),
    ("POST", "/incidents/{case_id}/people", "officer", VICTIM),
    ("POST", "/incidents/{case_id}/evidence", "officer", None),  # the upload: multipart, below
    ("POST", "/incidents/{case_id}/supplements", "officer", SUPPLEMENT),
    ("POST", "/incidents/{case_id}/legal-review", "reviewer", REFER),
    ("POST", "/incidents/{case_id}/command-approval", "commander", APPROVE),
    ("POST", "/incidents/{case_id}/referral-acknowledgement", "liaison", ACK),
    ("POST", "/incidents/{case_id}/charging-decision", "liaison", DECLINED),
]
READS = ["/incidents/{case_id}", "/incidents/{case_id}/events", "/incidents/{case_id}/documents"]


@pytest.mark.skipif(not in_share(0), reason=f"in another share of the fuzzing (FUZZ_SHARD={SHARD[0]}/{SHARD[1]})")
def test_a_filing_is_taken_through_the_whole_lifecycle_under_every_check(fuzz):
    every = schemathesis.openapi.from_dict(openapi(), config=schemathesis.Config.from_dict(CONFIG))

    def call(method: str, path: str, who: str, **case) -> requests.Response:
        response = (
            every[path][method]
            .Case(**case)
            .call_and_validate(
                base_url=fuzz.client.base_url, session=fuzz.client, headers=fuzz.people.headers(who), timeout=30
            )
        )
        assert response.status_code in (200, 201), f"{method} {path} as {who}: {response.text}"
        return response

    cid = call("POST", "/incidents", "officer", body=dated(FILING), media_type="application/json").json()["id"]
    for method, path, who, body in LIFECYCLE:
        if body is None:
            sent = {"metadata": json.dumps(dated(PHOTO)), "file": b"\x89PNG\r\n\x1a\n a palm"}
            call(method, path, who, path_parameters={"case_id": cid}, body=sent, media_type="multipart/form-data")
        else:
            call(method, path, who, path_parameters={"case_id": cid}, body=dated(body), media_type="application/json")
        for read in READS:
            call("GET", read, "auditor", path_parameters={"case_id": cid})
    case = fuzz.client.get(f"{fuzz.client.base_url}/incidents/{cid}", headers=fuzz.people.headers("auditor")).json()
    assert case["stage"] == "closed" and len(case["evidence"]) == 1 and case["supplements"], case["stage"]


def test_each_operation_was_answered_mostly_past_authorisation_and_never_5xx(fuzz):
    """(After the operations' own tests, in the module's order.) The figures of a fuller run, `FUZZ_EXAMPLES=150`, are
    docs/operations.md's; each run writes them to var/fuzz-report.json."""
    report = fuzz.report()
    (ROOT / "var").mkdir(exist_ok=True)
    name = "fuzz-report.json" if SHARD == (1, 1) else f"fuzz-report-{SHARD[0]}-of-{SHARD[1]}.json"
    (ROOT / "var" / name).write_text(json.dumps({"examples": EXAMPLES, "operations": report}, indent=1))
    if not report:
        pytest.skip("no operation was fuzzed in this session")
    assert not [label for label, counts in report.items() if counts.get("5xx")]
    # Of the requests sent with a token: those made without one are refused at the door by design.
    answered = {label: sum(c.get(k, 0) for k in ("2xx", "3xx", "4xx", "5xx")) for label, c in report.items()}
    tokened = {label: answered[label] - c.get("untokened", 0) for label, c in report.items()}
    assert [label for label, c in report.items() if c.get("401/403/429", 0) * 2 > tokened[label]] == []
