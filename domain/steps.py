"""Each human step: a check that refuses it (raising Rejection) and the change it makes.

Pure functions over CaseState, called by the workflow's update validators and handlers.
"""

from datetime import datetime

from domain.case import CaseState, PersonRef, Recorded, complete_task
from domain.enums import Disposition, Stage, Task, TaskStatus
from domain.errors import Rejection, RejectionKind
from domain.events import EventKind
from domain.messages import (
    Actor,
    CommandApproval,
    FootageHold,
    LegalReview,
    Person,
    ReferralAcknowledgement,
    Step,
    SupervisorIdentification,
    ViolationReport,
    Withdrawal,
)
from domain.permissions import Operation, allowed, describe
from domain.policy import Policy


def require_role(actor: Actor, operation: Operation) -> None:
    if not allowed(operation, actor.roles):
        raise Rejection(RejectionKind.FORBIDDEN, f"{operation.value} needs the role {describe(operation)}")


def require_open(state: CaseState, task: Task) -> None:
    if state.closed:
        raise Rejection(RejectionKind.CONFLICT, f"the case is closed ({state.disposition}); {task.value} is not open")
    status = state.tasks[task].status
    if status == TaskStatus.DONE:
        raise Rejection(RejectionKind.CONFLICT, f"{task.value} is already done")
    if status != TaskStatus.OPEN:
        raise Rejection(
            RejectionKind.CONFLICT, f"{task.value} is not open: the case is in stage {state.stage.value}"
        )


def _begin(state: CaseState, step: Step, operation: Operation, task: Task) -> None:
    require_role(step.actor, operation)
    require_open(state, task)


def _require_camera(state: CaseState, camera_id: str | None, field: str) -> None:
    if camera_id is not None and state.recording(camera_id) is None:
        raise Rejection(RejectionKind.INVALID, f"camera '{camera_id}' is not among this case's recordings", field)


def check_footage_hold(state: CaseState, step: Step[FootageHold], policy: Policy) -> None:
    _begin(state, step, Operation.FOOTAGE_HOLD, Task.FOOTAGE_HOLD)
    for i, hold in enumerate(step.payload.holds):
        _require_camera(state, hold.camera_id, f"holds[{i}].camera_id")
        recording = state.recording(hold.camera_id)
        if recording.hold_round == state.investigation_round:
            raise Rejection(
                RejectionKind.CONFLICT,
                f"camera '{hold.camera_id}' is already held under {recording.hold_reference}",
                f"holds[{i}].camera_id",
            )
        if hold.retained_until <= recording.purge_at.date():
            raise Rejection(
                RejectionKind.INVALID,
                f"must be after the recording's purge date {recording.purge_at.date().isoformat()}",
                f"holds[{i}].retained_until",
            )


def apply_footage_hold(state: CaseState, step: Step[FootageHold], now: datetime) -> None:
    for hold in step.payload.holds:
        recording = state.recording(hold.camera_id)
        recording.hold_reference = hold.hold_reference
        recording.retained_until = hold.retained_until
        recording.held_by = PersonRef.of(step.actor)
        recording.held_at = now
        recording.hold_round = state.investigation_round
    # Partial holds leave the task open: every recording must be confirmed (again, after a
    # legal-review return that reopened this task) before it is done.
    if all(r.hold_round == state.investigation_round for r in state.recordings):
        complete_task(state, Task.FOOTAGE_HOLD, step.actor, now)


def check_supervisor_identification(state: CaseState, step: Step[SupervisorIdentification], policy: Policy) -> None:
    _begin(state, step, Operation.SUPERVISOR_IDENTIFICATION, Task.SUPERVISOR_IDENTIFICATION)
    _require_camera(state, step.payload.camera_id, "camera_id")


def apply_supervisor_identification(state: CaseState, step: Step[SupervisorIdentification], now: datetime) -> None:
    state.supervisor_identification = Recorded(payload=step.payload, by=PersonRef.of(step.actor), at=now)
    complete_task(state, Task.SUPERVISOR_IDENTIFICATION, step.actor, now)


def check_violation_report(state: CaseState, step: Step[ViolationReport], policy: Policy) -> None:
    _begin(state, step, Operation.VIOLATION_REPORT, Task.VIOLATION_REPORT)
    for i, allegation in enumerate(step.payload.allegations):
        if policy.statute(allegation.statute) is None:
            raise Rejection(
                RejectionKind.INVALID,
                f"'{allegation.statute}' is not in the statute catalogue",
                f"allegations[{i}].statute",
            )


def apply_violation_report(state: CaseState, step: Step[ViolationReport], now: datetime) -> None:
    state.violation_report = Recorded(payload=step.payload, by=PersonRef.of(step.actor), at=now)
    complete_task(state, Task.VIOLATION_REPORT, step.actor, now)


def check_legal_review(state: CaseState, step: Step[LegalReview], policy: Policy) -> None:
    _begin(state, step, Operation.LEGAL_REVIEW, Task.LEGAL_REVIEW)
    alleged = state.alleged_statutes()
    for i, charge in enumerate(step.payload.charges):
        if charge not in alleged:
            raise Rejection(
                RejectionKind.INVALID,
                f"'{charge}' is not among the alleged statutes ({', '.join(alleged)})",
                f"charges[{i}]",
            )


def apply_legal_review(state: CaseState, step: Step[LegalReview], now: datetime) -> None:
    state.legal_reviews.append(Recorded(payload=step.payload, by=PersonRef.of(step.actor), at=now))
    complete_task(state, Task.LEGAL_REVIEW, step.actor, now)


def check_command_approval(state: CaseState, step: Step[CommandApproval], policy: Policy) -> None:
    _begin(state, step, Operation.COMMAND_APPROVAL, Task.COMMAND_APPROVAL)
    review = state.latest_review()
    if step.actor.user_id == state.filed_by.id:
        raise Rejection(RejectionKind.FORBIDDEN, "separation of duties: the filer may not approve the referral")
    if review is not None and step.actor.user_id == review.by.id:
        raise Rejection(
            RejectionKind.FORBIDDEN, "separation of duties: the legal reviewer may not approve the referral"
        )


def apply_command_approval(state: CaseState, step: Step[CommandApproval], now: datetime) -> None:
    state.command_decisions.append(Recorded(payload=step.payload, by=PersonRef.of(step.actor), at=now))
    complete_task(state, Task.COMMAND_APPROVAL, step.actor, now)


def check_acknowledgement(state: CaseState, step: Step[ReferralAcknowledgement], policy: Policy) -> None:
    _begin(state, step, Operation.REFERRAL_ACKNOWLEDGEMENT, Task.REFERRAL_ACKNOWLEDGEMENT)


def apply_acknowledgement(state: CaseState, step: Step[ReferralAcknowledgement], now: datetime) -> None:
    state.acknowledgement = Recorded(payload=step.payload, by=PersonRef.of(step.actor), at=now)
    complete_task(state, Task.REFERRAL_ACKNOWLEDGEMENT, step.actor, now)


def check_withdrawal(state: CaseState, step: Step[Withdrawal], policy: Policy) -> None:
    require_role(step.actor, Operation.WITHDRAW)
    if state.closed:
        raise Rejection(RejectionKind.CONFLICT, f"the case is already closed ({state.disposition})")


def apply_withdrawal(state: CaseState, step: Step[Withdrawal], now: datetime) -> None:
    state.withdrawal = Recorded(payload=step.payload, by=PersonRef.of(step.actor), at=now)
    close(state, Disposition.WITHDRAWN, now)


def check_add_person(state: CaseState, step: Step[Person], policy: Policy) -> None:
    require_role(step.actor, Operation.ADD_PERSON)
    if state.closed:
        raise Rejection(RejectionKind.CONFLICT, f"the case is closed ({state.disposition}); nobody can be added")
    for i, statement in enumerate(step.payload.statements):
        _require_camera(state, statement.camera_id, f"statements[{i}].camera_id")


def apply_add_person(state: CaseState, step: Step[Person], now: datetime) -> None:
    state.add_person(step.payload, PersonRef.of(step.actor), now)


def close(state: CaseState, disposition: Disposition, now: datetime) -> None:
    for entry in state.tasks.values():
        if entry.status in (TaskStatus.OPEN, TaskStatus.PENDING):
            entry.status = TaskStatus.CANCELLED
    state.stage = Stage.CLOSED
    state.disposition = disposition
    state.closed_at = now


# Each human step by its audit event: the check (the update's validator) and the change (its handler).
STEPS = {
    EventKind.FOOTAGE_HOLD_CONFIRMED: (check_footage_hold, apply_footage_hold),
    EventKind.SUPERVISOR_IDENTIFICATION_RECORDED: (
        check_supervisor_identification,
        apply_supervisor_identification,
    ),
    EventKind.VIOLATION_REPORT_RECORDED: (check_violation_report, apply_violation_report),
    EventKind.LEGAL_REVIEW_DECIDED: (check_legal_review, apply_legal_review),
    EventKind.COMMAND_DECIDED: (check_command_approval, apply_command_approval),
    EventKind.REFERRAL_ACKNOWLEDGED: (check_acknowledgement, apply_acknowledgement),
    EventKind.CASE_WITHDRAWN: (check_withdrawal, apply_withdrawal),
    EventKind.PERSON_ADDED: (check_add_person, apply_add_person),
}
