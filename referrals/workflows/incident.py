"""One durable workflow per incident, from the officer's report to a closed case."""

import asyncio
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from referrals.activities.case_store import CaseStore
    from referrals.activities.documents import DocumentWriter
    from referrals.activities.notifier import Notifier
    from referrals.domain import search_attributes as sa
    from referrals.domain import steps
    from referrals.domain.case import CaseState, DocumentRef, IncidentInput, PersonRef, new_case, open_task
    from referrals.domain.documents import documents_after
    from referrals.domain.enums import (
        INVESTIGATION_TASKS,
        STAGE_TASK,
        ApprovalDecision,
        ChargingKind,
        Disposition,
        DocumentKind,
        ReviewDecision,
        Stage,
        Task,
        TaskStatus,
    )
    from referrals.domain.errors import Rejection
    from referrals.domain.escalation import next_escalation, reached_level, roles_between
    from referrals.domain.events import (
        AuditTrail,
        Carried,
        CaseEvent,
        Delivered,
        DocumentDelivery,
        DocumentRequest,
        EscalationNotice,
        EventKind,
        Letterhead,
        PersistEvents,
        StepResult,
    )
    from referrals.domain.messages import (
        Arraignment,
        ChargingDecision,
        CommandApproval,
        EvidenceItem,
        EvidenceRemoval,
        FootageHold,
        LegalReview,
        Person,
        ProsecutionOutcomeIn,
        ReferralAcknowledgement,
        RemovalNotice,
        RemovalOutcome,
        Step,
        SupervisorIdentification,
        Supplement,
        TouhyResponse,
        ViolationReport,
        Withdrawal,
    )
    from referrals.workflows.status import current_details

from referrals.workflows import versions

# Each attempt is short: a worker killed mid-activity is noticed when its attempt times out, and
# the activity runs again on another worker (every activity is idempotent). A persist takes
# milliseconds; a document or an e-mail well under a second.
PERSIST_TIMEOUT = timedelta(seconds=10)
DOCUMENT_TIMEOUT = timedelta(seconds=15)
DELIVERY_TIMEOUT = timedelta(seconds=30)
# Database outages are waited out: retries never stop, with backoff up to a minute.
PERSIST_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1))
NOTIFY_RETRY = RetryPolicy(initial_interval=timedelta(seconds=2), maximum_interval=timedelta(minutes=10))
NOTIFY_DEADLINE = timedelta(days=1)
# A step is one write (one activity) of its events and the read model; documents and messages follow
# it in the background.
# A document's record waits up to RECORD_RIDE for the case's next write (a person's next step) and is
# stored with it, instead of a write of its own that the next step would queue behind.
RECORD_RIDE = timedelta(seconds=1)
# The stages in lifecycle order: a run continued as new resumes in the one its case was in.
LIFECYCLE = [Stage.INVESTIGATION, Stage.LEGAL_REVIEW, Stage.COMMAND_APPROVAL, Stage.REFERRAL, Stage.PROSECUTION]


@workflow.defn
class IncidentWorkflow:
    @workflow.init
    def __init__(self, inp: IncidentInput) -> None:
        self._input = inp
        self._policy = inp.policy
        self._letterhead = Letterhead.of(inp.policy)
        carried = Carried.model_validate(inp.carried) if inp.carried else None
        self._state = carried.state if carried else new_case(inp, workflow.now())
        # Handlers and the run loop each change state and persist it as one unit.
        self._lock = asyncio.Lock()
        self._filed = False
        self._deliveries: list[asyncio.Task] = []
        self._published: tuple | None = None  # the search attribute values last upserted
        self._events: list[CaseEvent] = []  # every event recorded, in order (event seq n is at n - 1)
        self._written = 0  # the last event seq stored in PostgreSQL
        self._requests: list[DocumentRequest] = []
        self._delivered: list[Delivered] = []
        self._steps_under_way = 0  # human steps between their update's arrival and its answer
        self._in_hand = False  # a document taken from documents_pending, its record or delivery still to come
        # A run continued as new: what the earlier runs recorded, and the stage it resumes in.
        self._resume: Stage | None = None
        if carried is not None:
            self._events, self._requests = list(carried.events), list(carried.documents)
            self._delivered, self._written, self._filed = list(carried.deliveries), carried.written, True
            self._resume = carried.state.stage
            # The run's search attributes are the last run's: its removal deadline among them, to unset in time.
            self._published = (None,) * 6 + (_removal_published(carried.state),)

    @workflow.run
    async def run(self, inp: IncidentInput) -> CaseState:
        versions.decide()  # every patch of released code decided once, for this run (referrals/workflows/versions.py)
        if inp.carried is None:  # (a run continued as new was filed in the first)
            async with self._lock:
                filed = inp.filing.model_dump(mode="json")
                if inp.people:  # (sealed contact details; cases filed without people record what they always did)
                    filed["people"] = [person.model_dump(mode="json") for person in inp.people]
                self._record(EventKind.CASE_FILED, PersonRef.of(inp.filed_by), filed)
                self._documents_after(EventKind.CASE_FILED)
                await self._write()
                self._filed = True
        deadlines = asyncio.create_task(self._escalations())
        documents = asyncio.create_task(self._documents())
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
            documents=self._requests,
            deliveries=self._delivered,
            written=self._written,
        )

    # --- human steps: each an update whose validator refuses before anything enters history

    @workflow.update
    async def filing_recorded(self) -> StepResult:
        """Returns once the filing is stored: the API's read-your-writes after starting."""
        return await self._settled()

    @workflow.update
    async def confirm_footage_hold(self, step: Step[FootageHold]) -> StepResult:
        return await self._apply(EventKind.FOOTAGE_HOLD_CONFIRMED, step)

    @confirm_footage_hold.validator
    def _validate_footage_hold(self, step: Step[FootageHold]) -> None:
        self._validate(EventKind.FOOTAGE_HOLD_CONFIRMED, step)

    @workflow.update
    async def identify_supervisor(self, step: Step[SupervisorIdentification]) -> StepResult:
        return await self._apply(EventKind.SUPERVISOR_IDENTIFICATION_RECORDED, step)

    @identify_supervisor.validator
    def _validate_supervisor(self, step: Step[SupervisorIdentification]) -> None:
        self._validate(EventKind.SUPERVISOR_IDENTIFICATION_RECORDED, step)

    @workflow.update
    async def report_violations(self, step: Step[ViolationReport]) -> StepResult:
        return await self._apply(EventKind.VIOLATION_REPORT_RECORDED, step)

    @report_violations.validator
    def _validate_violations(self, step: Step[ViolationReport]) -> None:
        self._validate(EventKind.VIOLATION_REPORT_RECORDED, step)

    @workflow.update
    async def review(self, step: Step[LegalReview]) -> StepResult:
        return await self._apply(EventKind.LEGAL_REVIEW_DECIDED, step)

    @review.validator
    def _validate_review(self, step: Step[LegalReview]) -> None:
        self._validate(EventKind.LEGAL_REVIEW_DECIDED, step)

    @workflow.update
    async def decide_approval(self, step: Step[CommandApproval]) -> StepResult:
        return await self._apply(EventKind.COMMAND_DECIDED, step)

    @decide_approval.validator
    def _validate_approval(self, step: Step[CommandApproval]) -> None:
        self._validate(EventKind.COMMAND_DECIDED, step)

    @workflow.update
    async def acknowledge_referral(self, step: Step[ReferralAcknowledgement]) -> StepResult:
        return await self._apply(EventKind.REFERRAL_ACKNOWLEDGED, step)

    @acknowledge_referral.validator
    def _validate_acknowledgement(self, step: Step[ReferralAcknowledgement]) -> None:
        self._validate(EventKind.REFERRAL_ACKNOWLEDGED, step)

    @workflow.update
    async def withdraw(self, step: Step[Withdrawal]) -> StepResult:
        return await self._apply(EventKind.CASE_WITHDRAWN, step)

    @withdraw.validator
    def _validate_withdrawal(self, step: Step[Withdrawal]) -> None:
        self._validate(EventKind.CASE_WITHDRAWN, step)

    @workflow.update
    async def add_person(self, step: Step[Person]) -> StepResult:
        return await self._apply(EventKind.PERSON_ADDED, step)

    @add_person.validator
    def _validate_person(self, step: Step[Person]) -> None:
        self._validate(EventKind.PERSON_ADDED, step)

    @workflow.update
    async def file_supplement(self, step: Step[Supplement]) -> StepResult:
        return await self._apply(EventKind.SUPPLEMENT_FILED, step)

    @file_supplement.validator
    def _validate_supplement(self, step: Step[Supplement]) -> None:
        self._validate(EventKind.SUPPLEMENT_FILED, step)

    @workflow.update
    async def add_evidence(self, step: Step[EvidenceItem]) -> StepResult:
        return await self._apply(EventKind.EVIDENCE_ADDED, step)

    @add_evidence.validator
    def _validate_evidence(self, step: Step[EvidenceItem]) -> None:
        self._validate(EventKind.EVIDENCE_ADDED, step)

    @workflow.update
    async def remove_evidence(self, step: Step[EvidenceRemoval]) -> StepResult:
        return await self._apply(EventKind.EVIDENCE_REMOVED, step)

    @remove_evidence.validator
    def _validate_evidence_removal(self, step: Step[EvidenceRemoval]) -> None:
        self._validate(EventKind.EVIDENCE_REMOVED, step)

    @workflow.update
    async def decide_charging(self, step: Step[ChargingDecision]) -> StepResult:
        return await self._apply(EventKind.CHARGING_DECIDED, step)

    @decide_charging.validator
    def _validate_charging(self, step: Step[ChargingDecision]) -> None:
        self._validate(EventKind.CHARGING_DECIDED, step)

    @workflow.update
    async def record_arraignment(self, step: Step[Arraignment]) -> StepResult:
        return await self._apply(EventKind.ARRAIGNMENT_RECORDED, step)

    @record_arraignment.validator
    def _validate_arraignment(self, step: Step[Arraignment]) -> None:
        self._validate(EventKind.ARRAIGNMENT_RECORDED, step)

    @workflow.update
    async def record_removal_notice(self, step: Step[RemovalNotice]) -> StepResult:
        return await self._apply(EventKind.REMOVAL_NOTICE_RECORDED, step)

    @record_removal_notice.validator
    def _validate_removal_notice(self, step: Step[RemovalNotice]) -> None:
        self._validate(EventKind.REMOVAL_NOTICE_RECORDED, step)

    @workflow.update
    async def record_removal_outcome(self, step: Step[RemovalOutcome]) -> StepResult:
        return await self._apply(EventKind.REMOVAL_OUTCOME_RECORDED, step)

    @record_removal_outcome.validator
    def _validate_removal_outcome(self, step: Step[RemovalOutcome]) -> None:
        self._validate(EventKind.REMOVAL_OUTCOME_RECORDED, step)

    @workflow.update
    async def record_prosecution_outcome(self, step: Step[ProsecutionOutcomeIn]) -> StepResult:
        return await self._apply(EventKind.PROSECUTION_OUTCOME_RECORDED, step)

    @record_prosecution_outcome.validator
    def _validate_prosecution_outcome(self, step: Step[ProsecutionOutcomeIn]) -> None:
        self._validate(EventKind.PROSECUTION_OUTCOME_RECORDED, step)

    @workflow.update
    async def record_touhy_response(self, step: Step[TouhyResponse]) -> StepResult:
        return await self._apply(EventKind.TOUHY_RESPONSE_RECORDED, step)

    @record_touhy_response.validator
    def _validate_touhy_response(self, step: Step[TouhyResponse]) -> None:
        self._validate(EventKind.TOUHY_RESPONSE_RECORDED, step)

    # --- the machinery

    def _validate(self, kind: EventKind, step: Step) -> None:
        # An ApplicationError raised here rejects the update before it enters history; raised
        # from a handler, it fails only that update (never the workflow).
        check, _ = steps.STEPS[kind]
        try:
            check(self._state, step, self._policy)
        except Rejection as rejection:
            raise ApplicationError(rejection.message, {"field": rejection.field}, type=rejection.kind.value) from None

    async def _apply(self, kind: EventKind, step: Step) -> StepResult:
        # An update can arrive in the same activation as the start: the filing goes first.
        await workflow.wait_condition(lambda: self._filed)
        self._steps_under_way += 1
        try:
            async with self._lock:
                # A handler queued behind the lock re-checks against what changed since its validator ran.
                self._validate(kind, step)
                _, apply = steps.STEPS[kind]
                # What the step found goes into its event beside what was sent (a correction's old values).
                noted = apply(self._state, step, workflow.now(), self._policy)
                self._record(kind, PersonRef.of(step.actor), step.payload.model_dump(mode="json") | (noted or {}))
                self._documents_after(kind)
            return await self._settled()
        finally:
            self._steps_under_way -= 1

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
            return done and not (state.prosecution.charged and state.prosecution.outcome is None)
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
        instead if a step finishes the stage (or closes the case) first."""
        await workflow.wait_condition(lambda: self._state.closed or self._stage_done() or self._quiet())
        if self._state.closed or self._stage_done():
            return
        carried = Carried(
            state=self._state,
            events=self._events,
            documents=_lighter(self._requests),
            deliveries=self._delivered,
            written=self._written,
        )
        workflow.continue_as_new(self._input.model_copy(update={"carried": carried.model_dump(mode="json")}))

    # --- documents: generated from the case as stored, listed by id; the bytes never enter history

    def _documents_after(self, kind: EventKind) -> None:
        """Queue the documents a step asks for: made in the background, in order (`_documents`); the case
        lists them as being generated."""
        self._state.documents_pending.extend(documents_after(kind, self._state))

    async def _documents(self) -> None:
        """Each document a step asked for, one at a time, after that step's write: of the case as it
        stands when its turn comes (so the packet lists the memo asked for before it)."""
        while True:
            # After the step that asked for it has written itself (its write is the step's alone).
            await workflow.wait_condition(
                lambda: (self._state.documents_pending or self._state.closed) and self._written == self._state.event_seq
            )
            if not self._state.documents_pending:
                return
            self._in_hand = True  # until its delivery has started: no continue-as-new meanwhile
            async with self._lock:
                await self._write()  # (a no-op but for a step queued meanwhile) the packet reads the events stored
                kind = self._state.documents_pending[0]
                request = DocumentRequest(
                    workflow_id=workflow.info().workflow_id,
                    case_id=self._state.case_id,
                    kind=kind,
                    event_seq=self._state.event_seq,
                    letterhead=self._letterhead,
                    document_id=str(workflow.uuid4()),
                    version=1 + sum(d.kind == kind for d in self._state.documents),
                    at=workflow.now(),
                    state=self._state.model_copy(deep=True),
                )
                self._requests.append(request)
            ref = await workflow.execute_activity_method(
                DocumentWriter.generate,
                request,
                start_to_close_timeout=DOCUMENT_TIMEOUT,
                retry_policy=PERSIST_RETRY,
            )
            async with self._lock:
                self._state.documents_pending.pop(0)
                self._state.documents.append(ref)
                self._record(
                    EventKind.DOCUMENT_GENERATED,
                    None,
                    {
                        "document_id": ref.id,
                        "kind": ref.kind.value,
                        "version": ref.version,
                        "filename": ref.filename,
                        "size": ref.size,
                        "sha256": ref.sha256,
                    },
                )
                seq = self._state.event_seq
            await self._record_stored_or_due(seq)
            if self._written < seq:
                async with self._lock:
                    await self._write()
            if kind == DocumentKind.REFERRAL_PACKET:
                self._deliveries.append(asyncio.create_task(self._send_to_prosecutor(ref)))
            self._in_hand = False

    async def _record_stored_or_due(self, seq: int) -> None:
        """Until a document's record (event `seq`) is stored with a step's write, or is due to store itself."""
        rides = lambda: self._written >= seq  # noqa: E731
        # The next step's write stores it if one comes within RECORD_RIDE (the next step would otherwise
        # queue behind this record's write); a closed case has no next step.
        if rides() or self._state.closed and not self._steps_under_way:
            return
        try:
            await workflow.wait_condition(
                lambda: rides() or self._state.closed and not self._steps_under_way, timeout=RECORD_RIDE
            )
        except TimeoutError:
            pass

    async def _send_to_prosecutor(self, ref: DocumentRef) -> None:
        delivery = DocumentDelivery(
            workflow_id=workflow.info().workflow_id,
            case_id=self._state.case_id,
            case_number=self._state.case_number,
            document_id=ref.id,
            to=self._policy.prosecutor.intake_email,
        )
        if await self._deliver(Notifier.deliver_document, delivery, {"document_id": ref.id}):
            self._delivered.append(Delivered(document_id=ref.id, to=delivery.to, at=workflow.now()))

    async def _deliver(self, send, message, about: dict) -> bool:
        """Run a delivery activity (e-mail, webhook) in the background of the case: an outage is
        retried with backoff for a day and, if it outlasts that, logged; it never fails the case."""
        try:
            return bool(
                await workflow.execute_activity_method(
                    send,
                    message,
                    start_to_close_timeout=DELIVERY_TIMEOUT,
                    schedule_to_close_timeout=NOTIFY_DEADLINE,
                    retry_policy=NOTIFY_RETRY,
                )
            )
        except ActivityError:
            workflow.logger.warning("delivery gave up", extra={"activity": send.__name__, **about})
            return False

    # --- the removal window: a durable deadline, 30 days after the arraignment

    async def _removal_window(self) -> None:
        """Records the window's close when its last day ends with no notice of removal filed."""
        while not self._state.closed:
            prosecution = self._state.prosecution
            if prosecution is None or not prosecution.removal_window_open:
                await workflow.wait_condition(
                    lambda: (
                        self._state.closed
                        or (self._state.prosecution is not None and self._state.prosecution.removal_window_open)
                    )
                )
                continue
            wait = prosecution.removal_due_at - workflow.now()
            if wait > timedelta(0):
                try:
                    await workflow.wait_condition(
                        lambda p=prosecution: self._state.closed or not p.removal_window_open, timeout=wait
                    )
                    continue
                except TimeoutError:
                    pass
            async with self._lock:
                if self._state.closed or not prosecution.removal_window_open:
                    continue
                prosecution.removal_window_closed = True
                self._record(
                    EventKind.REMOVAL_WINDOW_CLOSED,
                    None,
                    {"removal_deadline": prosecution.removal_deadline.isoformat()},
                )
                await self._write()

    # --- deadlines: one durable timer at a time, for the earliest ladder step of any open task

    async def _escalations(self) -> None:
        footage = self._state.tasks[Task.FOOTAGE_HOLD]
        if self._state.purge_warnings and footage.status == TaskStatus.OPEN:
            # Footage already purged or inside the margin at filing: the top of the ladder at once.
            await self._escalate(Task.FOOTAGE_HOLD, len(self._policy.tasks[Task.FOOTAGE_HOLD].escalation))
        while not self._state.closed:
            due = next_escalation(self._state, self._policy)

            # Re-plan only when the next ladder step moves (a document's event does not move it).
            def changed(due=due) -> bool:
                return self._state.closed or next_escalation(self._state, self._policy) != due

            if due is None:
                await workflow.wait_condition(changed)
                continue
            wait = due.at - workflow.now()
            if wait > timedelta(0):
                try:
                    # Any change (a task done, reopened, the case closed) re-plans the timer.
                    await workflow.wait_condition(changed, timeout=wait)
                    continue
                except TimeoutError:
                    pass
            await self._escalate(due.task, None, due.item)

    async def _escalate(self, task: Task, to_level: int | None, item: str | None = None) -> None:
        """Fire a task's ladder up to the level reached (or `to_level`); `item`: one Touhy request's own ladder."""
        async with self._lock:
            entry = self._state.tasks[task]
            if entry.status != TaskStatus.OPEN:
                return
            request = self._state.touhy_request(item) if item is not None else None
            if request is not None and request.response is not None:
                return
            ladder = request if request is not None else entry  # what holds the level and the due time
            now = workflow.now()
            low = ladder.escalation_level
            high = to_level if to_level is not None else reached_level(self._state, task, now, self._policy, item)
            if high <= low:
                return
            ladder.escalation_level = high
            entry.escalation_level = max(entry.escalation_level, high)
            roles = roles_between(task, low, high, self._policy)
            escalated = {
                "task": task.value,
                "level": high,
                "notify": [r.value for r in roles],
                "due_at": ladder.due_at.isoformat(),
                "overdue_seconds": int((now - ladder.due_at).total_seconds()),
            }
            if request is not None:
                escalated["touhy_request"] = request.id
            self._record(EventKind.TASK_ESCALATED, None, escalated)
            await self._write()
            notice = EscalationNotice(
                workflow_id=workflow.info().workflow_id,
                case_id=self._state.case_id,
                case_number=self._state.case_number,
                district=self._state.district,
                filed_by_id=self._state.filed_by.id,
                event_seq=self._state.event_seq,
                task=task,
                level=high,
                roles=roles,
                due_at=ladder.due_at,
                escalated_at=now,
            )
        about = {"task": notice.task.value, "level": notice.level}
        self._deliveries.append(asyncio.create_task(self._deliver(Notifier.notify, notice, about)))

    def _record(self, kind: EventKind, actor: PersonRef | None, data: dict) -> None:
        """Append one audit event to the case as it now stands; `_write` stores it with what else the step causes."""
        self._state.event_seq += 1
        self._events.append(CaseEvent(seq=self._state.event_seq, kind=kind, actor=actor, at=workflow.now(), data=data))

    async def _write(self) -> None:
        """Store the events not yet stored and the case after them: one transaction, one activity, under
        the lock. A read model found behind (PostgreSQL restored from a backup) is sent what it lacks.
        (Not a local activity: a workflow task that fails after its local activity wrote would be run
        again and may record other events under the same numbers, and the audit chain admits no second
        version. A regular activity is scheduled by a completed task, so what it writes is history.)"""
        if self._written == self._state.event_seq:
            return
        since = self._written
        while True:
            stored = await workflow.execute_activity_method(
                CaseStore.persist_events,
                PersistEvents(workflow_id=workflow.info().workflow_id, state=self._state, events=self._events[since:]),
                start_to_close_timeout=PERSIST_TIMEOUT,
                retry_policy=PERSIST_RETRY,
            )
            if stored.stored_seq >= since or stored.written:
                break
            since = stored.stored_seq
        self._written = self._state.event_seq
        self._publish()

    def _publish(self) -> None:
        state = self._state
        deadline = state.next_deadline()
        removal = _removal_published(state)
        values = (
            state.case_number,
            state.stage.value,
            [t.value for t in state.open_tasks()],
            state.district,
            deadline,
            state.escalation_level(),
            removal,
        )
        # Each upsert is a history event and a visibility write on the server: only when a value changed.
        if values != self._published:
            number, stage, open_tasks, district, deadline, level, removal = values
            updates = [
                sa.CASE_NUMBER.value_set(number),
                sa.CASE_STAGE.value_set(stage),
                sa.OPEN_TASKS.value_set(open_tasks),
                sa.DISTRICT.value_set(district),
                sa.NEXT_DEADLINE.value_set(deadline) if deadline else sa.NEXT_DEADLINE.value_unset(),
                sa.ESCALATION_LEVEL.value_set(level),
            ]
            # Only once a case has had a removal window (a case without one upserts as it always did).
            if removal is not None:
                updates.append(sa.REMOVAL_DEADLINE.value_set(removal))
            elif self._published is not None and self._published[-1] is not None:
                updates.append(sa.REMOVAL_DEADLINE.value_unset())
            workflow.upsert_search_attributes(updates)
            self._published = values
        workflow.set_current_details(current_details(state))


def _lighter(requests: list[DocumentRequest]) -> list[DocumentRequest]:
    """The document requests a run hands on: each kind's latest with the case it was made from, the earlier ones
    without (a rebuild makes those from the case as stored), so that a long case's input stays far below
    Temporal's payload limit."""
    latest = {request.kind: i for i, request in enumerate(requests)}
    return [r if latest[r.kind] == i else r.model_copy(update={"state": None}) for i, r in enumerate(requests)]


def _removal_published(state: CaseState):
    """RemovalDeadline's value: the end of the removal window while it is open."""
    prosecution = state.prosecution
    return prosecution.removal_due_at if prosecution and prosecution.removal_window_open and not state.closed else None


def _decision(state: CaseState, task: Task) -> Any:
    if task == Task.LEGAL_REVIEW:
        return state.legal_reviews[-1].payload
    if task == Task.COMMAND_APPROVAL:
        return state.command_decisions[-1].payload
    if task == Task.CHARGING_DECISION:
        return state.prosecution.decision
    return state.acknowledgement.payload
