"""What Prometheus scrapes and what the log lines say, after real lifecycles: the worker's endpoint (the
Temporal SDK's metrics and the product's) and the API's /metrics (request latency by route, cases by stage,
open escalations), on a worker and an API of their own."""

import json
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from referrals import logs
from referrals.api.main import create_app
from referrals.devstack.procs import free_port
from referrals.domain.case import workflow_id_for
from referrals.observability.worker_metrics import prometheus_runtime
from referrals.temporal_client import connect
from referrals.worker import build_worker
from tests.support.scenario import IDENTIFIED, Driver, recorded_at
from tests.support.waiting import until

# Unflagged footage from four months ago: past its purge date at filing, so the hold escalates at once and
# notifies people by inbox, e-mail and webhook.
PURGED = recorded_at(datetime.now(UTC).replace(microsecond=0) - timedelta(days=120), flags=[])


@pytest.fixture(scope="module")
async def metered(settings, sessions):
    """A worker whose Temporal runtime serves Prometheus on a free port, and an API, on a task queue of
    their own; JSON log lines, as in production."""
    own = settings.model_copy(
        update={
            "task_queue": f"metrics-{uuid.uuid4()}",
            "log_format": "json",
            "worker_metrics_bind": f"127.0.0.1:{free_port()}",
        }
    )
    client = await connect(own, runtime=prometheus_runtime(own.worker_metrics_bind))
    app = create_app(own)
    async with build_worker(client, own, sessions), app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as api:
            yield api, f"http://{own.worker_metrics_bind}/metrics"
    logs.configure(settings.effective_log_format, settings.log_level)


def samples(text: str) -> list[tuple[str, dict[str, str], float]]:
    return [(s.name, s.labels, s.value) for family in text_string_to_metric_families(text) for s in family.samples]


def value(found: list, name: str, **labels: str) -> float:
    """The sum of the samples of that name whose labels include these."""
    return sum(v for n, sample_labels, v in found if n == name and labels.items() <= sample_labels.items())


async def scrape(url: str, api: httpx.AsyncClient | None = None) -> tuple[str, list]:
    if api is None:
        async with httpx.AsyncClient() as outside:
            response = await outside.get(url)
    else:
        response = await api.get(url)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    return response.text, samples(response.text)


async def test_a_lifecycle_shows_on_the_worker_and_api_endpoints(metered, people, dev_server):
    api, worker_url = metered
    d = Driver(api, people)
    case = await d.new_case(body=PURGED)
    cid, number = case["id"], case["case_number"]
    assert case["purge_warnings"]

    async def escalated():
        return (await d.get(cid)).json()["tasks"]["footage_hold"]["escalation_level"] == 3

    await until(escalated)
    _, found = await scrape("/metrics", api)  # no token: Prometheus scrapes it
    assert value(found, "referrals_open_escalations", task="footage_hold", level="3") >= 1
    assert value(found, "referrals_cases", stage="investigation") >= 1

    await d.refer_to_the_end(cid)

    await d.decline_charges(cid)
    await dev_server.client.get_workflow_handle(workflow_id_for(cid)).result()  # after its last delivery

    text, found = await scrape("/metrics", api)
    assert value(found, "referrals_database_up") == 1
    assert value(found, "referrals_cases", stage="closed") >= 1
    assert {labels["stage"] for name, labels, _ in found if name == "referrals_cases"} == {
        "investigation",
        "legal_review",
        "command_approval",
        "referral",
        "prosecution",
        "closed",
    }
    assert (
        value(
            found,
            "referrals_http_request_duration_seconds_count",
            route="/incidents/{case_id}/footage-hold",
            method="POST",
            status="200",
        )
        >= 1
    )
    assert (
        value(found, "referrals_http_request_duration_seconds_count", route="/incidents", method="POST", status="201")
        >= 1
    )
    assert value(found, "process_resident_memory_bytes") > 0
    assert cid not in text and number not in text  # templates and counts, never a case

    text, found = await scrape(worker_url)
    # The Temporal SDK's own metrics (the parser names every counter's samples *_total)...
    assert value(found, "temporal_workflow_completed_total", workflow_type="IncidentWorkflow") >= 1
    # One write per step: the filing, the steps, each document's record.
    assert value(found, "temporal_activity_execution_latency_count", activity_type="persist_case_events") >= 7
    # ... and the product's, on the same endpoint (the document maker's among them).
    assert value(found, "referrals_document_render_seconds_count", kind="referral_packet") >= 1
    assert 0 < value(found, "referrals_document_render_seconds_sum", kind="referral_packet") < 15  # seconds
    for channel in ("inbox", "email", "webhook"):
        assert value(found, "referrals_notifications_total", channel=channel, kind="escalation", outcome="sent") >= 1
    assert value(found, "referrals_notifications_total", channel="email", kind="referral_packet", outcome="sent") >= 1
    assert value(found, "referrals_notifications_total", outcome="failed") == 0
    assert cid not in text and number not in text


async def test_log_lines_carry_the_case_number_workflow_id_and_run_id(metered, people, dev_server, capsys):
    api, _ = metered
    d = Driver(api, people)
    case = await d.new_case()
    cid, number = case["id"], case["case_number"]
    await d.ok(cid, "supervisor-identification", "officer", IDENTIFIED)
    run_id = (await dev_server.client.get_workflow_handle(workflow_id_for(cid)).describe()).run_id
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    stored = [line for line in lines if line["event"] == "case_events_stored" and line["case_id"] == cid]
    assert stored
    for line in stored:  # the worker's
        assert (line["case_number"], line["workflow_id"], line["run_id"], line["activity"]) == (
            number,
            f"incident-{cid}",
            run_id,
            "persist_case_events",
        )
    steps = [line for line in lines if line["event"] == "request" and line.get("case_id") == cid]  # the API's
    assert {(line["route"], line["case_number"], line["workflow_id"]) for line in steps} >= {
        ("/incidents", number, f"incident-{cid}"),
        ("/incidents/{case_id}/supervisor-identification", number, f"incident-{cid}"),
    }


async def test_a_scrape_answers_while_the_database_is_down(settings, worker):
    nowhere = f"postgresql+psycopg://referrals@127.0.0.1:{free_port()}/referrals"
    app = create_app(settings.model_copy(update={"database_url": nowhere}))
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as api:
            assert (await api.get("/healthz")).status_code == 200
            _, found = await scrape("/metrics", api)
    assert value(found, "referrals_database_up") == 0
    assert not any(name == "referrals_cases" for name, _, _ in found)
    assert value(found, "referrals_http_request_duration_seconds_count", route="/healthz") == 1
