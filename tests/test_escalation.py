"""Escalation ladders in the time-skipping server: days pass in milliseconds.

The workflow's timers fire; the real activities write the audit events and the inbox rows in PostgreSQL.
"""

import asyncio
from datetime import timedelta

from sqlmodel import select

from referrals.domain.case import CaseState
from referrals.domain.enums import Role, Task
from referrals.domain.messages import (
    Actor,
    ChargingDecision,
    CommandApproval,
    FootageHold,
    LegalReview,
    ProsecutionOutcomeIn,
    ReferralAcknowledgement,
    Step,
    SupervisorIdentification,
    TouhyResponse,
    ViolationReport,
)
from referrals.store.audit import verify_chain
from referrals.store.tables import CaseEventRow, Notification
from referrals.workflows.incident import IncidentWorkflow
from tests.support.policies import CHICAGO
from tests.support.scenario import (
    ACK,
    CHARGED,
    HOLD_1,
    HOLD_2,
    IDENTIFIED,
    REFER,
    VIOLATIONS,
    fresh_filing,
    last_day_for_removal,
    recorded_at,
)

CUSTODIAN = Actor(user_id="u-custodian", name="E. Custodian", roles=[Role.EVIDENCE_CUSTODIAN])
OFFICER = Actor(user_id="u-officer", name="P.O. Ana Ruiz", roles=[Role.OFFICER], district="010", star="12345")
REVIEWER = Actor(user_id="u-reviewer", name="L. Reviewer", roles=[Role.LEGAL_REVIEWER])
COMMANDER = Actor(user_id="u-commander", name="Cmdr. Vega", roles=[Role.COMMAND])
LIAISON = Actor(user_id="u-liaison", name="Liaison Park", roles=[Role.PROSECUTOR_LIAISON])
# The test users (conftest.PEOPLE) who must receive each role's notices; supervisor_elsewhere never.
FOR_ROLE = {
    Role.EVIDENCE_CUSTODIAN: "custodian",
    Role.SUPERVISOR: "supervisor",
    Role.COMMAND: "commander",
    Role.ADMIN: "admin",
    Role.LEGAL_REVIEWER: "reviewer",
    Role.PROSECUTOR_LIAISON: "liaison",
}


async def state_of(handle) -> CaseState:
    return await handle.query(IncidentWorkflow.case)


async def eventually(check, timeout: float = 30.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await check()
        if result or asyncio.get_running_loop().time() > deadline:
            return result
        await asyncio.sleep(0.05)


async def skip_to(time_env, moment) -> None:
    now = await time_env.get_current_time()
    if moment > now:
        await time_env.sleep(moment - now)


async def stored_escalations(sessions, case_id: str, task: Task, at_least: int = 1) -> list[CaseEventRow]:
    """The task's escalation events once at least `at_least` are stored (a query can answer first)."""

    async def enough():
        found = await escalations(sessions, case_id, task)
        return found if len(found) >= at_least else None

    return await eventually(enough)


async def escalations(sessions, case_id: str, task: Task) -> list[CaseEventRow]:
    async with sessions() as s:
        rows = (
            await s.exec(
                select(CaseEventRow)
                .where(CaseEventRow.case_id == case_id, CaseEventRow.kind == "task_escalated")
                .order_by(CaseEventRow.seq)
            )
        ).all()
    return [r for r in rows if r.data["task"] == task.value]


async def recipients(sessions, people, case_id: str, task: Task, level: int) -> set[str]:
    names = {uid: who for who, uid in people.ids.items()}
    async with sessions() as s:
        rows = (
            await s.exec(
                select(Notification).where(
                    Notification.case_id == case_id, Notification.task == task.value, Notification.level == level
                )
            )
        ).all()
    return {names.get(r.recipient_id, r.recipient_id) for r in rows}


async def drive_to(handle, task: Task) -> None:
    """Complete what comes before `task` so that it is open."""
    if task in (Task.FOOTAGE_HOLD, Task.SUPERVISOR_IDENTIFICATION, Task.VIOLATION_REPORT):
        return
    await handle.execute_update(
        IncidentWorkflow.footage_hold, Step(actor=CUSTODIAN, payload=FootageHold(holds=[HOLD_1, HOLD_2]))
    )
    await handle.execute_update(
        IncidentWorkflow.supervisor_identification,
        Step(actor=OFFICER, payload=SupervisorIdentification.model_validate(IDENTIFIED)),
    )
    await handle.execute_update(
        IncidentWorkflow.violation_report, Step(actor=OFFICER, payload=ViolationReport.model_validate(VIOLATIONS))
    )
    if task == Task.LEGAL_REVIEW:
        return
    review = (
        REFER
        if task != Task.TOUHY_RESPONSE
        else {
            **REFER,
            "federal_evidence": [
                {
                    "agency": "ICE",
                    "records": [
                        {
                            "kind": "body_camera",
                            "description": "The agents' recordings",
                            "relevance": "The blow, from their side.",
                        }
                    ],
                }
            ],
        }
    )
    await handle.execute_update(
        IncidentWorkflow.legal_review, Step(actor=REVIEWER, payload=LegalReview.model_validate(review))
    )
    if task == Task.TOUHY_RESPONSE:
        return
    if task == Task.COMMAND_APPROVAL:
        return
    await handle.execute_update(
        IncidentWorkflow.command_approval, Step(actor=COMMANDER, payload=CommandApproval(decision="approve"))
    )
    if task == Task.REFERRAL_ACKNOWLEDGEMENT:
        return
    # Received when the case records the approval (the time-skipping server's clock, not the wall clock).
    approved_at = (await state_of(handle)).command_decisions[-1].at
    ack = ReferralAcknowledgement.model_validate({**ACK, "received_at": approved_at.isoformat()})
    await handle.execute_update(IncidentWorkflow.referral_acknowledgement, Step(actor=LIAISON, payload=ack))


async def test_the_whole_ladder_of_a_task(time_env, start_case, sessions, people):
    """The footage hold's ladder, whose steps tell both kinds of recipient (everyone holding a role, and the
    supervisors of the case's district only). Every task's ladder, step by step and who each step tells:
    tests/unit/test_deadlines.py; the Touhy requests' own ladders: below."""
    task = Task.FOOTAGE_HOLD
    handle = await start_case(await fresh_filing(time_env))
    await drive_to(handle, task)
    state = await state_of(handle)
    entry = state.tasks[task]
    assert entry.status == "open" and entry.escalation_level == 0
    ladder = CHICAGO.tasks[task].escalation
    for index, step in enumerate(ladder):
        level = index + 1
        await skip_to(time_env, entry.due_at + step.after + timedelta(seconds=1))

        async def reached(level=level):
            return (await state_of(handle)).tasks[task].escalation_level == level

        assert await eventually(reached), f"{task} did not reach level {level}"
        fired = await stored_escalations(sessions, state.case_id, task, at_least=level)
        assert [e.data["level"] for e in fired] == list(range(1, level + 1))  # each step once
        assert fired[-1].data["notify"] == [r.value for r in step.notify]

        async def delivered(level=level):
            return await recipients(sessions, people, state.case_id, task, level)

        got = await eventually(delivered)
        assert {FOR_ROLE[r] for r in step.notify} <= got, (task, level, got)
        assert "supervisor_elsewhere" not in got
    assert (await state_of(handle)).tasks[task].status == "open"


async def test_the_removal_window_closes_by_itself_thirty_days_after_the_arraignment(time_env, start_case, sessions):
    handle = await start_case(await fresh_filing(time_env))
    await drive_to(handle, Task.CHARGING_DECISION)
    now = await time_env.get_current_time()
    arraigned = now.astimezone(CHICAGO.zone).date()
    charged = ChargingDecision.model_validate(
        {**CHARGED, "decided_at": now.isoformat(), "arraignment_date": arraigned.isoformat()}
    )
    await handle.execute_update(IncidentWorkflow.charging_decision, Step(actor=LIAISON, payload=charged))
    state = await state_of(handle)
    # The test server's clock is wherever earlier tests left it: day 30 may fall on a weekend or a court holiday.
    last_day = last_day_for_removal(arraigned, CHICAGO.prosecution.court_holidays)
    assert state.prosecution.removal_deadline == last_day
    assert state.prosecution.removal_window_open
    await skip_to(time_env, state.prosecution.removal_due_at - timedelta(hours=1))
    await asyncio.sleep(0.5)
    assert (await state_of(handle)).prosecution.removal_window_open  # not a moment early
    await skip_to(time_env, state.prosecution.removal_due_at + timedelta(seconds=1))

    async def closed():
        return not (await state_of(handle)).prosecution.removal_window_open

    assert await eventually(closed)
    async with sessions() as s:
        rows = (
            await s.exec(
                select(CaseEventRow).where(
                    CaseEventRow.case_id == state.case_id, CaseEventRow.kind == "removal_window_closed"
                )
            )
        ).all()
    assert [r.data for r in rows] == [{"removal_deadline": last_day.isoformat()}]
    assert (await state_of(handle)).stage == "prosecution"  # the prosecution goes on in the state court


async def test_a_long_case_continues_as_new_keeping_its_id_trail_and_deadlines(time_env, start_case, sessions):
    """With the threshold lowered, the case hands itself to a new run as it goes (more than once); each run
    resumes in the stage it was in, the audit chain goes on unbroken and the removal window still closes."""
    started = await start_case(await fresh_filing(time_env), continue_after_events=40)
    handle = time_env.client.get_workflow_handle_for(IncidentWorkflow.run, started.id)  # whichever run is current
    await drive_to(handle, Task.CHARGING_DECISION)
    now = await time_env.get_current_time()
    arraigned = now.astimezone(CHICAGO.zone).date()
    before = await state_of(handle)
    charged = ChargingDecision.model_validate(
        {**CHARGED, "decided_at": now.isoformat(), "arraignment_date": arraigned.isoformat()}
    )
    await handle.execute_update(IncidentWorkflow.charging_decision, Step(actor=LIAISON, payload=charged))
    await skip_to(time_env, (await state_of(handle)).prosecution.removal_due_at + timedelta(seconds=1))

    async def window_closed():
        return not (await state_of(handle)).prosecution.removal_window_open

    assert await eventually(window_closed)
    state = await state_of(handle)
    assert state.tasks["legal_review"] == before.tasks["legal_review"]  # deadlines and who did what, as they were
    latest = (await handle.fetch_history()).events[0].workflow_execution_started_event_attributes
    assert latest.continued_execution_run_id, "the case never continued as new"
    first = await time_env.client.get_workflow_handle(started.id, run_id=started.result_run_id).fetch_history()
    assert first.events[-1].HasField("workflow_execution_continued_as_new_event_attributes")

    async with sessions() as s:
        rows = (
            await s.exec(select(CaseEventRow).where(CaseEventRow.case_id == state.case_id).order_by(CaseEventRow.seq))
        ).all()
    assert [r.seq for r in rows] == list(range(1, state.event_seq + 1))  # one trail, none lost or repeated
    assert verify_chain(state.case_id, rows) is None
    kinds = [r.kind for r in rows]
    assert kinds.count("case_filed") == 1 and kinds.count("removal_window_closed") == 1
    assert kinds.count("stage_changed") == 4  # each stage entered once, though runs resumed in them
    # The current run holds its own events; before them, the chain's head it was handed, hash for hash PostgreSQL's.
    trail = await handle.query(IncidentWorkflow.audit_trail)
    assert trail.earlier is not None and trail.continued_run_id == latest.continued_execution_run_id
    assert (trail.earlier.seq, trail.earlier.hash) == (
        rows[trail.earlier.seq - 1].seq,
        rows[trail.earlier.seq - 1].hash,
    )
    assert [e.kind for e in trail.events] == kinds[trail.earlier.seq :]

    outcome = ProsecutionOutcomeIn(outcome="dismissed", decided_on=arraigned)
    await handle.execute_update(IncidentWorkflow.prosecution_outcome, Step(actor=LIAISON, payload=outcome))
    final = await handle.result()
    assert (final.stage, final.disposition, final.prosecution.outcome.payload.outcome) == (
        "closed",
        "referred",
        "dismissed",
    )


async def test_each_touhy_request_follows_its_own_ladder(time_env, start_case, sessions):
    """T1 asked with a return, T2 with the referral ten days later: each escalates from its own due time; an
    answer ends its request's ladder and leaves the other's running."""
    handle = await start_case(await fresh_filing(time_env))
    await drive_to(handle, Task.LEGAL_REVIEW)
    wanted = {"kind": "radio_traffic", "description": "The operation's radio traffic", "relevance": "Who ordered what."}
    back = LegalReview.model_validate(
        {
            "decision": "return",
            "rationale": "Ask the supervisor again.",
            "return_tasks": ["supervisor_identification"],
            "federal_evidence": [{"agency": "ICE", "records": [wanted]}],
        }
    )
    await handle.execute_update(IncidentWorkflow.legal_review, Step(actor=REVIEWER, payload=back))
    await skip_to(time_env, await time_env.get_current_time() + timedelta(days=10))
    await handle.execute_update(
        IncidentWorkflow.supervisor_identification,
        Step(actor=OFFICER, payload=SupervisorIdentification.model_validate(IDENTIFIED)),
    )
    refer = LegalReview.model_validate({**REFER, "federal_evidence": [{"agency": "CBP", "records": [wanted]}]})
    await handle.execute_update(IncidentWorkflow.legal_review, Step(actor=REVIEWER, payload=refer))
    state = await state_of(handle)
    t1, t2 = state.touhy_requests
    assert t2.due_at - t1.due_at >= timedelta(days=10) and state.tasks["touhy_response"].due_at == t1.due_at

    await skip_to(time_env, t1.due_at + timedelta(seconds=1))

    async def levels(expected):
        async def check():
            now = await state_of(handle)
            return [r.escalation_level for r in now.touhy_requests] == expected

        return await eventually(check)

    assert await levels([1, 0])  # T1 overdue: its first step; T2 not yet due
    assert (await state_of(handle)).tasks["touhy_response"].escalation_level == 1
    answer = TouhyResponse(request_id="T1", outcome="produced", received_on=t1.due_at.date())
    await handle.execute_update(IncidentWorkflow.touhy_response, Step(actor=LIAISON, payload=answer))
    after = await state_of(handle)
    assert (after.tasks["touhy_response"].escalation_level, after.tasks["touhy_response"].due_at) == (0, t2.due_at)
    await skip_to(time_env, t2.due_at + timedelta(seconds=1))
    assert await levels([1, 1])
    fired = await stored_escalations(sessions, state.case_id, Task.TOUHY_RESPONSE, at_least=2)
    assert [(e.data["touhy_request"], e.data["level"], e.data["due_at"]) for e in fired] == [
        ("T1", 1, t1.due_at.isoformat()),
        ("T2", 1, t2.due_at.isoformat()),
    ]


async def test_completing_a_task_cancels_the_rest_of_its_ladder(time_env, start_case, sessions):
    handle = await start_case(await fresh_filing(time_env))
    state = await state_of(handle)
    due = state.tasks["supervisor_identification"].due_at
    await skip_to(time_env, due + timedelta(seconds=1))

    async def level_one():
        return (await state_of(handle)).tasks["supervisor_identification"].escalation_level == 1

    assert await eventually(level_one)
    await handle.execute_update(
        IncidentWorkflow.supervisor_identification,
        Step(actor=OFFICER, payload=SupervisorIdentification.model_validate(IDENTIFIED)),
    )
    await skip_to(time_env, due + timedelta(days=10))
    await asyncio.sleep(0.5)
    assert [e.data["level"] for e in await escalations(sessions, state.case_id, Task.SUPERVISOR_IDENTIFICATION)] == [1]
    state = await state_of(handle)
    assert state.tasks["supervisor_identification"].status == "done"
    assert state.tasks["supervisor_identification"].escalation_level == 1  # history kept on the task


async def test_a_return_rearms_the_ladder(time_env, start_case, sessions):
    handle = await start_case(await fresh_filing(time_env))
    await drive_to(handle, Task.LEGAL_REVIEW)
    back = LegalReview(decision="return", rationale="again", return_tasks=["violation_report"])
    await handle.execute_update(IncidentWorkflow.legal_review, Step(actor=REVIEWER, payload=back))
    state = await state_of(handle)
    reopened = state.tasks["violation_report"]
    assert (reopened.status, reopened.escalation_level) == ("open", 0)
    assert reopened.due_at == reopened.opened_at + timedelta(days=7)
    await skip_to(time_env, reopened.due_at + timedelta(seconds=1))

    async def escalated():
        return (await state_of(handle)).tasks["violation_report"].escalation_level == 1

    assert await eventually(escalated)
    fired = await stored_escalations(sessions, state.case_id, Task.VIOLATION_REPORT)
    assert fired[-1].data["due_at"] == reopened.due_at.isoformat()


async def test_footage_near_its_purge_date_escalates_to_the_top_at_filing(time_env, start_case, sessions, people):
    now = await time_env.get_current_time()
    old = now - timedelta(days=86)  # unflagged, purged in 4 days: inside the 7-day margin
    filing = recorded_at(old, flags=[])
    handle = await start_case({**filing, "recordings": filing["recordings"][:1]})
    state = await state_of(handle)
    assert [(w.camera_id, w.status) for w in state.purge_warnings] == [("X6031234", "inside_margin")]

    async def top():
        return (await state_of(handle)).tasks["footage_hold"].escalation_level == 3

    assert await eventually(top)
    fired = await stored_escalations(sessions, state.case_id, Task.FOOTAGE_HOLD)
    assert [e.data["level"] for e in fired] == [3]  # at once, not step by step
    assert fired[0].data["notify"] == ["evidence_custodian", "supervisor", "command", "admin"]

    async def everyone():
        got = await recipients(sessions, people, state.case_id, Task.FOOTAGE_HOLD, 3)
        return got if {"custodian", "supervisor", "commander", "admin"} <= got else None

    assert await eventually(everyone)
