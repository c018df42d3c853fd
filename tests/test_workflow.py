"""The workflow alone, in the time-skipping test server (days pass in milliseconds), with the real activity."""

import uuid
from datetime import timedelta

import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.case_store import CaseStore
from activities.notifier import build_notifier
from config import ROOT, Settings
from devstack import temporal
from domain.case import CaseState, IncidentInput, workflow_id_for
from domain.enums import Role
from domain.messages import Actor, FootageHold, IncidentFiling, LegalReview, Step, SupervisorIdentification, ViolationReport
from domain.policy import load_policy
from tests.scenario import FILING, HOLD_1, HOLD_2, IDENTIFIED, REFER, VIOLATIONS
from workflows.incident import IncidentWorkflow

POLICY = load_policy(ROOT / "policy" / "chicago.toml")
OFFICER = Actor(user_id="u-officer", name="P.O. Ana Ruiz", roles=[Role.OFFICER], district="010", star="12345")
CUSTODIAN = Actor(user_id="u-custodian", name="E. Custodian", roles=[Role.EVIDENCE_CUSTODIAN])
REVIEWER = Actor(user_id="u-reviewer", name="L. Reviewer", roles=[Role.LEGAL_REVIEWER])


@pytest.fixture(scope="module")
async def env():
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(temporal.binary("temporal-test-server")),
        data_converter=pydantic_data_converter,
    )
    await temporal.register_search_attributes(env.client)
    yield env
    await env.shutdown()


@pytest.fixture(scope="module")
async def run(env, sessions, database_url):
    # One worker for the module: the test server skips time only while every workflow's
    # tasks are being served, including the workflows of earlier tests.
    queue = f"wf-{uuid.uuid4()}"
    settings = Settings(env="test", database_url=database_url, task_queue=queue)
    async with Worker(env.client, task_queue=queue, workflows=[IncidentWorkflow],
                      activities=[CaseStore(sessions).persist, build_notifier(sessions, settings).notify]):
        async def start(filing: dict):
            case_id = str(uuid.uuid4())
            inp = IncidentInput(case_id=case_id, case_number=f"CPD-2026-{uuid.uuid4().int % 10**6:06d}",
                                filed_by=OFFICER, filing=IncidentFiling.model_validate(filing), policy=POLICY,
                                request_hash="h")
            return await env.client.start_workflow(IncidentWorkflow.run, inp, id=workflow_id_for(case_id),
                                                   task_queue=queue)
        yield start


async def state_of(handle) -> CaseState:
    return await handle.query(IncidentWorkflow.case)


def recorded_at(started, filing=FILING) -> dict:
    recordings = [{**r, "started_at": started.isoformat(), "ended_at": (started + timedelta(minutes=30)).isoformat()}
                  for r in filing["recordings"]]
    return {**filing, "recordings": recordings}


async def test_due_times_come_from_the_policy(env, run):
    handle = await run(recorded_at(await env.get_current_time() - timedelta(hours=2)))
    state = await state_of(handle)
    filed = state.filed_at
    assert state.tasks["footage_hold"].due_at == filed + timedelta(hours=24)
    assert state.tasks["supervisor_identification"].due_at == filed + timedelta(days=3)
    assert state.tasks["violation_report"].due_at == filed + timedelta(days=7)
    assert state.tasks["legal_review"].due_at is None  # pending: no deadline until its stage
    assert state.recordings[0].purge_at == state.recordings[0].started_at + timedelta(days=90)


async def test_a_recording_near_its_purge_date_brings_the_hold_deadline_forward(env, run):
    now = await env.get_current_time()
    started = now - timedelta(days=83, hours=12)  # purged in 6.5 days: inside the 7-day margin
    state = await state_of(await run(recorded_at(started)))
    assert state.tasks["footage_hold"].due_at == state.recordings[0].purge_at - timedelta(days=7)
    assert state.tasks["footage_hold"].due_at < state.filed_at + timedelta(hours=24)


async def test_a_return_rearms_the_reopened_task(env, run):
    handle = await run(FILING)
    await handle.execute_update(IncidentWorkflow.confirm_footage_hold,
                                Step(actor=CUSTODIAN, payload=FootageHold(holds=[HOLD_1, HOLD_2])))
    await handle.execute_update(IncidentWorkflow.identify_supervisor,
                                Step(actor=OFFICER, payload=SupervisorIdentification.model_validate(IDENTIFIED)))
    await env.sleep(timedelta(days=20))  # durable: the case waits, whole, for three weeks
    await handle.execute_update(IncidentWorkflow.report_violations,
                                Step(actor=OFFICER, payload=ViolationReport.model_validate(VIOLATIONS)))
    state = await state_of(handle)
    first = state.tasks["supervisor_identification"]
    assert state.tasks["violation_report"].completed_at >= state.filed_at + timedelta(days=20)
    review = state.tasks["legal_review"]
    assert state.stage == "legal_review"
    assert review.due_at - review.opened_at == timedelta(days=14)

    back = LegalReview(decision="return", rationale="again", return_tasks=["supervisor_identification"])
    await handle.execute_update(IncidentWorkflow.review, Step(actor=REVIEWER, payload=back))
    state = await state_of(handle)
    again = state.tasks["supervisor_identification"]
    assert state.stage == "investigation"
    assert (again.status, again.escalation_level, again.completed_by) == ("open", 0, None)
    assert again.opened_at > first.opened_at
    assert again.due_at == again.opened_at + timedelta(days=3)
    assert state.tasks["violation_report"].status == "done"
    assert state.tasks["footage_hold"].status == "done"


async def test_validators_refuse_by_role_and_stage(env, run):
    # (That a refusal leaves no history entry is shown against the dev server: the
    # time-skipping server records the workflow tasks that real speculative tasks avoid.)
    handle = await run(FILING)
    before = await state_of(handle)
    refer = LegalReview.model_validate(REFER)
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(IncidentWorkflow.review, Step(actor=OFFICER, payload=refer))
    assert isinstance(refused.value.cause, ApplicationError)
    assert refused.value.cause.type == "Forbidden"
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(IncidentWorkflow.review, Step(actor=REVIEWER, payload=refer))
    assert refused.value.cause.type == "Conflict"
    assert "legal_review is not open" in refused.value.cause.message
    assert await state_of(handle) == before
