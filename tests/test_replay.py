"""Replay safety: recorded histories of every path are replayed by the current workflow code.

`tests/histories/<version>/` holds the histories recorded on a release's code. 1.0.0's are the baseline every later
release must replay: a change to workflow code goes behind `workflow.patched` (README, "Changing released workflow
code"), and a released version's histories are never recorded again. A path added after a release is recorded, on
the code of the version being made, into that version's folder with
    RECORD_HISTORIES=1 .venv/bin/python -m pytest tests/test_replay.py
which records only the paths no folder has yet.
"""

import asyncio
import json
import os
import uuid
from datetime import date
from pathlib import Path

import pytest
from temporalio.client import WithStartWorkflowOperation, WorkflowHistory
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.worker import Replayer

from referrals import __version__
from referrals.domain.case import IncidentInput, workflow_id_for
from referrals.domain.enums import Role
from referrals.domain.messages import Actor, IncidentFiling
from referrals.temporal_client import data_converter
from referrals.worker import build_worker
from referrals.workflows.incident import IncidentWorkflow
from tests.support.keys import TEST_KEYS
from tests.support.policies import CHICAGO, FAST
from tests.support.scenario import (
    ACK,
    APPROVE,
    CHARGED,
    CONVICTED,
    DECLINE,
    FILING,
    HOLD_1,
    HOLD_2,
    IDENTIFIED,
    REFER,
    REMANDED,
    REMOVAL,
    RETURN,
    SUPPLEMENT,
    VICTIM,
    WITNESS,
    Driver,
    filing,
)

HISTORIES = Path(__file__).parent / "histories"
RECORDING = bool(os.environ.get("RECORD_HISTORIES"))
# Released versions: their histories are kept as they are, and every later version's code must replay them.
RELEASED = ("1.0.0",)
BASELINE = HISTORIES / RELEASED[0]
INTO = HISTORIES / __version__  # where this version's new paths are recorded


def recorded(name: str) -> list[Path]:
    """The files of a path's history, in every version's folder (a continued case's: `<name>-run*.json`)."""
    return sorted(HISTORIES.glob(f"*/{name}.json")) + sorted(HISTORIES.glob(f"*/{name}-run*.json"))


def to_record(name: str) -> None:
    """Skips a path some version already recorded; refuses to record into a released version's folder."""
    if recorded(name):
        pytest.skip(f"{name} is recorded in {recorded(name)[0].parent.name}: a recorded history is kept")
    assert __version__ not in RELEASED, (
        f"{__version__} is released: its histories are the baseline, never recorded again. Put the change behind "
        "workflow.patched (README, 'Changing released workflow code'), and record new paths on the next version"
    )
    INTO.mkdir(exist_ok=True)


OLD_FOOTAGE = {
    **FILING["recordings"][0],
    "started_at": "2026-01-31T13:02:00-06:00",
    "ended_at": "2026-01-31T13:40:00-06:00",
    "flag_reasons": [],
}  # unflagged: past its purge date


async def _charged_with_removal(d: Driver, cid: str) -> None:
    await d.refer_to_the_end(cid)
    await d.ok(cid, "charging-decision", "liaison", CHARGED)
    await d.ok(cid, "removal-notice", "liaison", REMOVAL)
    await d.ok(cid, "removal-outcome", "liaison", REMANDED)
    await d.ok(cid, "prosecution-outcome", "liaison", CONVICTED)


async def _touhy_answered(d: Driver, cid: str) -> None:
    from tests.support.scenario import ASKING

    await d.investigate(cid)
    await d.ok(cid, "legal-review", "reviewer", ASKING)
    await d.ok(cid, "command-approval", "commander", APPROVE)
    today = date.today().isoformat()
    await d.ok(cid, "touhy-requests/T1/response", "liaison", {"outcome": "produced", "received_on": today})
    await d.ok(cid, "referral-acknowledgement", "liaison", ACK)
    await d.ok(
        cid,
        "touhy-requests/T2/response",
        "liaison",
        {"outcome": "refused", "received_on": today, "ground": "28 CFR 16.26(b)(5)"},
    )
    await d.decline_charges(cid)


async def _charges_declined(d: Driver, cid: str) -> None:
    await d.refer_to_the_end(cid)
    await d.decline_charges(cid)


async def _further_investigation(d: Driver, cid: str) -> None:
    await d.refer_to_the_end(cid)
    await d.ok(
        cid,
        "charging-decision",
        "liaison",
        {
            "decision": "further_investigation",
            "decided_at": CHARGED["decided_at"],
            "requested": "Identify the supervisor by name.",
            "return_tasks": ["supervisor_identification"],
        },
    )
    await d.ok(cid, "supervisor-identification", "officer", IDENTIFIED)
    await d.ok(cid, "legal-review", "reviewer", REFER)
    await d.ok(cid, "command-approval", "commander", APPROVE)
    await d.ok(cid, "referral-acknowledgement", "liaison", ACK)
    await d.decline_charges(cid)


async def _returned(d: Driver, cid: str) -> None:
    await d.investigate(cid)
    await d.ok(cid, "legal-review", "reviewer", RETURN)
    await d.ok(cid, "supervisor-identification", "officer", {"outcome": "not_present", "notes": "Gone."})
    await d.ok(cid, "legal-review", "reviewer", DECLINE)


async def _declined(d: Driver, cid: str) -> None:
    await d.investigate(cid)
    await d.ok(cid, "legal-review", "reviewer", DECLINE)


async def _rejected(d: Driver, cid: str) -> None:
    await d.investigate(cid)
    await d.ok(cid, "legal-review", "reviewer", REFER)
    await d.ok(cid, "command-approval", "commander", {"decision": "reject", "note": "No."})


async def _withdrawn(d: Driver, cid: str) -> None:
    await d.ok(cid, "withdrawal", "admin", {"reason": "Filed in error."})


async def _with_people(d: Driver, cid: str) -> None:
    await d.ok(cid, "people", "reviewer", WITNESS)
    await d.investigate(cid)
    await d.ok(cid, "withdrawal", "admin", {"reason": "The victim asked that it go no further."})


async def _supplemented(d: Driver, cid: str) -> None:
    await d.ok(cid, "footage-hold", "custodian", {"holds": [HOLD_1, HOLD_2]})
    await d.ok(cid, "supplements", "officer", SUPPLEMENT)  # a new recording reopens the hold; three corrections
    await d.ok(cid, "footage-hold", "custodian", {"holds": [{**HOLD_1, "camera_id": "X6035555"}]})
    await d.ok(cid, "withdrawal", "admin", {"reason": "Referred to another agency."})


async def _with_evidence(d: Driver, cid: str) -> None:
    import json as _json

    from tests.support.evidence_files import png
    from tests.support.scenario import PHOTO

    for metadata, file in (
        (PHOTO | {"person_id": "P1"}, png()),
        (PHOTO | {"kind": "video", "held_elsewhere": {"system": "Axon Evidence.com", "reference": "8f2c1e4a"}}, None),
    ):
        files = {"metadata": (None, _json.dumps(metadata), "application/json")}
        files |= {"file": ("palm.png", file, "image/png")} if file else {}
        answer = await d.api.post(f"/incidents/{cid}/evidence", files=files, headers=d.people.headers("officer"))
        assert answer.status_code == 201, answer.text
    first = (await d.get(cid)).json()["evidence"][0]["item"]["id"]
    await d.ok(cid, f"evidence/{first}/removal", "admin", {"reason": "attached to the wrong case"})
    await d.ok(cid, "withdrawal", "admin", {"reason": "Referred to another agency."})


async def _escalated_at_filing(d: Driver, cid: str) -> None:
    for _ in range(100):  # footage past its purge date: level 3 at once
        if (await d.get(cid)).json()["tasks"]["footage_hold"]["escalation_level"] == 3:
            break
        await asyncio.sleep(0.1)
    await d.ok(cid, "withdrawal", "commander", {"reason": "Footage lost; nothing to refer."})


async def _escalated_level_by_level(d: Driver, cid: str) -> None:
    for _ in range(200):  # the fast policy: level 1 when the hold is due (2 s), level 2 four seconds later
        if (await d.get(cid)).json()["tasks"]["footage_hold"]["escalation_level"] == 2:
            break
        await asyncio.sleep(0.1)
    await d.ok(cid, "footage-hold", "custodian", {"holds": [HOLD_1, HOLD_2]})
    await d.ok(cid, "withdrawal", "commander", {"reason": "Referred to another agency."})


PATHS = {
    "charged_with_removal": (None, _charged_with_removal),
    "charges_declined": (None, _charges_declined),
    "touhy_answered": (None, _touhy_answered),
    "further_investigation": (None, _further_investigation),
    "returned_then_declined": (None, _returned),
    "declined": (None, _declined),
    "rejected": (None, _rejected),
    "withdrawn": (None, _withdrawn),
    "with_people": ({"people": [VICTIM]}, _with_people),
    "supplemented": ({"people": [VICTIM]}, _supplemented),
    "with_evidence": ({"people": [VICTIM]}, _with_evidence),
    "escalated_at_filing": ({"recordings": [OLD_FOOTAGE]}, _escalated_at_filing),
    "escalated_level_by_level": (FAST, _escalated_level_by_level),
}


CONTINUED = "continued_as_new"  # recorded apart: a case whose history continued as new, each run a file


@pytest.mark.skipif(not RECORDING, reason="records histories only with RECORD_HISTORIES=1")
async def test_record_continued_as_new(api, people, dev_server, settings):
    """A case started with a low threshold (40 events), driven to its outcome: every run's history."""
    to_record(CONTINUED)
    case_id = str(uuid.uuid4())
    officer = Actor(
        user_id=people.ids["officer"], name="Test officer", roles=[Role.OFFICER], district="010", star="12345"
    )
    inp = IncidentInput(
        case_id=case_id,
        case_number=f"CPD-2026-{uuid.uuid4().int % 10**6:06d}",
        filed_by=officer,
        filing=IncidentFiling.model_validate(FILING),
        policy=CHICAGO,
        request_hash="recorded",
        continue_after_events=40,
    )
    client = dev_server.client
    await client.execute_update_with_start_workflow(
        IncidentWorkflow.filing_recorded,
        start_workflow_operation=WithStartWorkflowOperation(
            IncidentWorkflow.run,
            inp,
            id=workflow_id_for(case_id),
            task_queue=settings.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
        ),
    )
    d = Driver(api, people)
    await _charged_with_removal(d, case_id)
    handle = client.get_workflow_handle(workflow_id_for(case_id))
    await handle.result()
    runs, run_id = [], (await handle.describe()).run_id
    while run_id:  # from the last run back to the first
        history = await client.get_workflow_handle(handle.id, run_id=run_id).fetch_history()
        runs.insert(0, history)
        run_id = history.events[0].workflow_execution_started_event_attributes.continued_execution_run_id
    assert len(runs) >= 2
    for n, history in enumerate(runs, 1):
        (INTO / f"{CONTINUED}-run{n}.json").write_text(
            json.dumps({"workflow_id": history.workflow_id, "history": json.loads(history.to_json())}, indent=1)
        )


@pytest.mark.skipif(not RECORDING, reason="records histories only with RECORD_HISTORIES=1")
@pytest.mark.parametrize("name", sorted(PATHS))
async def test_record(api, people, dev_server, fast_api, fast_settings, sessions, name):
    to_record(name)
    changes, drive = PATHS[name]
    if changes is FAST:  # escalations in seconds, served by a worker of that policy's own until the case ends
        async with build_worker(dev_server.client, fast_settings, sessions):
            d = Driver(fast_api, people)
            cid = (await d.new_case())["id"]
            await drive(d, cid)
            handle = dev_server.client.get_workflow_handle(workflow_id_for(cid))
            await handle.result()
    else:
        d = Driver(api, people)
        cid = (await d.new_case(body=filing(**changes) if changes else None))["id"]
        await drive(d, cid)
        handle = dev_server.client.get_workflow_handle(workflow_id_for(cid))
        await handle.result()
    history = await handle.fetch_history()
    (INTO / f"{name}.json").write_text(
        json.dumps({"workflow_id": history.workflow_id, "history": json.loads(history.to_json())}, indent=1)
    )


# Every recorded history (histories/<version>/*.json): a path's, or a continued case's run each.
RECORDED = sorted(str(path.relative_to(HISTORIES)) for path in HISTORIES.glob("*/*.json"))


def test_every_path_has_a_recorded_history():
    assert {name for name in PATHS if recorded(name)} == set(PATHS), "record the missing ones (this module's docstring)"
    assert len(recorded(CONTINUED)) >= 2, "record the continued-as-new case's runs"


def test_the_released_baseline_is_kept_whole():
    """1.0.0's histories, one for every path 1.0.0 had, stay: deleting one would hide a change that breaks them."""
    kept = {path.name for path in BASELINE.glob("*.json")}
    assert len(kept) == 15 and {f"{CONTINUED}-run1.json", f"{CONTINUED}-run2.json"} <= kept, sorted(kept)


@pytest.mark.parametrize("name", RECORDED)
async def test_recorded_history_replays(name):
    recorded = json.loads((HISTORIES / name).read_text())
    history = WorkflowHistory.from_json(recorded["workflow_id"], recorded["history"])
    replayer = Replayer(workflows=[IncidentWorkflow], data_converter=data_converter(TEST_KEYS))
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, result.replay_failure
