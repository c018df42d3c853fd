"""What a person sees when the stack is slow or a response is lost: a 503 within the request deadline,
and sending the same request again with its Idempotency-Key does the work exactly once."""

import time
import uuid

import httpx
from sqlalchemy import text

from referrals.api.main import create_app
from referrals.domain.case import workflow_id_for
from referrals.domain.steps import STEPS
from referrals.worker import build_worker
from tests.support.in_process import api_on
from tests.support.scenario import (
    ACK,
    APPROVE,
    DECLINED,
    FILING,
    HOLD_1,
    HOLD_2,
    IDENTIFIED,
    REFER,
    VIOLATIONS,
    Driver,
    dated,
)
from tests.support.waiting import handed_on


async def test_without_a_worker_a_filing_answers_503_in_time_and_a_retry_finds_the_case(
    settings, dev_server, sessions, people
):
    lonely = settings.model_copy(update={"task_queue": f"no-worker-{uuid.uuid4()}", "request_timeout_seconds": 2})
    app = create_app(lonely)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as api:
            headers = {**people.headers("officer"), "Idempotency-Key": f"late-{uuid.uuid4()}"}
            started = time.monotonic()
            late = await api.post("/incidents", json=FILING, headers=headers)
            assert time.monotonic() - started < 5
            assert late.status_code == 503, late.text
            assert late.json()["error"]["code"] == "unavailable"
            assert "Idempotency-Key" in late.json()["error"]["message"]
            assert late.headers["retry-after"] == "5"

            # The workflow was started and waits; once a worker serves it, the same request finds it.
            async with build_worker(dev_server.client, lonely, sessions):
                again = await api.post("/incidents", json=FILING, headers=headers)
                assert again.status_code in (200, 201), again.text
                case_id = again.json()["id"]
                once_more = await api.post("/incidents", json=FILING, headers=headers)
                assert once_more.status_code == 200 and once_more.json()["id"] == case_id
                events = await Driver(api, people).events(case_id)
                assert [e["kind"] for e in events["items"]].count("case_filed") == 1


async def test_a_step_sent_twice_with_one_key_happens_once(api, people):
    d = Driver(api, people)
    cid = (await d.new_case())["id"]
    key = {"Idempotency-Key": f"hold-{uuid.uuid4()}"}
    body = {"holds": [HOLD_1]}
    first = await api.post(f"/incidents/{cid}/footage-hold", json=body, headers={**people.headers("custodian"), **key})
    second = await api.post(f"/incidents/{cid}/footage-hold", json=body, headers={**people.headers("custodian"), **key})
    assert first.status_code == second.status_code == 200, second.text
    assert first.json()["recordings"] == second.json()["recordings"]
    kinds = [e["kind"] for e in (await d.events(cid))["items"]]
    assert kinds.count("footage_hold_confirmed") == 1

    # The same key with another body is another request, judged on its own.
    other = await api.post(
        f"/incidents/{cid}/footage-hold",
        json={"holds": [HOLD_1, HOLD_2]},
        headers={**people.headers("custodian"), **key},
    )
    assert other.status_code in (200, 409), other.text
    # Without a key, sending the same step twice is two requests: the second finds the hold already there.
    plain = await d.step(cid, "footage-hold", "custodian", body)
    assert plain.status_code == 409, plain.text


async def test_a_step_sent_again_after_its_case_continued_as_new_is_answered_as_the_first_time(
    api, people, dev_server, sessions, settings
):
    """Temporal de-duplicates a run's own updates only. A step whose answer was lost, sent again with its key once the
    case has handed itself on to a new run (a low threshold: 40 history events), or once it has closed, is answered
    200 with the case as stored, and happens once. Another body under the key, or another person, is judged anew."""
    async with api_on(settings.model_copy(update={"continue_after_events": 40})) as low:
        d = Driver(low, people)
        cid = (await d.new_case())["id"]
        handle = dev_server.client.get_workflow_handle(workflow_id_for(cid))
        first_run = (await handle.describe()).run_id
        hold = {"holds": [HOLD_1, HOLD_2]}
        key = {"Idempotency-Key": f"hold-{uuid.uuid4()}"}
        first = await low.post(
            f"/incidents/{cid}/footage-hold", json=hold, headers={**people.headers("custodian"), **key}
        )
        assert first.status_code == 200, first.text
        steps = [
            ("supervisor-identification", "officer", IDENTIFIED),
            ("violation-report", "officer", VIOLATIONS),
            ("legal-review", "reviewer", REFER),
            ("command-approval", "commander", APPROVE),
            ("referral-acknowledgement", "liaison", ACK),
        ]
        for path, who, body in steps:
            await d.ok(cid, path, who, body)
        await d.settled(cid)
        await handed_on(handle, first_run)  # past its threshold, once quiet for its quiet period

        again = await low.post(
            f"/incidents/{cid}/footage-hold", json=hold, headers={**people.headers("custodian"), **key}
        )
        assert again.status_code == 200, again.text
        assert again.json()["id"] == cid and again.json()["stage"] == "prosecution"
        assert again.json()["recordings"] == first.json()["recordings"]
        # Under the key, another body is another request: the footage is held already (409), nothing recorded.
        other = await low.post(
            f"/incidents/{cid}/footage-hold", json={"holds": [HOLD_1]}, headers={**people.headers("custodian"), **key}
        )
        assert other.status_code == 409, other.text

        # The closing step, sent again once the case has closed and its workflow completed: 200, not "closed".
        closing = dated(DECLINED)
        key = {"Idempotency-Key": f"decline-{uuid.uuid4()}"}
        ended = await low.post(
            f"/incidents/{cid}/charging-decision", json=closing, headers={**people.headers("liaison"), **key}
        )
        assert ended.status_code == 200 and ended.json()["stage"] == "closed", ended.text
        await handle.result()
        retried = await low.post(
            f"/incidents/{cid}/charging-decision", json=closing, headers={**people.headers("liaison"), **key}
        )
        assert retried.status_code == 200 and retried.json() == ended.json() | {
            "documents": retried.json()["documents"]
        }
        # The same key and body from someone else is their own request: the case is closed.
        stranger = await low.post(
            f"/incidents/{cid}/charging-decision", json=closing, headers={**people.headers("commander"), **key}
        )
        assert stranger.status_code in (403, 409), stranger.text

    kinds = [e["kind"] for e in (await Driver(api, people).settled(cid))["items"]]
    assert kinds.count("footage_hold_confirmed") == 1 and kinds.count("charging_decided") == 1
    async with sessions() as s:
        recorded = (
            await s.exec(
                text("SELECT kind FROM case_event WHERE case_id = :c AND update_id IS NOT NULL ORDER BY seq"),
                params={"c": cid},
            )
        ).all()
    # Each person's step names its update; the system's events (stages, documents) none.
    assert [k for (k,) in recorded] == [e for e in kinds if e in {spec.event for spec in STEPS}]


async def test_database_errors_say_whether_the_database_is_away_or_we_are_at_fault():
    """Connection lost or no pooled connection in time: 503, retry. Any other database error is a bug:
    500 in the error shape (the fuzz test makes sure the API has none), never a misleading 503."""
    import psycopg
    from fastapi import FastAPI
    from sqlalchemy.exc import DataError, InterfaceError, OperationalError
    from sqlalchemy.exc import TimeoutError as PoolTimeoutError

    from referrals.api import errors

    raised = {
        "/lost": OperationalError("SELECT 1", {}, psycopg.OperationalError("terminating connection")),
        "/closed": InterfaceError("SELECT 1", {}, psycopg.InterfaceError("connection already closed")),
        "/pool": PoolTimeoutError("QueuePool limit of size 10 overflow 10 reached"),
        "/bug": DataError("SELECT 1", {}, psycopg.DataError("integer out of range")),
    }

    def raising(exc: Exception):
        def route():
            raise exc

        return route

    app = FastAPI()
    errors.install(app)
    for path, exc in raised.items():
        app.add_api_route(path, raising(exc))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as client:
        for path, (status, code) in {
            "/lost": (503, "unavailable"),
            "/closed": (503, "unavailable"),
            "/pool": (503, "unavailable"),
            "/bug": (500, "internal"),
        }.items():
            response = await client.get(path)
            assert (response.status_code, response.json()["error"]["code"]) == (status, code), path
            # An outage says when to try again; a fault of ours does not pretend to be one.
            assert response.headers.get("retry-after") == ("5" if status == 503 else None), path
