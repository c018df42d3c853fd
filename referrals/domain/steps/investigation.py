"""The investigation's three tasks: the footage holds, the federal supervisor on scene, the violations alleged."""

from datetime import datetime

from referrals.domain.case import CaseState, PersonRef, Recorded, complete_task
from referrals.domain.enums import DocumentKind, Role, Task
from referrals.domain.errors import Rejection, RejectionKind
from referrals.domain.messages import FootageHold, Step, SupervisorIdentification, ViolationReport
from referrals.domain.policy import Policy
from referrals.domain.steps.declaration import declare

OFFICERS = frozenset({Role.OFFICER, Role.SUPERVISOR})


def require_camera(state: CaseState, camera_id: str | None, field: str) -> None:
    if camera_id is not None and state.recording(camera_id) is None:
        raise Rejection(RejectionKind.INVALID, f"camera '{camera_id}' is not among this case's recordings", field)


def check_footage_hold(state: CaseState, step: Step[FootageHold], policy: Policy) -> None:
    for i, hold in enumerate(step.payload.holds):
        require_camera(state, hold.camera_id, f"holds[{i}].camera_id")
        recording = state.recording(hold.camera_id)
        assert recording is not None  # require_camera refused a camera the case does not hold
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


def apply_footage_hold(state: CaseState, step: Step[FootageHold], now: datetime, policy: Policy) -> None:
    for hold in step.payload.holds:
        recording = state.recording(hold.camera_id)
        assert recording is not None  # check_footage_hold refused a camera the case does not hold
        recording.hold_reference = hold.hold_reference
        recording.retained_until = hold.retained_until
        recording.held_by = PersonRef.of(step.actor)
        recording.held_at = now
        recording.hold_round = state.investigation_round
    # Partial holds leave the task open: every recording must be confirmed (again, after a
    # legal-review return that reopened this task) before it is done.
    if all(r.hold_round == state.investigation_round for r in state.recordings):
        complete_task(state, Task.FOOTAGE_HOLD, step.actor, now)


def _after_holds(state: CaseState) -> list[DocumentKind]:
    """Whenever holds change: the preservation request again while a recording is still to hold; once every
    recording is held, the hold confirmation (what is held, under which reference, until when)."""
    if not state.recordings:
        return []
    if all(r.hold_round == state.investigation_round for r in state.recordings):
        return [DocumentKind.HOLD_CONFIRMATION]
    return [DocumentKind.PRESERVATION_REQUEST]


FOOTAGE_HOLD = declare(
    name="footage_hold",
    task=Task.FOOTAGE_HOLD,
    request=FootageHold,
    event="footage_hold_confirmed",
    chronicle="Body-camera hold confirmed",
    roles=frozenset({Role.EVIDENCE_CUSTODIAN}),
    check=check_footage_hold,
    change=apply_footage_hold,
    documents=_after_holds,
    summary="Confirm preservation holds, recording by recording",
    title="Confirm footage holds",
    button="Record the holds",
    done="Footage hold recorded.",
    rows=(("holds", frozenset({"camera_id"})),),
)


def check_supervisor_identification(state: CaseState, step: Step[SupervisorIdentification], policy: Policy) -> None:
    require_camera(state, step.payload.camera_id, "camera_id")


def apply_supervisor_identification(
    state: CaseState,
    step: Step[SupervisorIdentification],
    now: datetime,
    policy: Policy,
) -> None:
    state.supervisor_identification = Recorded(payload=step.payload, by=PersonRef.of(step.actor), at=now)
    complete_task(state, Task.SUPERVISOR_IDENTIFICATION, step.actor, now)


SUPERVISOR_IDENTIFICATION = declare(
    name="supervisor_identification",
    task=Task.SUPERVISOR_IDENTIFICATION,
    request=SupervisorIdentification,
    event="supervisor_identification_recorded",
    chronicle="Federal supervisor identification recorded",
    roles=OFFICERS,
    check=check_supervisor_identification,
    change=apply_supervisor_identification,
    summary="Record the federal supervisor on scene, or the refusal",
    title="Record the federal supervisor",
    button="Record the identification",
    done="Supervisor identification recorded.",
)


def check_violation_report(state: CaseState, step: Step[ViolationReport], policy: Policy) -> None:
    for i, allegation in enumerate(step.payload.allegations):
        if policy.statute(allegation.statute) is None:
            raise Rejection(
                RejectionKind.INVALID,
                f"'{allegation.statute}' is not in the statute catalogue",
                f"allegations[{i}].statute",
            )


def apply_violation_report(state: CaseState, step: Step[ViolationReport], now: datetime, policy: Policy) -> None:
    state.violation_report = Recorded(payload=step.payload, by=PersonRef.of(step.actor), at=now)
    complete_task(state, Task.VIOLATION_REPORT, step.actor, now)


VIOLATION_REPORT = declare(
    name="violation_report",
    task=Task.VIOLATION_REPORT,
    request=ViolationReport,
    event="violation_report_recorded",
    chronicle="Violation report recorded",
    roles=OFFICERS,
    check=check_violation_report,
    change=apply_violation_report,
    summary="Report the state or local laws allegedly violated",
    title="Report the violations",
    button="Record the report",
    done="Violation report recorded.",
    rows=(("allegations", frozenset()),),
)
