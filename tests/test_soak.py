"""The soak of bench/soak.py, scaled down: people at work through the API and the desk while the worker is killed
twice and PostgreSQL restarted once. Nothing is lost or doubled, every chain holds, and the only server errors are
well-formed 503s with Retry-After while a part was down."""

import pytest

from bench import soak

RUNS = {  # eight people for 35 seconds; the full soak is fifty for ten minutes (docs/performance.md)
    "soak": lambda: soak.soak(users=8, seconds=35, outage=4.0, seed=17, think=1.5, request_timeout=20.0),
}


@pytest.mark.stack_run("soak")
async def test_people_at_work_through_a_killed_worker_and_a_restarted_database_lose_and_double_nothing(report):
    assert [f["fault"] for f in report["faults"]] == ["worker killed", "postgres stopped", "worker killed"]
    assert report["stopped_people"] == []  # nobody's work was cut short by an answer they could not act on
    api = report["api"]
    # Everyone did something, all through the faults: lifecycles, uploads, searches, desk pages, public reads.
    answered = api["statuses_by_operation"]
    for operation in ("charging-decision", "cases search", "desk case page", "public figures"):
        assert answered[operation].get("200", 0) > 0, (operation, answered.get(operation))
    for operation in ("file", "evidence upload"):
        assert answered[operation].get("201", 0) > 0, (operation, answered.get(operation))
    # The outage was met (503s told people to come back), and every server error was such a 503, inside a fault.
    assert api["server_errors_well_formed_503_during_outages"] > 0
    assert api["outside_outages"] == []
    assert api["cut_off_outside_faults"] == []  # no request went unanswered while every part was up
    data = report["data"]
    assert data["lifecycles_completed"] > 0 and data["uploads_answered"] > 0
    for nothing in (
        "cases_lost",
        "cases_duplicated",
        "lifecycles_not_as_expected",
        "uploads_lost",
        "uploads_doubled",
        "documents_missing_or_not_as_hashed",
        "documents_doubled",
        "duplicate_emails",
    ):
        assert not data[nothing], (nothing, data[nothing])
    for check in ("audit_verify", "access_log_verify", "evidence_verify"):
        assert data[check]["exit"] == 0, data[check]
    assert data["audit_verify"]["said"].startswith(f"{data['cases_filed']} case(s), ")
