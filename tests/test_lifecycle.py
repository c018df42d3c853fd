"""The lifecycle and its branches, through the HTTP API, against a real worker, dev server and PostgreSQL."""

import asyncio
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlmodel import select

from referrals.domain import search_attributes as sa
from referrals.domain.case import workflow_id_for
from referrals.store.tables import Allegation, CaseTask, Decision, Incident, Recording
from tests.support.policies import CHICAGO
from tests.support.scenario import (
    ACK,
    APPROVE,
    CHARGED,
    CONVICTED,
    HOLD_1,
    HOLD_2,
    IDENTIFIED,
    REFER,
    REMANDED,
    REMOVAL,
    VIOLATIONS,
    Driver,
    last_day_for_removal,
)


def statuses(case: dict) -> dict[str, str]:
    return {task: entry["status"] for task, entry in case["tasks"].items()}


async def removal_deadline_query(dev_server, case_number: str, expect: int) -> list[str]:
    """The workflows the README's RemovalDeadline query finds for one case (visibility follows within seconds)."""
    query = f"RemovalDeadline < '2999-01-01T00:00:00Z' AND CaseNumber = '{case_number}'"
    for _ in range(100):
        found = [w.id async for w in dev_server.client.list_workflows(query)]
        if len(found) == expect:
            return found
        await asyncio.sleep(0.1)
    return found


async def test_chicago_scenario_from_filing_to_the_outcome(api, people, sessions, dev_server):
    d = Driver(api, people)
    case = await d.new_case()
    cid = case["id"]
    assert case["stage"] == "investigation"
    assert case["case_number"].startswith("CPD-")
    assert statuses(case) == {
        "footage_hold": "open",
        "supervisor_identification": "open",
        "violation_report": "open",
        "legal_review": "pending",
        "command_approval": "pending",
        "referral_acknowledgement": "pending",
        "charging_decision": "pending",
        "touhy_response": "pending",
        "held_subject_review": "pending",
    }
    assert all(case["tasks"][t]["due_at"] for t in ("footage_hold", "supervisor_identification", "violation_report"))
    assert case["links"]["temporal_ui"].endswith(f"/namespaces/default/workflows/incident-{cid}")

    # Partial hold: one of two recordings held leaves the task open.
    case = await d.ok(cid, "footage-hold", "custodian", {"holds": [HOLD_1]})
    assert case["tasks"]["footage_hold"]["status"] == "open"
    held = {r["camera_id"]: r["hold_reference"] for r in case["recordings"]}
    assert held == {"X6031234": "AXON-2026-0042", "X6039999": None}
    case = await d.ok(cid, "footage-hold", "custodian", {"holds": [HOLD_2]})
    assert case["tasks"]["footage_hold"]["status"] == "done"
    assert case["tasks"]["footage_hold"]["completed_by"]["name"] == "Test custodian"

    case = await d.ok(cid, "supervisor-identification", "officer", IDENTIFIED)
    assert case["supervisor_identification"]["payload"]["badge"] == "4411"
    assert case["stage"] == "investigation"
    case = await d.ok(cid, "violation-report", "supervisor", VIOLATIONS)
    assert case["stage"] == "legal_review"
    assert case["tasks"]["legal_review"]["status"] == "open"
    assert case["tasks"]["legal_review"]["due_at"] is not None

    case = await d.ok(cid, "legal-review", "reviewer", REFER)
    assert case["stage"] == "command_approval"
    case = await d.ok(cid, "command-approval", "commander", APPROVE)
    assert case["stage"] == "referral"
    case = await d.ok(cid, "referral-acknowledgement", "liaison", ACK)
    assert case["acknowledgement"]["payload"]["prosecutor_case_number"] == "26-FR-0193"
    # The acknowledgement opens the prosecution stage: the charging decision is the liaison's to record.
    assert (case["stage"], case["disposition"]) == ("prosecution", None)
    assert case["tasks"]["charging_decision"]["status"] == "open" and case["tasks"]["charging_decision"]["due_at"]

    case = await d.ok(cid, "charging-decision", "liaison", CHARGED)
    assert case["stage"] == "prosecution" and case["tasks"]["charging_decision"]["status"] == "done"
    prosecution = case["prosecution"]
    assert prosecution["decisions"][0]["payload"]["court_case_number"] == "26-CR-01234"
    # 30 days after the arraignment is the last day for a notice of removal; it ends at midnight in Chicago.
    arraigned = date.fromisoformat(prosecution["arraignment_date"])  # ARRAIGNED: the day it was sent, in Chicago
    last_day = last_day_for_removal(arraigned, CHICAGO.prosecution.court_holidays)
    assert prosecution["removal_deadline"] == last_day.isoformat()
    ends = datetime.combine(last_day + timedelta(days=1), time(0), tzinfo=ZoneInfo("America/Chicago"))
    assert datetime.fromisoformat(prosecution["removal_due_at"]) == ends
    # The Temporal UI finds the case by its open removal window, and stops finding it once a notice is filed.
    assert await removal_deadline_query(dev_server, case["case_number"], 1) == [workflow_id_for(cid)]
    handle = dev_server.client.get_workflow_handle(workflow_id_for(cid))
    attrs = (await handle.describe()).typed_search_attributes
    assert attrs.get(sa.REMOVAL_DEADLINE) == datetime.fromisoformat(prosecution["removal_due_at"])
    case = await d.ok(cid, "removal-notice", "liaison", REMOVAL)
    assert await removal_deadline_query(dev_server, case["case_number"], 0) == []
    assert case["prosecution"]["removal_notice"]["payload"]["federal_case_number"] == "1:26-cr-00077"
    case = await d.ok(cid, "removal-outcome", "commander", REMANDED)
    assert case["prosecution"]["removal_outcome"]["payload"]["result"] == "remanded"
    assert case["stage"] == "prosecution"
    case = await d.ok(cid, "prosecution-outcome", "liaison", CONVICTED)
    assert (case["stage"], case["disposition"]) == ("closed", "referred")
    assert case["prosecution"]["outcome"]["payload"]["outcome"] == "convicted"

    # The read model in PostgreSQL.
    async with sessions() as s:
        incident = await s.get(Incident, cid)
        assert (incident.stage, incident.disposition, incident.open_tasks) == ("closed", "referred", [])
        tasks = (await s.exec(select(CaseTask).where(CaseTask.case_id == cid))).all()
        assert {t.task: t.status for t in tasks}["referral_acknowledgement"] == "done"
        assert {t.task: t.status for t in tasks}["charging_decision"] == "done"
        recordings = (await s.exec(select(Recording).where(Recording.case_id == cid))).all()
        assert sorted(r.hold_reference for r in recordings) == ["AXON-2026-0042", "AXON-2026-0043"]
        assert [a.statute for a in (await s.exec(select(Allegation).where(Allegation.case_id == cid))).all()] == [
            "720 ILCS 5/12-3"
        ]
        decisions = (await s.exec(select(Decision).where(Decision.case_id == cid))).all()
        assert sorted((x.task, x.decision, x.actor_name) for x in decisions) == [
            ("charging_decision", "charged", "Test liaison"),
            ("command_approval", "approve", "Test commander"),
            ("legal_review", "refer", "Test reviewer"),
            ("prosecution_outcome", "convicted", "Test liaison"),
        ]

    # The audit trail: every step and stage change, with actors, in one verifiable chain. The documents
    # are made in the background after the step that asked for them, so their events fall in after it.
    trail = await d.settled(cid)
    assert trail["chain_valid"] is True
    items = trail["items"]
    assert [e["seq"] for e in items] == list(range(1, 23))
    assert [(e["kind"], e["actor_name"]) for e in items if e["kind"] != "document_generated"] == [
        ("case_filed", "Test officer"),
        ("footage_hold_confirmed", "Test custodian"),
        ("footage_hold_confirmed", "Test custodian"),
        ("supervisor_identification_recorded", "Test officer"),
        ("violation_report_recorded", "Test supervisor"),
        ("stage_changed", None),
        ("legal_review_decided", "Test reviewer"),
        ("stage_changed", None),
        ("command_decided", "Test commander"),
        ("stage_changed", None),
        ("referral_acknowledged", "Test liaison"),
        ("stage_changed", None),
        ("charging_decided", "Test liaison"),
        ("removal_notice_recorded", "Test liaison"),
        ("removal_outcome_recorded", "Test commander"),
        ("prosecution_outcome_recorded", "Test liaison"),
        ("case_closed", None),
    ]
    closed = items[-1] if items[-1]["kind"] == "case_closed" else next(e for e in items if e["kind"] == "case_closed")
    assert closed["data"] == {"disposition": "referred", "charging_decision": "charged", "outcome": "convicted"}
    documents = [
        (e["data"]["kind"], e["data"]["version"], e["seq"]) for e in items if e["kind"] == "document_generated"
    ]
    assert [(kind, version) for kind, version, _ in documents] == [
        ("preservation_request", 1),
        ("preservation_request", 2),  # one camera held, the other still to hold
        ("hold_confirmation", 1),  # both held
        ("legal_review_memo", 1),
        ("referral_packet", 1),
    ]
    asked = {
        "case_filed": "preservation_request",
        "footage_hold_confirmed": "preservation_request, then hold_confirmation",
        "legal_review_decided": "legal_review_memo",
        "command_decided": "referral_packet",
    }
    askers = [e["seq"] for e in items if e["kind"] in asked]
    assert all(seq > asker for (_, _, seq), asker in zip(documents, askers))
    case = (await d.get(cid)).json()
    assert case["documents_pending"] == [] and [x["kind"] for x in case["documents"]][-1] == "referral_packet"


def test_a_removal_window_ending_on_a_weekend_or_holiday_runs_to_the_next_court_day():
    from referrals.domain.case import removal_window

    assert removal_window(date(2026, 3, 2), CHICAGO)[0] == date(2026, 4, 1)  # a Wednesday: as counted
    assert removal_window(date(2026, 3, 5), CHICAGO)[0] == date(2026, 4, 6)  # Saturday 4 April: the Monday
    assert removal_window(date(2026, 10, 27), CHICAGO)[0] == date(2026, 11, 27)  # Thanksgiving: the Friday
    last, ends = removal_window(date(2026, 6, 20), CHICAGO)  # 20 July; in Chicago's summer time
    assert (last, ends) == (date(2026, 7, 20), datetime(2026, 7, 21, 5, 0, tzinfo=UTC))


async def test_each_step_is_one_write_and_no_step_waits_for_a_document(api, people, dev_server, sessions):
    """Every update, from accepted to completed, runs one write (`persist_case_events`) and nothing else: its
    documents are asked for in that write's transaction and made by the document maker beside the worker, and the
    case records each once, at a later write (issue 32: nothing of a document's wakes the case while a step waits)."""
    d = Driver(api, people)
    cid = (await d.new_case())["id"]
    await d.refer_to_the_end(cid)
    await d.decline_charges(cid)
    handle = dev_server.client.get_workflow_handle(workflow_id_for(cid))
    await handle.result()
    events = (await handle.fetch_history()).events
    scheduled = Counter(
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in events
        if e.HasField("activity_task_scheduled_event_attributes")
    )
    # The filing and seven steps write once each; the documents' records ride on a later step's write, or on one
    # made once the case is quiet (after asking which are made): no document is made in the case's history.
    assert set(scheduled) <= {"persist_case_events", "documents_made", "deliver_document"}, scheduled
    assert 8 <= scheduled["persist_case_events"] <= 12 and scheduled["deliver_document"] == 1
    writes_per_update, open_updates = [], 0
    inside = []
    for e in events:
        if e.HasField("workflow_execution_update_accepted_event_attributes"):
            open_updates, inside = open_updates + 1, []
        elif e.HasField("activity_task_scheduled_event_attributes") and open_updates:
            inside.append(e.activity_task_scheduled_event_attributes.activity_type.name)
        elif e.HasField("workflow_execution_update_completed_event_attributes"):
            writes_per_update.append(inside)
            open_updates -= 1
    assert writes_per_update == [["persist_case_events"]] * 8, writes_per_update  # one write each, nothing else

    # Each of the four documents made once, recorded once, in the order asked; the outbox is empty.
    async with sessions() as s:
        made = (
            await s.exec(
                text("SELECT id, kind FROM document WHERE case_id = :c ORDER BY created_at"), params={"c": cid}
            )
        ).all()
        recorded = (
            await s.exec(
                text("SELECT data->>'document_id' FROM case_event WHERE case_id = :c AND kind = 'document_generated'"),
                params={"c": cid},
            )
        ).all()
        waiting = (
            await s.exec(text("SELECT count(*) FROM document_outbox WHERE case_id = :c"), params={"c": cid})
        ).one()
    assert [kind for _, kind in made] == [
        "preservation_request",
        "hold_confirmation",
        "legal_review_memo",
        "referral_packet",
    ]
    assert sorted(r[0] for r in recorded) == sorted(i for i, _ in made) and waiting[0] == 0


async def test_a_document_is_listed_as_being_generated_until_it_is(api, people, sessions):
    d = Driver(api, people)
    async with sessions() as blocker, blocker.begin():
        # No document can be stored while this transaction holds the table: the filing is stored all the same.
        await blocker.exec(text("LOCK TABLE document IN EXCLUSIVE MODE"))
        case = await d.new_case()
        assert (case["documents_pending"], case["documents"]) == (["preservation_request"], [])
        await asyncio.sleep(0.5)
        assert (await d.get(case["id"])).json()["documents_pending"] == ["preservation_request"]
    await d.settled(case["id"])
    case = (await d.get(case["id"])).json()
    assert case["documents_pending"] == [] and [x["kind"] for x in case["documents"]] == ["preservation_request"]
