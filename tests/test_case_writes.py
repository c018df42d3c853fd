"""A step's write sends its edits to the case, not the case (issue 32; referrals/domain/case_edits.py): after a run's
first write, each write carries what changed, and PostgreSQL holds exactly the case the workflow holds, with the
columns and child tables drawn from it, whatever the steps changed. A write whose edits were made from another case
than the one stored changes nothing and the whole case is sent."""

import json
import uuid
from datetime import UTC, datetime

from sqlalchemy import select
from temporalio.api.enums.v1 import EventType

from referrals.domain.case import workflow_id_for
from referrals.domain.case_edits import CaseEdit, applied
from referrals.domain.events import CaseColumns, CaseEvent, PersistEvents
from referrals.store import cases
from referrals.store.tables import Incident
from referrals.temporal_client import data_converter
from referrals.workflows.incident import IncidentWorkflow
from tests.support.evidence_files import png
from tests.support.in_process import api_on
from tests.support.keys import TEST_KEYS
from tests.support.scenario import (
    ACK,
    APPROVE,
    HOLD_1,
    HOLD_2,
    IDENTIFIED,
    NEW_CAMERA,
    PHOTO,
    REFER,
    SUPPLEMENT,
    VICTIM,
    VIOLATIONS,
    WITNESS,
    Driver,
    filing,
)
from tests.support.waiting import handed_on

STEP_DONE = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED


async def _stored(sessions, case_id: str) -> tuple[dict, dict, dict]:
    """The case as PostgreSQL holds it: its JSON, its columns, and its child tables' rows (each table's sorted)."""
    async with sessions() as s:
        row = await s.get(Incident, case_id)
        assert row is not None
        children = {}
        for table in cases._CHILDREN:
            got = (await (await s.connection()).execute(select(table).where(table.c.case_id == case_id))).all()
            children[table.name] = sorted(json.dumps(_without_id(r._mapping), default=str, sort_keys=True) for r in got)
    columns = {name: getattr(row, name) for name in CaseColumns.model_fields}
    return row.state, columns, children


def _without_id(row) -> dict:
    return {k: v for k, v in row.items() if k != "id"}


def _drawn(state) -> tuple[dict, dict, dict]:
    """What the read model is drawn from the whole case: what a whole write stores."""
    children = {
        table.name: sorted(json.dumps(row, default=str, sort_keys=True) for row in child_rows(state))
        for table, (_, child_rows) in cases._CHILDREN.items()
    }
    return state.model_dump(mode="json"), CaseColumns.of(state).model_dump(), children


async def _writes(handle) -> list[PersistEvents]:
    """Every write the case's run made, as sent."""
    history = await handle.fetch_history()
    converter = data_converter(TEST_KEYS)
    sent = []
    for event in history.events:
        if event.event_type != EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            continue
        attributes = event.activity_task_scheduled_event_attributes
        if attributes.activity_type.name == "persist_case_events":
            [write] = await converter.decode(attributes.input.payloads, [PersistEvents])
            sent.append(write)
    return sent


async def test_each_write_after_the_first_sends_its_edits_and_the_stored_case_is_the_workflows(
    api, people, sessions, dev_server
):
    d = Driver(api, people)
    cid = (await d.new_case(body=filing(people=[VICTIM])))["id"]
    handle = dev_server.client.get_workflow_handle_for(IncidentWorkflow.run, workflow_id_for(cid))

    async def same() -> None:
        await d.settled(cid)
        state = await handle.query(IncidentWorkflow.case)
        stored, drawn = await _stored(sessions, cid), _drawn(state)
        assert stored[0] == drawn[0]  # the case, part for part
        assert stored[1] == drawn[1]  # its columns
        assert stored[2] == drawn[2]  # its child tables

    await d.ok(cid, "people", "officer", WITNESS)
    await d.ok(cid, "footage-hold", "custodian", {"holds": [HOLD_1, HOLD_2]})
    await d.ok(cid, "supervisor-identification", "officer", IDENTIFIED)
    await same()
    await d.ok(cid, "supplements", "officer", {**SUPPLEMENT, "people": []})  # corrections, a recording, a statement
    await same()
    new_hold = {"camera_id": NEW_CAMERA["camera_id"], "hold_reference": "AXON-2026-0099"}
    await d.ok(cid, "footage-hold", "custodian", {"holds": [new_hold | {"retained_until": HOLD_1["retained_until"]}]})
    await d.ok(cid, "violation-report", "officer", VIOLATIONS)
    photo = {
        "metadata": (None, json.dumps(PHOTO | {"person_id": "P1"}), "application/json"),
        "file": ("palm.png", png(), "image/png"),
    }
    for _ in range(3):
        added = await api.post(f"/incidents/{cid}/evidence", files=photo, headers=people.headers("officer"))
        assert added.status_code == 201, added.text
    await same()
    await d.ok(cid, "legal-review", "reviewer", REFER)
    await d.ok(cid, "command-approval", "commander", APPROVE)  # the packet asked for: stored with the case edited
    await d.ok(cid, "referral-acknowledgement", "liaison", ACK)
    await d.decline_charges(cid)  # closed
    await same()

    writes = await _writes(handle)
    assert writes[0].state is not None and not writes[0].edits  # the run's first: the case, whole
    later = writes[1:]
    assert later and all(w.state is None and w.case_id == cid and w.columns is not None for w in later)
    whole = len((await handle.query(IncidentWorkflow.case)).model_dump_json())
    # Each carries what changed: the evidence added as its new item alone, a stage change without the case.
    evidence = [e for w in later for e in w.edits if e.part == "evidence"]
    assert evidence and all(e.append and len(e.value) == 1 for e in evidence[1:])
    assert max(len(w.model_dump_json()) for w in later if not w.documents) < whole / 2


async def test_edits_are_written_onto_the_case_they_were_made_from_alone(api, people, sessions):
    """Edits sent again after they were stored, for a case stored behind them, for one stored between their events,
    and for a case not stored: nothing written; the last two ask for the whole case."""
    d = Driver(api, people)
    cid = (await d.new_case())["id"]
    await d.settled(cid)
    before = await _stored(sessions, cid)
    seq = (await d.events(cid))["items"][-1]["seq"]
    columns = CaseColumns.model_validate(before[1])
    edit = [CaseEdit(part="stage", value="legal_review")]

    def events(*seqs: int) -> list[CaseEvent]:
        return [CaseEvent(seq=n, kind="stage_changed", actor=None, at=datetime.now(UTC), data={}) for n in seqs]

    for case_id, sent, expected in (
        (cid, events(seq), (seq, False, False)),  # stored already: a retried write
        (cid, events(seq + 2), (seq, False, False)),  # stored behind them: reported, the events after it are due
        (cid, events(seq, seq + 1), (seq, False, True)),  # stored between their events
        (str(uuid.uuid4()), events(1), (0, False, True)),  # not stored
    ):
        async with sessions() as s, s.begin():
            got = await cases.persist_edits(s, case_id, columns, edit, sent)
        assert (got.stored_seq, got.written, got.whole_case_needed) == expected, sent
    assert await _stored(sessions, cid) == before


async def test_postgresql_applies_edits_as_they_mean(api, people, sessions):
    """Several parts in one write, two edits of one list (an item replaced, then items added after it), a list part
    the case did not have, a part replaced whole: the stored case is `applied`'s, and nothing else changed."""
    d = Driver(api, people)
    cid = (await d.new_case())["id"]
    await d.settled(cid)
    state, columns, _ = await _stored(sessions, cid)
    recordings = state["recordings"]
    assert len(recordings) == 2 and state["evidence"] == []
    seq = (await d.events(cid))["items"][-1]["seq"]
    first = {**recordings[0], "camera_id": "BWC-replaced"}
    edits = [
        CaseEdit(part="recordings", value=first, index=0),
        CaseEdit(part="recordings", value=[{**first, "camera_id": "BWC-added"}], append=True),
        CaseEdit(part="recordings", value={**recordings[1], "camera_id": "BWC-second"}, index=1),
        CaseEdit(part="evidence", value=[{"an": "item"}], append=True),
        CaseEdit(part="not_yet_a_part", value=[1, "two"], append=True),
        CaseEdit(part="stage", value="legal_review"),
    ]
    sent = [CaseEvent(seq=seq + 1, kind="stage_changed", actor=None, at=datetime.now(UTC), data={})]
    async with sessions() as s, s.begin():
        got = await cases.persist_edits(s, cid, CaseColumns.model_validate(columns), edits, sent)
    assert got.written
    after = (await _stored(sessions, cid))[0]
    assert after == applied(state, edits)
    assert [r["camera_id"] for r in after["recordings"]] == ["BWC-replaced", "BWC-second", "BWC-added"]
    assert after["evidence"] == [{"an": "item"}] and after["not_yet_a_part"] == [1, "two"]
    assert {k: v for k, v in after.items() if k not in ("recordings", "evidence", "not_yet_a_part", "stage")} == {
        k: v for k, v in state.items() if k not in ("recordings", "evidence", "stage")
    }


async def test_a_run_continued_as_new_hands_on_in_a_lull_and_writes_its_edits_to_the_case_it_was_handed(
    api, people, sessions, dev_server, settings
):
    """A run due to continue as new waits until nothing has happened for the quiet period (0.2 s in the suite; a second
    in production), so that steps sent one after another are not held up by the handover. And it hands on the case its
    last write stored: the next run's first write sends its edits to it, not the whole case (the big case's slowest
    step), and PostgreSQL still holds exactly the workflow's case."""
    async with api_on(settings.model_copy(update={"continue_after_events": 40})) as low:
        d = Driver(low, people)
        cid = (await d.new_case(body=filing(people=[VICTIM])))["id"]
        wid = workflow_id_for(cid)
        first_run = (await dev_server.client.get_workflow_handle(wid).describe()).run_id
        await d.ok(cid, "people", "officer", WITNESS)
        photo = {
            "metadata": (None, json.dumps(PHOTO | {"person_id": "P1"}), "application/json"),
            "file": ("palm.png", png(), "image/png"),
        }
        for _ in range(5):  # one after another, past the threshold
            added = await low.post(f"/incidents/{cid}/evidence", files=photo, headers=people.headers("officer"))
            assert added.status_code == 201, added.text
        await d.settled(cid)
        await handed_on(dev_server.client.get_workflow_handle(wid), first_run)
        await d.ok(cid, "footage-hold", "custodian", {"holds": [HOLD_1, HOLD_2]})  # the new run's first write
        await d.settled(cid)

        later: list[list[PersistEvents]] = []  # each later run's writes, in the order of the runs
        lulls = []  # each handover: how long after the run's last step or write it came
        run: str | None = first_run
        while run:
            handle = dev_server.client.get_workflow_handle_for(IncidentWorkflow.run, wid, run_id=run)
            if run != first_run:
                later.append(await _writes(handle))
            events = (await handle.fetch_history()).events
            run = None
            if events[-1].event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
                run = events[-1].workflow_execution_continued_as_new_event_attributes.new_execution_run_id
                busy = [e for e in events if e.event_type in (EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED, STEP_DONE)]
                handed = events[-1].event_time.ToDatetime() - busy[-1].event_time.ToDatetime()
                lulls.append(handed.total_seconds())
        assert lulls and min(lulls) >= 0.2, lulls
        assert any(later), "no run after the first wrote"
        assert all(w.state is None and w.edits for writes in later for w in writes), [
            [w.state is None for w in writes] for writes in later
        ]
        latest = dev_server.client.get_workflow_handle_for(IncidentWorkflow.run, wid)
        stored, drawn = await _stored(sessions, cid), _drawn(await latest.query(IncidentWorkflow.case))
        assert stored[0] == drawn[0]  # the case, part for part
        assert stored[1] == drawn[1]  # its columns
        assert stored[2] == drawn[2]  # its child tables
