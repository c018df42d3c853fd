"""An upgrade as docs/operations.md ("Upgrading") has operators make it, on the suite's dev server: cases started on
the released IncidentWorkflow, the worker replaced by one whose code changed behind a patch (tests/support/upgrade.py),
then the API; the old cases finish on their old path, a new case takes the new one, no workflow task fails, `referrals
versions` lists the old cases while they are open, and every history replays through the upgrade's code."""

import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHistory
from temporalio.worker import Replayer

import referrals.worker
from referrals.cli.versions import versions_report
from referrals.domain.case import workflow_id_for
from referrals.temporal_client import data_converter
from referrals.worker import build_worker
from referrals.workflows import versions
from referrals.workflows.incident import IncidentWorkflow
from tests.support.in_process import api_on
from tests.support.keys import TEST_KEYS
from tests.support.scenario import DECLINE, HOLD_1, HOLD_2, IDENTIFIED, VIOLATIONS, Driver
from tests.support.upgrade import UPGRADE, UPGRADE_NOTE, UpgradedIncidentWorkflow
from tests.support.waiting import until

BASELINE = Path(__file__).parent / "histories" / "1.0.0"


async def _closed(d: Driver, case_id: str) -> dict:
    """The case's `case_closed` event (the data the change is about)."""
    events = (await d.events(case_id))["items"]
    closed = [e for e in events if e["kind"] == "case_closed"]
    assert len(closed) == 1, [e["kind"] for e in events]
    return closed[0]["data"]


async def _each(histories: list[WorkflowHistory]) -> AsyncIterator[WorkflowHistory]:
    for history in histories:
        yield history


def _holding(report) -> list[tuple[str, list[str], int]]:
    return [(p.patch, sorted(c.workflow_id for c in p.holding), p.open_cases) for p in report]


async def test_cases_started_on_the_release_finish_on_their_old_path_after_an_upgrade(
    dev_server, settings, sessions, people, monkeypatch: pytest.MonkeyPatch
):
    client: Client = dev_server.client
    own = settings.model_copy(update={"task_queue": f"upgrade-{uuid.uuid4()}"})
    open_cases = f"WorkflowType = 'IncidentWorkflow' AND ExecutionStatus = 'Running' AND TaskQueue = '{own.task_queue}'"

    async def holding_until(expected: list[tuple[str, list[str], int]]) -> None:
        """`referrals versions` for the upgrade's registry (the patch, the open cases holding it, how many are open),
        until it lists `expected`: visibility is a moment behind."""
        seen: list = []

        async def listed() -> bool:
            seen[:] = _holding(await versions_report(client, [UPGRADE], set(), open_cases))
            return seen == expected

        try:
            await until(listed, timeout=15)
        except AssertionError:
            raise AssertionError(f"referrals versions listed {seen}, not {expected}") from None

    # The release: its worker and its API; two cases started, one held, the other investigated.
    async with build_worker(client, own, sessions), api_on(own) as api:
        d = Driver(api, people)
        held, investigated = (await d.new_case())["id"], (await d.new_case())["id"]
        await d.ok(held, "footage-hold", "custodian", {"holds": [HOLD_1, HOLD_2]})
        await d.investigate(investigated)
        old = sorted(workflow_id_for(case_id) for case_id in (held, investigated))

    # The workers first: the release's has stopped (and its API); the upgrade's starts, built as the release's is,
    # with the changed workflow code.
    with monkeypatch.context() as patch:
        patch.setattr(referrals.worker, "IncidentWorkflow", UpgradedIncidentWorkflow)
        upgraded = build_worker(client, own, sessions)
    async with upgraded:
        # The old cases run without the patch: they keep it from being deprecated.
        await holding_until([(UPGRADE, old, 2)])

        # Then the API. A new case takes the patch; the old ones are still the ones holding it.
        async with api_on(own) as api:
            d = Driver(api, people)
            new = (await d.new_case())["id"]
            await holding_until([(UPGRADE, old, 3)])

            # Each case finished: the held one investigated, then all three declined at legal review.
            await d.ok(held, "supervisor-identification", "officer", IDENTIFIED)
            await d.ok(held, "violation-report", "officer", VIOLATIONS)
            await d.investigate(new)
            for case_id in (held, investigated, new):
                case = await d.ok(case_id, "legal-review", "reviewer", DECLINE)
                assert (case["stage"], case["disposition"]) == ("closed", "declined"), case
            handles = {
                case_id: client.get_workflow_handle(workflow_id_for(case_id)) for case_id in (held, investigated, new)
            }
            for handle in handles.values():
                await handle.result()

            # The old cases closed as the release closes a case; the new one with the upgrade's change.
            assert await _closed(d, held) == {"disposition": "declined"}
            assert await _closed(d, investigated) == {"disposition": "declined"}
            assert await _closed(d, new) == {"disposition": "declined", "note": UPGRADE_NOTE}
        # Nothing is left open to hold the patch.
        await holding_until([(UPGRADE, [], 0)])

    histories = {case_id: await handle.fetch_history() for case_id, handle in handles.items()}
    for case_id, history in histories.items():
        kinds = [event.event_type for event in history.events]
        assert EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED not in kinds, case_id
        markers = [
            e.marker_recorded_event_attributes.marker_name
            for e in history.events
            if e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
        ]
        # Temporal's patch markers: one per patch the release has, decided at each case's start; the new case's one
        # more, for the upgrade's patch; none for it in the old cases', whose tasks after the upgrade asked about it
        # only in replay (`versions.decide`, at the start of the run).
        assert markers == ["core_patch"] * (len(versions.PATCHES) + (case_id == new)), (case_id, markers)

    # Every history replays through the upgrade's code, the 1.0.0 baseline's too; the old cases' also through the
    # release's (their old path is the release's code).
    upgrade = Replayer(workflows=[UpgradedIncidentWorkflow], data_converter=data_converter(TEST_KEYS))
    release = Replayer(workflows=[IncidentWorkflow], data_converter=data_converter(TEST_KEYS))
    baseline = [json.loads(path.read_text()) for path in sorted(BASELINE.glob("*.json"))]
    assert baseline, f"no history in {BASELINE}"
    recorded = [WorkflowHistory.from_json(r["workflow_id"], r["history"]) for r in baseline]
    for replayer, replayed in (
        (upgrade, [*histories.values(), *recorded]),
        (release, [histories[held], histories[investigated]]),
    ):
        results = await replayer.replay_workflows(_each(replayed), raise_on_replay_failure=False)
        assert results.replay_failures == {}, results.replay_failures
