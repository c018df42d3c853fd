"""The fault drills of bench/faults.py, scaled down: every case still ends exactly as it should.

Each drill runs its own stack of real processes (PostgreSQL, the Temporal dev server on disk, an
SMTP server, the worker, the API under uvicorn) and carries Chicago scenarios through the HTTP API
while one part of it fails. The drills the session selects run at once (tests/support/in_parallel.py).
"""

import pytest

from bench import faults

# A short request deadline, so that waiting out a fault shows up as 503s rather than slow answers.
DEADLINE = 8.0
# Every answer came by the deadline (its 503 at the latest), as the people's client timed it: on a machine as loaded as
# the suite's, up to a few seconds after it (10.9 s in one CI run). A request left hanging would have waited for the
# client's own timeout, DEADLINE + 30 (bench/faults.py).
ANSWERED_BY = DEADLINE + 5

RUNS = {  # the drills, each a coroutine to its report
    "worker_kill": lambda: faults.drill(
        faults.worker_kills(2, gap=(0.5, 2.0)), cases=4, concurrency=4, think=0.5, seed=11, request_timeout=DEADLINE
    ),
    "server_restart": lambda: faults.drill(
        faults.server_restart(after=2.0, down=2.0), cases=4, concurrency=4, think=0.8, seed=12, request_timeout=DEADLINE
    ),
    "database_outage": lambda: faults.drill(
        faults.database_outage(after=1.5, outage=8.0),
        cases=4,
        concurrency=4,
        think=1.0,
        seed=13,
        request_timeout=DEADLINE,
    ),
    "restore": lambda: faults.drill(
        faults.restore(dump_after=2.0, restore_after=3.0),
        cases=4,
        concurrency=4,
        think=1.5,
        seed=14,
        request_timeout=DEADLINE,
    ),
}


def assert_every_case_ended_as_it_should(report: dict, cases: int) -> None:
    assert len(report["outcomes"]) == cases
    for outcome in report["outcomes"]:
        assert {key: outcome[key] for key in faults.EXPECTED} == faults.EXPECTED, outcome
    # No answer the API gave was a server error other than a well-formed 503.
    statuses = {int(code) for code in report["api"]["statuses"]}
    assert statuses <= {200, 201, 503}, report["api"]
    assert report["api"]["malformed_503"] == 0


@pytest.mark.stack_run("worker_kill")
async def test_a_worker_killed_at_random_moments_loses_and_repeats_nothing(report):
    assert len(report["faults"]) >= 1 and all(f["worker_killed"] == "SIGKILL" for f in report["faults"])
    assert_every_case_ended_as_it_should(report, 4)
    assert report["api"]["slowest_seconds"] < ANSWERED_BY


@pytest.mark.stack_run("server_restart")
async def test_a_temporal_server_restarted_mid_run_resumes_every_case(report):
    assert report["faults"][0]["down_seconds"] == 2.0
    assert_every_case_ended_as_it_should(report, 4)
    assert report["api"]["slowest_seconds"] < ANSWERED_BY


@pytest.mark.stack_run("database_outage")
async def test_a_database_outage_answers_503_and_activities_wait_it_out(report):
    assert_every_case_ended_as_it_should(report, 4)
    # People were told the service was unavailable, quickly, and the worker retried into the outage.
    assert report["api"]["statuses"].get("503", 0) > 0
    assert report["api"]["slowest_seconds"] < ANSWERED_BY
    assert report["activity_retries"] > 0


@pytest.mark.stack_run("restore")
async def test_a_database_restored_from_a_backup_taken_mid_run_is_rebuilt_from_the_workflows(report):
    restore = report["faults"][0]
    assert restore["lifecycles_going_at_restore"] > 0, restore  # restored mid-run: people kept going after it
    # The backup missed work (events, documents) that the rebuild then wrote back from the workflows...
    assert restore["rebuilt_cases"] == 4 and restore["problems"] == [], restore
    assert restore["events_added"] > 0, restore
    # (the documents recorded since the backup, made again, or asked for and not yet recorded, made by the rebuild)
    assert restore["documents_made_again"] + restore["documents_asked_made"] > 0, restore
    # ... and every case ends exactly as without the restore: PostgreSQL's trail is the workflow's own.
    assert_every_case_ended_as_it_should(report, 4)
    # One packet e-mail per case (`emails` in EXPECTED counts distinct Message-IDs). A packet handed to the SMTP
    # server just as its database was replaced cannot be marked sent (the write meets the restore) and goes again
    # on the retry, with the same Message-ID, which receivers drop: at most one such copy per case then going.
    assert report["duplicate_email_copies"] <= restore["lifecycles_going_at_restore"], report
