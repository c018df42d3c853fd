"""One durable workflow per incident, from the officer's report to a closed case.

`run` is the lifecycle, top to bottom. The human steps are workflow updates built from their declarations
(referrals/domain/steps, referrals/workflows/updates.py); the case's record, its documents and its deadlines are the
classes this one extends (persistence.py, documents.py, deadlines.py).
"""

import asyncio
from typing import Any, cast

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from referrals.domain import steps
    from referrals.domain.case import (
        CaseState,
        IncidentInput,
        PersonRef,
        ProsecutionState,
        Recorded,
        new_case,
        open_task,
    )
    from referrals.domain.documents import documents_at_filing
    from referrals.domain.enums import (
        INVESTIGATION_TASKS,
        STAGE_TASK,
        ApprovalDecision,
        ChargingKind,
        Disposition,
        ReviewDecision,
        Stage,
        Task,
        TaskStatus,
    )
    from referrals.domain.errors import Rejection
    from referrals.domain.events import AuditTrail, Carried, ChainHead, EventKind, Letterhead, StepResult
    from referrals.domain.messages import ReferralAcknowledgement, Step
    from referrals.domain.steps import StepSpec
    from referrals.store.audit import GENESIS, chain_hash

from referrals.workflows import versions
from referrals.workflows.deadlines import Deadlines
from referrals.workflows.documents import lighter
from referrals.workflows.persistence import removal_published
from referrals.workflows.updates import human_steps

# A case due to continue as new waits for a quiet period with nothing under way, unless its history has grown by
# this many events meanwhile (a case never quiet for a second still hands on, far below Temporal's 51,200).
LULL_AT_MOST_EVENTS = 2_000
# The stages in lifecycle order: a run continued as new resumes in the one its case was in.
LIFECYCLE = [Stage.INVESTIGATION, Stage.LEGAL_REVIEW, Stage.COMMAND_APPROVAL, Stage.REFERRAL, Stage.PROSECUTION]


@workflow.defn
@human_steps  # an update (and its validator) per declared step, named as the step: `footage_hold`, ...
class IncidentWorkflow(Deadlines):
    # The patches of released code this workflow knows (referrals/workflows/versions.py): class attributes, so that a
    # release's code and a test's stand-in for the next release (tests/support/upgrade.py) each name their own.
    patches: tuple[str, ...] = versions.PATCHES
    deprecated: frozenset[str] = versions.DEPRECATED

    @workflow.init
    def __init__(self, inp: IncidentInput) -> None:
        self._input = inp
        self._policy = inp.policy
        self._letterhead = Letterhead.of(inp.policy)
        carried = Carried.model_validate(inp.carried) if inp.carried else None
        self._state = carried.state if carried else new_case(inp, workflow.now())
        # (each attribute is described where it is declared: referrals/workflows/persistence.py)
        self._lock = asyncio.Lock()
        self._filed = False
        self._deliveries = []
        self._published = None
        self._events = []
        self._earlier = None
        self._written = 0
        self._stored = None
        self._requests, self._cases_asked = [], {}
        self._outbox_taken = None  # (decided where first asked: `_outbox`)
        self._asked, self._outstanding, self._made, self._writes = [], [], [], 0
        self._delivered = []
        self._steps_under_way = 0
        self._in_hand = False
        # A run continued as new: what the earlier runs recorded, and the stage it resumes in.
        self._resume = None
        if carried is not None:
            # (a run started on 1.0.0 carried every event and request; a later one, the chain's head: referrals/domain/events.py)
            self._events, self._requests, self._earlier = list(carried.events), list(carried.documents), carried.earlier
            self._delivered, self._written, self._filed = list(carried.deliveries), carried.written, True
            self._resume = carried.state.stage
            # The case PostgreSQL holds is the one carried, as its JSON: the first write sends its edits to it.
            self._stored = inp.carried["state"] if inp.carried and carried.stored else None
            # The run's search attributes are the last run's: its removal deadline among them, to unset in time.
            self._published = (None,) * 6 + (removal_published(carried.state),)

    @workflow.run
    async def run(self, inp: IncidentInput) -> CaseState:
        versions.decide(self.patches, self.deprecated)  # every patch decided once, for this run (workflows/versions.py)
        if inp.carried is None:  # (a run continued as new was filed in the first)
            async with self._lock:
                filed = inp.filing.model_dump(mode="json")
                if inp.people:  # (sealed contact details; cases filed without people record what they always did)
                    filed["people"] = [person.model_dump(mode="json") for person in inp.people]
                self._record(EventKind.CASE_FILED, PersonRef.of(inp.filed_by), filed)
                self._ask_for(documents_at_filing(self._state))
                await self._write()
                self._filed = True
        deadlines = asyncio.create_task(self._escalations())
        documents = asyncio.create_task(self._documents_recorded() if self._outbox() else self._documents())
        removal = asyncio.create_task(self._removal_window())
        while not self._state.closed:
            if not self._resuming_past(Stage.INVESTIGATION):
                self._resume = None
                await self._until_stage_done()  # investigation: the three tasks in parallel
            if self._state.closed:
                break
            review = await self._stage(Stage.LEGAL_REVIEW, Task.LEGAL_REVIEW)
            if review is None:
                break
            if review.decision == ReviewDecision.RETURN:
                await self._reopen(review.return_tasks)
                continue
            if review.decision == ReviewDecision.DECLINE:
                await self._close(Disposition.DECLINED)
                break
            approval = await self._stage(Stage.COMMAND_APPROVAL, Task.COMMAND_APPROVAL)
            if approval is None:
                break
            if approval.decision == ApprovalDecision.REJECT:
                await self._close(Disposition.DECLINED)
                break
            if await self._stage(Stage.REFERRAL, Task.REFERRAL_ACKNOWLEDGEMENT) is None:
                break
            # Until charges are declined, or their outcome recorded: a grand jury, charges, the removal window.
            charging = await self._stage(Stage.PROSECUTION, Task.CHARGING_DECISION)
            if charging is None:
                break
            if charging.decision == ChargingKind.FURTHER_INVESTIGATION:
                await self._reopen(charging.return_tasks)  # then a new legal review, approval and referral
                continue
            await self._close(Disposition.REFERRED)  # declined, or an outcome: the case's is its own field
        await workflow.wait_condition(workflow.all_handlers_finished)
        await deadlines
        await documents
        await removal
        await asyncio.gather(*self._deliveries)
        return self._state

    @workflow.query
    def case(self) -> CaseState:
        return self._state

    @workflow.query
    def audit_trail(self) -> AuditTrail:
        """What this case has recorded, for `referrals rebuild` after a restore of PostgreSQL."""
        return AuditTrail(
            workflow_id=workflow.info().workflow_id,
            state=self._state,
            events=self._events,
            documents=self._with_cases(),
            deliveries=self._delivered,
            written=self._written,
            earlier=self._earlier,
            continued_run_id=workflow.info().continued_run_id,
        )

    # --- human steps: each an update whose validator refuses before anything enters history (referrals/workflows/updates.py)

    @workflow.update
    async def filing_recorded(self) -> StepResult:
        """Returns once the filing is stored: the API's read-your-writes after starting."""
        return await self._settled()

    # --- the machinery of a human step

    def _validate(self, spec: StepSpec, step: Step[Any]) -> None:
        # An ApplicationError raised here rejects the update before it enters history; raised
        # from a handler, it fails only that update (never the workflow).
        try:
            spec.validate(self._state, step, self._policy)
        except Rejection as rejection:
            raise ApplicationError(rejection.message, {"field": rejection.field}, type=rejection.kind.value) from None

    async def _apply(self, spec: StepSpec, step: Step[Any]) -> StepResult:
        # An update can arrive in the same activation as the start: the filing goes first.
        await workflow.wait_condition(lambda: self._filed)
        self._steps_under_way += 1
        try:
            async with self._lock:
                # A handler queued behind the lock re-checks against what changed since its validator ran.
                self._validate(spec, step)
                data = spec.take(self._state, step, workflow.now(), self._policy)
                self._record(spec.event, PersonRef.of(step.actor), data, self._update_id())
                self._ask_for(spec.documents(self._state))
            return await self._settled()
        finally:
            self._steps_under_way -= 1

    def _update_id(self) -> str | None:
        """The update being handled, for its event (versions.STEP_UPDATE_IDS; decided where first asked, as the
        outbox is: an update a run continued as new handles before `run` starts)."""
        if not versions.has(versions.STEP_UPDATE_IDS, self.patches, self.deprecated):
            return None
        info = workflow.current_update_info()
        return info.id if info else None

    async def _settled(self) -> StepResult:
        # The run loop reacts to a completed task under the lock (next stage, reopened tasks,
        # closing); wait for it so the caller reads the case as it now stands.
        await workflow.wait_condition(lambda: self._filed and not self._lock.locked() and not self._stage_done())
        async with self._lock:
            await self._write()  # the step and what it caused (a stage change, the closing): one write
        return StepResult(case_id=self._state.case_id, stage=self._state.stage.value, event_seq=self._state.event_seq)

    def _stage_done(self) -> bool:
        state = self._state
        if state.closed:
            return False
        if state.stage == Stage.INVESTIGATION:
            return not any(state.tasks[t].status == TaskStatus.OPEN for t in INVESTIGATION_TASKS)
        done = state.tasks[STAGE_TASK[state.stage]].status == TaskStatus.DONE
        if state.stage == Stage.PROSECUTION:  # charged: the stage lasts until the outcome
            # The stage's task opened, and open_task made the prosecution: never None here.
            return done and not (
                cast(ProsecutionState, state.prosecution).charged
                and cast(ProsecutionState, state.prosecution).outcome is None
            )
        return done

    async def _until_stage_done(self) -> None:
        """Until the stage is done or the case closed; a long history meanwhile continues as new."""
        while True:
            await workflow.wait_condition(lambda: self._state.closed or self._stage_done() or self._continue_due())
            if self._state.closed or self._stage_done():
                return
            await self._continue_as_new_when_quiet()

    async def _stage(self, stage: Stage, task: Task) -> Any:
        """Enter a stage with its one task, wait until it is done; None if the case closed meanwhile. A run
        continued as new goes past the stages an earlier run finished, and resumes in the one it was in."""
        if self._resuming_past(stage):
            return _decision(self._state, task)
        if self._resume == stage:
            self._resume = None
        else:
            async with self._lock:
                if self._state.closed:  # withdrawn while this stage change waited for the lock
                    return None
                self._state.stage = stage
                open_task(self._state, task, workflow.now(), self._policy)
                self._record(EventKind.STAGE_CHANGED, None, {"stage": stage.value, "task": task.value})
        await self._until_stage_done()
        if self._state.closed:
            return None
        return _decision(self._state, task)

    async def _reopen(self, tasks: list[Task]) -> None:
        async with self._lock:
            if self._state.closed:
                return
            self._state.investigation_round += 1
            self._state.stage = Stage.INVESTIGATION
            now = workflow.now()
            for task in tasks:
                open_task(self._state, task, now, self._policy)
            self._record(
                EventKind.TASKS_REOPENED, None, {"stage": Stage.INVESTIGATION.value, "tasks": [t.value for t in tasks]}
            )

    async def _close(self, disposition: Disposition) -> None:
        async with self._lock:
            if self._state.closed:
                return
            steps.close(self._state, disposition, workflow.now())
            closed = {"disposition": disposition.value}
            if (prosecution := self._state.prosecution) is not None and prosecution.decision is not None:
                closed["charging_decision"] = prosecution.decision.decision.value
                if prosecution.outcome is not None:
                    closed["outcome"] = prosecution.outcome.payload.outcome.value
            self._record(EventKind.CASE_CLOSED, None, closed)

    # --- continue-as-new: a case may sit in prosecution for years

    def _resuming_past(self, stage: Stage) -> bool:
        return self._resume is not None and LIFECYCLE.index(self._resume) > LIFECYCLE.index(stage)

    def _continue_due(self) -> bool:
        info = workflow.info()
        limit = self._input.continue_after_events
        return info.is_continue_as_new_suggested() or (limit is not None and info.get_current_history_length() > limit)

    def _quiet(self) -> bool:
        """Nothing under way: no step, no document being made, every event stored, every delivery done."""
        return (
            not self._lock.locked()
            and not self._steps_under_way
            and workflow.all_handlers_finished()
            and not self._state.documents_pending
            and not self._in_hand
            and self._written == self._state.event_seq
            and all(delivery.done() for delivery in self._deliveries)
        )

    async def _continue_as_new_when_quiet(self) -> None:
        """Hands the case to a new run with a fresh history, keeping its id, audit trail and deadlines; returns
        instead if a step finishes the stage (or closes the case) first. Runs that carry the chain's head hand on
        once nothing has happened for the quiet period (a second): the handover costs the step it lands on tens of
        milliseconds (a big case's, 60 to 130), and a person sending steps one after another is not held up by it."""
        carry_head = versions.has(versions.CARRY_CHAIN_HEAD, self.patches, self.deprecated)
        due = workflow.info().get_current_history_length()
        while True:
            await workflow.wait_condition(lambda: self._state.closed or self._stage_done() or self._quiet())
            if self._state.closed or self._stage_done():
                return
            if not carry_head or workflow.info().get_current_history_length() > due + LULL_AT_MOST_EVENTS:
                break
            try:
                await workflow.wait_condition(
                    lambda: self._state.closed or self._stage_done() or not self._quiet(),
                    timeout=self._quiet_period(),
                )
            except TimeoutError:
                if self._quiet():  # (a step that came with the timer's firing is under way: wait for it)
                    break
        if carry_head:
            # The case and its chain's head: every event is stored (the case is quiet), and a rebuild finds this
            # run's events and documents in its history while Temporal retains it (`audit_trail`).
            carried = Carried(
                state=self._state,
                deliveries=self._delivered,
                written=self._written,
                stored=self._stored is not None and self._stored == self._state.model_dump(mode="json"),
                earlier=ChainHead(
                    seq=self._state.event_seq,
                    hash=chain_hash(
                        self._state.case_id, self._events, self._earlier.hash if self._earlier else GENESIS
                    ),
                ),
            )
        else:  # as 1.0.0 did, for runs started on it
            carried = Carried(
                state=self._state,
                events=self._events,
                documents=lighter(self._with_cases()),
                deliveries=self._delivered,
                written=self._written,
            )
        workflow.continue_as_new(self._input.model_copy(update={"carried": carried.model_dump(mode="json")}))


def _decision(state: CaseState, task: Task) -> Any:
    if task == Task.LEGAL_REVIEW:
        return state.legal_reviews[-1].payload
    if task == Task.COMMAND_APPROVAL:
        return state.command_decisions[-1].payload
    # The task is done (its stage is): the prosecution open_task made, or the acknowledgement, is there.
    if task == Task.CHARGING_DECISION:
        return cast(ProsecutionState, state.prosecution).decision
    return cast(Recorded[ReferralAcknowledgement], state.acknowledgement).payload
