"""PostgreSQL behind its workflows, as after a restore from an older backup: the next step brings a
case's read model and audit trail up to date by itself, and `referrals rebuild` writes back what no
step will (a closed case, its documents, its delivery record). Against the real worker, dev server
and PostgreSQL; the restore is the database's own rows put back as a backup had them.
"""

import asyncio
import hashlib
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

from sqlalchemy import text
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory

from referrals.config import ROOT
from referrals.domain.case import IncidentInput, workflow_id_for
from referrals.domain.events import Carried, ChainHead
from referrals.domain.messages import ProsecutionOutcomeIn, Step
from referrals.store import cases, rebuild
from referrals.store.audit import verify_chain
from referrals.temporal_client import data_converter
from referrals.workflows.incident import IncidentWorkflow
from tests.support.builders import LIAISON
from tests.support.in_process import api_on
from tests.support.keys import TEST_KEYS
from tests.support.scenario import ACK, APPROVE, HOLD_1, HOLD_2, IDENTIFIED, REFER, VIOLATIONS, Driver
from tests.support.tampering import edit_narrative
from tests.support.waiting import handed_on

HISTORIES = Path(__file__).parent / "histories" / "1.0.0"
# Every table holding a case's rows, children before parents.
CASE_TABLES = ("case_event", "case_task", "recording", "person", "allegation", "decision", "notification")


async def referrals(settings, *args: str) -> subprocess.CompletedProcess:
    """The command, run while this process's event loop goes on serving the workflows it queries."""
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "REFERRALS_ENV": "test",
        "TEMPORAL_ADDRESS": settings.temporal.address,
        "REFERRALS_ENCRYPTION_KEYS": TEST_KEYS,
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "referrals.cli",
        *args,
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=120)
    return subprocess.CompletedProcess(args, proc.returncode, out.decode(), err.decode())


async def _forget(s, cid: str) -> None:
    """Every row of the case, as if the backup predated it (the audit table's trigger set aside)."""
    await s.exec(text("ALTER TABLE case_event DISABLE TRIGGER case_event_append_only"))
    await s.exec(
        text("DELETE FROM document_delivery WHERE document_id IN (SELECT id FROM document WHERE case_id = :c)"),
        params={"c": cid},
    )
    for table in (*CASE_TABLES, "document", "incident"):
        await s.exec(
            text(f"DELETE FROM {table} WHERE {'id' if table == 'incident' else 'case_id'} = :c"), params={"c": cid}
        )
    await s.exec(text("ALTER TABLE case_event ENABLE TRIGGER case_event_append_only"))


async def backup(sessions, cid: str) -> str:
    """A copy of the case's rows as they are now."""
    tag = uuid.uuid4().hex[:8]
    async with sessions() as s, s.begin():
        for table in ("incident", *CASE_TABLES, "document"):
            key = "id" if table == "incident" else "case_id"
            await s.exec(
                text(f"CREATE TABLE backup_{tag}_{table} AS SELECT * FROM {table} WHERE {key} = :c"), params={"c": cid}
            )
            if table == "incident":  # as pg_dump does: generated columns are made again on restore
                await s.exec(text(f"ALTER TABLE backup_{tag}_incident DROP COLUMN search, DROP COLUMN names"))
        await s.exec(
            text(
                f"CREATE TABLE backup_{tag}_document_delivery AS SELECT * FROM document_delivery "
                "WHERE document_id IN (SELECT id FROM document WHERE case_id = :c)"
            ),
            params={"c": cid},
        )
    return tag


async def restore(sessions, cid: str, tag: str) -> None:
    """The case's rows put back as the backup had them: what came after is gone from PostgreSQL."""
    async with sessions() as s, s.begin():
        await _forget(s, cid)
        await s.exec(text("ALTER TABLE case_event DISABLE TRIGGER case_event_append_only"))
        for table in ("incident", *CASE_TABLES, "document", "document_delivery"):
            columns = ", ".join(
                (
                    await s.exec(
                        text(
                            "SELECT column_name FROM information_schema.columns WHERE table_name = :t ORDER BY ordinal_position"
                        ),
                        params={"t": f"backup_{tag}_{table}"},
                    )
                ).scalars()
            )
            await s.exec(text(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM backup_{tag}_{table}"))
            await s.exec(text(f"DROP TABLE backup_{tag}_{table}"))
        await s.exec(text("ALTER TABLE case_event ENABLE TRIGGER case_event_append_only"))


async def trail_of(dev_server, cid: str):
    return await dev_server.client.get_workflow_handle(workflow_id_for(cid)).query(IncidentWorkflow.audit_trail)


def as_recorded(trail) -> list[tuple]:
    return [(e.seq, str(e.kind), e.actor.id if e.actor else None, e.data) for e in trail.events]


def as_stored(items: list[dict]) -> list[tuple]:
    return [(e["seq"], e["kind"], e["actor_id"], e["data"]) for e in items]


async def test_the_next_step_brings_a_read_model_behind_its_workflow_up_to_date(api, people, sessions, dev_server):
    d = Driver(api, people)
    cid = (await d.new_case())["id"]
    await d.settled(cid)
    tag = await backup(sessions, cid)  # last night's backup: the filing and its preservation request
    await d.ok(cid, "footage-hold", "custodian", {"holds": [HOLD_1, HOLD_2]})
    await d.ok(cid, "supervisor-identification", "officer", IDENTIFIED)
    await d.settled(cid)
    await restore(sessions, cid, tag)
    assert [e["kind"] for e in (await d.events(cid))["items"]] == ["case_filed", "document_generated"]
    assert (await d.get(cid)).json()["supervisor_identification"] is None  # lost with the restore

    # The next step's write finds the read model behind and sends it what it lacks, in order.
    case = await d.ok(cid, "violation-report", "officer", VIOLATIONS)
    assert case["stage"] == "legal_review"
    assert case["supervisor_identification"]["payload"]["badge"] == "4411"
    assert {r["hold_reference"] for r in case["recordings"]} == {"AXON-2026-0042", "AXON-2026-0043"}
    stored = await d.settled(cid)
    assert stored["chain_valid"] is True
    assert as_stored(stored["items"]) == as_recorded(await trail_of(dev_server, cid))
    async with sessions() as s:
        tasks = dict(
            (await s.exec(text("SELECT task, status FROM case_task WHERE case_id = :c"), params={"c": cid})).all()
        )
    assert tasks["supervisor_identification"] == "done" and tasks["legal_review"] == "open"


async def test_rebuild_writes_back_a_case_lost_with_its_documents_and_delivery(
    api, people, sessions, dev_server, settings, smtp_sink
):
    d = Driver(api, people)
    case = await d.new_case()
    cid, number = case["id"], case["case_number"]
    await d.refer_to_the_end(cid)
    await d.decline_charges(cid)
    await dev_server.client.get_workflow_handle(workflow_id_for(cid)).result()  # closed, packet e-mailed
    before = await d.events(cid)
    listing = (await api.get(f"/incidents/{cid}/documents", headers=people.headers("auditor"))).json()["items"]
    mails = len([m for m in smtp_sink.messages if number in m["Subject"]])
    async with sessions() as s, s.begin():
        await _forget(s, cid)  # filed and closed after the backup was taken
    assert (await d.get(cid)).status_code == 404

    done = await referrals(settings, "rebuild", number)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (
        f"OK  {number}: {len(before['items'])} event(s) added, 4 document(s) made again, "
        "1 delivery record(s) added; chain intact" in done.stdout
    )
    after = await d.events(cid)
    assert after["chain_valid"] is True and after["items"] == before["items"]  # hash for hash
    restored = (await d.get(cid)).json()
    assert (restored["stage"], restored["disposition"]) == ("closed", "referred")
    for item in listing:  # the same documents, the same bytes
        response = await api.get(item["download"], headers=people.headers("auditor"))
        assert response.status_code == 200 and hashlib.sha256(response.content).hexdigest() == item["sha256"]
    async with sessions() as s:
        delivered = (
            await s.exec(
                text("SELECT count(*) FROM document_delivery WHERE idempotency_key LIKE :k"),
                params={"k": f"incident-{cid}:%"},
            )
        ).one()[0]
    assert delivered == 1
    assert len([m for m in smtp_sink.messages if number in m["Subject"]]) == mails  # nothing sent again

    again = await referrals(settings, "rebuild", cid)  # by id too; a second rebuild changes nothing
    assert again.returncode == 0 and "0 event(s) added, 0 document(s) made again, 0 delivery" in again.stdout
    assert (await d.events(cid))["items"] == before["items"]


async def test_rebuild_refuses_a_trail_that_is_not_the_workflows(api, people, sessions, settings):
    d = Driver(api, people)
    cid = (await d.new_case())["id"]
    await d.investigate(cid)
    await d.settled(cid)
    await edit_narrative(sessions, cid, 1)
    done = await referrals(settings, "rebuild", cid, "--json")
    assert done.returncode == 1
    assert '"conflict": "event 1 in PostgreSQL is not the workflow\'s event 1"' in done.stdout
    async with sessions() as s:  # nothing written over the evidence of the edit
        assert verify_chain(cid, await cases.list_events(s, cid)).seq == 1


async def test_rebuild_of_a_case_nobody_holds_says_so(settings, api):
    done = await referrals(settings, "rebuild", "CPD-1999-000000")
    assert done.returncode == 1
    assert "referrals: no case CPD-1999-000000: Temporal holds no such workflow" in done.stderr
    assert "0 with problems" not in done.stdout


async def test_rebuild_finds_an_evidence_files_bytes_where_they_still_are(api, people, sessions, settings):
    """Object storage keeps the bytes when PostgreSQL goes back to an older backup (here the chunks stand in for
    it): rebuild writes the item's file row and custody back from the case's own record, and the file is served."""
    import json

    from tests.support.evidence_files import png
    from tests.support.scenario import PHOTO

    d = Driver(api, people)
    case = await d.new_case()
    cid, number = case["id"], case["case_number"]
    photo = png(rgb=(3, 30, 90))
    files = {"metadata": (None, json.dumps(PHOTO), "application/json"), "file": ("palm.png", photo, "image/png")}
    item = (await api.post(f"/incidents/{cid}/evidence", files=files, headers=people.headers("officer"))).json()
    await d.ok(cid, "withdrawal", "admin", {"reason": "Filed in error."})
    await d.settled(cid)  # (its preservation request made and recorded)
    async with sessions() as s, s.begin():  # the backup predates the case; the bytes are where they were
        await s.exec(text("ALTER TABLE evidence_custody DISABLE TRIGGER evidence_custody_append_only"))
        for table in ("evidence_custody", "evidence_file"):
            await s.exec(text(f"DELETE FROM {table} WHERE case_id = :c"), params={"c": cid})
        await s.exec(text("ALTER TABLE evidence_custody ENABLE TRIGGER evidence_custody_append_only"))
        await _forget(s, cid)

    done = await referrals(settings, "rebuild", number)
    assert done.returncode == 0, done.stdout + done.stderr
    got = await api.get(item["download"], headers=people.headers("auditor"))
    assert got.status_code == 200 and got.content == photo
    log = (await api.get(item["custody"], headers=people.headers("auditor"))).json()
    assert log["chain_valid"] and [e["kind"] for e in log["items"]][:2] == ["collected", "added"]
    assert log["items"][1]["data"]["sha256"] == item["sha256"]
    assert log["items"][0]["data"]["collected_by"] == PHOTO["collected_by"]


async def _runs(client, workflow_id: str) -> list:
    """Each run's history, the first run's first."""
    runs, run_id = [], (await client.get_workflow_handle(workflow_id).describe()).run_id
    while run_id:
        history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
        runs.insert(0, history)
        run_id = history.events[0].workflow_execution_started_event_attributes.continued_execution_run_id
    return runs


async def _handed_on_if_due(d: Driver, handle, cid: str) -> None:
    """Once the step's documents are made, a run past its threshold hands the case on (it waits for the case to be
    quiet: a next step arriving first would put it off)."""
    await d.settled(cid)
    now = await handle.describe()
    # (The run sees its history's length as of its last workflow task's start: the events its commands add after it
    # wait for its next task, which a quiet case may not have until its next step.)
    history = await handle.fetch_history()
    seen = max(e.event_id for e in history.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED)
    if seen > 40:
        await handed_on(handle, now.run_id)


async def _carried(history) -> Carried:
    """What the run was handed by the one before it."""
    payloads = history.events[0].workflow_execution_started_event_attributes.input.payloads
    [started] = await data_converter(TEST_KEYS).decode(payloads, [IncidentInput])
    return Carried.model_validate(started.carried)


async def test_a_case_continued_as_new_carries_its_own_size_and_is_rebuilt_from_its_earlier_runs(
    api, people, sessions, dev_server, settings
):
    """Filed with a low threshold (40 history events), the case hands itself on several times: each run carries the
    case and its chain's head, never the events or the document requests. PostgreSQL then loses the whole case: the
    rebuild finds what the current run does not hold in the earlier runs, hash for hash, the documents the same."""
    async with api_on(settings.model_copy(update={"continue_after_events": 40})) as low:
        d = Driver(low, people)
        case = await d.new_case()
        cid, number = case["id"], case["case_number"]
        handle = dev_server.client.get_workflow_handle_for(IncidentWorkflow.run, workflow_id_for(cid))
        for path, who, body in (
            ("footage-hold", "custodian", {"holds": [HOLD_1, HOLD_2]}),
            ("supervisor-identification", "officer", IDENTIFIED),
            ("violation-report", "officer", VIOLATIONS),
            ("legal-review", "reviewer", REFER),
            ("command-approval", "commander", APPROVE),
            ("referral-acknowledgement", "liaison", ACK),
        ):
            await d.ok(cid, path, who, body)
            await _handed_on_if_due(d, handle, cid)
        await d.decline_charges(cid)
        final = await handle.result()
        before = await d.settled(cid)
        listing = (await low.get(f"/incidents/{cid}/documents", headers=people.headers("auditor"))).json()["items"]
    runs = await _runs(dev_server.client, handle.id)
    assert len(runs) >= 3, "the case continued as new fewer than twice"
    stored = {e["seq"]: e for e in before["items"]}
    for history in runs[1:]:
        carried = await _carried(history)
        assert carried.events == [] and carried.documents == []
        assert carried.earlier is not None and carried.earlier.hash == stored[carried.earlier.seq]["hash"]
        # Its size is the case's own: the state, and a few hundred bytes beside it.
        assert len(carried.model_dump_json()) < len(carried.state.model_dump_json()) + 1000
    trail = await trail_of(dev_server, cid)
    assert trail.events[0].seq == trail.earlier.seq + 1 and trail.events[-1].seq == final.event_seq

    async with sessions() as s, s.begin():
        await _forget(s, cid)
    async with sessions() as s, s.begin():  # the current run alone: the events before it are nowhere yet
        alone = await rebuild.write_back(s, trail)
        assert alone.gap == (1, trail.earlier.seq) and alone.events_added == 0
        assert await rebuild.stored_seq(s, cid) == 0  # nothing written
    done = await referrals(settings, "rebuild", number)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (
        f"OK  {number}: {len(before['items'])} event(s) added, {len(listing)} document(s) made again, "
        "1 delivery record(s) added; chain intact" in done.stdout
    )
    after = await Driver(api, people).events(cid)
    assert after["chain_valid"] is True and after["items"] == before["items"]
    # A head that is not PostgreSQL's event: a conflict, nothing written.
    forged = trail.model_copy(update={"earlier": ChainHead(seq=trail.earlier.seq, hash="0" * 64)})
    async with sessions() as s, s.begin():
        refused = await rebuild.write_back(s, forged)
    assert (
        refused.conflict == f"event {trail.earlier.seq} in PostgreSQL is not the workflow's event {trail.earlier.seq}"
    )
    for item in listing:
        response = await api.get(item["download"], headers=people.headers("auditor"))
        assert response.status_code == 200 and hashlib.sha256(response.content).hexdigest() == item["sha256"]


async def test_a_run_reads_what_a_run_of_1_0_0_carried(api, people, sessions, dev_server, settings):
    """A case that continued as new on 1.0.0 handed its next run every event and document request: the recorded
    handover (tests/histories/1.0.0) starts a run of today's code, which holds those events, stores them all when the
    case next writes, and closes the case with the chain whole."""
    recorded = json.loads((HISTORIES / "continued_as_new-run1.json").read_text())
    first = WorkflowHistory.from_json(recorded["workflow_id"], recorded["history"])
    handed = first.events[-1].workflow_execution_continued_as_new_event_attributes.input.payloads
    [inp] = await data_converter(TEST_KEYS).decode(handed, [IncidentInput])
    old = Carried.model_validate(inp.carried)
    assert old.earlier is None and len(old.events) == old.state.event_seq  # the 1.0.0 shape
    cid = str(uuid.uuid4())  # a case of its own: the recorded one's id and number under new ones
    number = f"CPD-2026-{uuid.uuid4().int % 10**6:06d}"
    carried = json.loads(old.model_dump_json().replace(old.state.case_id, cid).replace(old.state.case_number, number))
    handle = await dev_server.client.start_workflow(
        IncidentWorkflow.run,
        inp.model_copy(update={"case_id": cid, "case_number": number, "carried": carried}),
        id=workflow_id_for(cid),
        task_queue=settings.task_queue,
    )
    trail = await handle.query(IncidentWorkflow.audit_trail)
    assert trail.earlier is None and [e.kind for e in trail.events] == [e.kind for e in old.events]

    outcome = ProsecutionOutcomeIn(outcome="dismissed", decided_on=old.state.prosecution.arraignment_date)
    await handle.execute_update(IncidentWorkflow.prosecution_outcome, Step(actor=LIAISON, payload=outcome))
    final = await handle.result()
    assert (final.stage, final.disposition) == ("closed", "referred")
    events = (await Driver(api, people).events(cid))["items"]
    assert [e["seq"] for e in events] == list(range(1, final.event_seq + 1)) and len(events) > len(old.events)
    assert [e["kind"] for e in events][: len(old.events)] == [e.kind for e in old.events]
    async with sessions() as s:
        assert verify_chain(cid, await cases.list_events(s, cid)) is None
