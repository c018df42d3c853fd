"""The workflow alone, in the time-skipping test server (days pass in milliseconds), with the real activity."""

import asyncio
from datetime import timedelta

import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from referrals.domain.case import CaseState
from referrals.domain.enums import Role
from referrals.domain.messages import Actor, FootageHold, LegalReview, Step, SupervisorIdentification, ViolationReport
from referrals.workflows.incident import IncidentWorkflow
from tests.support.people import FILER as OFFICER
from tests.support.scenario import HOLD_1, HOLD_2, IDENTIFIED, REFER, VIOLATIONS, fresh_filing, recorded_at

CUSTODIAN = Actor(user_id="u-custodian", name="E. Custodian", roles=[Role.EVIDENCE_CUSTODIAN])
REVIEWER = Actor(user_id="u-reviewer", name="L. Reviewer", roles=[Role.LEGAL_REVIEWER])


async def state_of(handle) -> CaseState:
    return await handle.query(IncidentWorkflow.case)


async def test_due_times_come_from_the_policy(time_env, start_case):
    handle = await start_case(await fresh_filing(time_env))
    state = await state_of(handle)
    filed = state.filed_at
    assert state.tasks["footage_hold"].due_at == filed + timedelta(hours=24)
    assert state.tasks["supervisor_identification"].due_at == filed + timedelta(days=3)
    assert state.tasks["violation_report"].due_at == filed + timedelta(days=7)
    assert state.tasks["legal_review"].due_at is None  # pending: no deadline until its stage
    # Flagged recordings are kept two years under Chicago's policy; an unflagged one, 90 days.
    assert state.recordings[0].purge_at == state.recordings[0].started_at + timedelta(days=730)
    unflagged = await state_of(await start_case(recorded_at(state.recordings[0].started_at, flags=[])))
    assert unflagged.recordings[0].purge_at == unflagged.recordings[0].started_at + timedelta(days=90)


async def test_a_recording_near_its_purge_date_brings_the_hold_deadline_forward(time_env, start_case):
    now = await time_env.get_current_time()
    started = now - timedelta(days=83, hours=12)  # unflagged, purged in 6.5 days: inside the 7-day margin
    state = await state_of(await start_case(recorded_at(started, flags=[])))
    assert state.tasks["footage_hold"].due_at == state.recordings[0].purge_at - timedelta(days=7)
    assert state.tasks["footage_hold"].due_at < state.filed_at + timedelta(hours=24)


async def test_a_return_rearms_the_reopened_task(time_env, start_case):
    handle = await start_case(await fresh_filing(time_env))
    await handle.execute_update(
        IncidentWorkflow.footage_hold, Step(actor=CUSTODIAN, payload=FootageHold(holds=[HOLD_1, HOLD_2]))
    )
    await handle.execute_update(
        IncidentWorkflow.supervisor_identification,
        Step(actor=OFFICER, payload=SupervisorIdentification.model_validate(IDENTIFIED)),
    )
    await time_env.sleep(timedelta(days=20))  # durable: the case waits, whole, for three weeks
    await handle.execute_update(
        IncidentWorkflow.violation_report, Step(actor=OFFICER, payload=ViolationReport.model_validate(VIOLATIONS))
    )
    state = await state_of(handle)
    first = state.tasks["supervisor_identification"]
    assert state.tasks["violation_report"].completed_at >= state.filed_at + timedelta(days=20)
    review = state.tasks["legal_review"]
    assert state.stage == "legal_review"
    assert review.due_at - review.opened_at == timedelta(days=14)

    back = LegalReview(decision="return", rationale="again", return_tasks=["supervisor_identification"])
    await handle.execute_update(IncidentWorkflow.legal_review, Step(actor=REVIEWER, payload=back))
    state = await state_of(handle)
    again = state.tasks["supervisor_identification"]
    assert state.stage == "investigation"
    assert (again.status, again.escalation_level, again.completed_by) == ("open", 0, None)
    assert again.opened_at > first.opened_at
    assert again.due_at == again.opened_at + timedelta(days=3)
    assert state.tasks["violation_report"].status == "done"
    assert state.tasks["footage_hold"].status == "done"


async def test_validators_refuse_by_role_and_stage(time_env, start_case):
    # (That a refusal leaves no history entry is shown against the dev server: the
    # time-skipping server records the workflow tasks that real speculative tasks avoid.)
    handle = await start_case(await fresh_filing(time_env))
    while (before := await state_of(handle)).documents_pending:  # the filing's preservation request
        await asyncio.sleep(0.05)
    refer = LegalReview.model_validate(REFER)
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(IncidentWorkflow.legal_review, Step(actor=OFFICER, payload=refer))
    assert isinstance(refused.value.cause, ApplicationError)
    assert refused.value.cause.type == "Forbidden"
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(IncidentWorkflow.legal_review, Step(actor=REVIEWER, payload=refer))
    assert refused.value.cause.type == "Conflict"
    assert "legal_review is not open" in refused.value.cause.message
    assert await state_of(handle) == before
