"""What a person sees when the stack is slow or a response is lost: a 503 within the request deadline,
and sending the same request again with its Idempotency-Key does the work exactly once."""

import time
import uuid

import httpx

from referrals.api.main import create_app
from referrals.worker import build_worker
from tests.support.scenario import FILING, HOLD_1, HOLD_2, Driver


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
