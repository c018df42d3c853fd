"""Each human step: a check that refuses it (raising Rejection) and the change it makes.

Pure functions over CaseState, called by the workflow's update validators and handlers.
"""

from datetime import UTC, date, datetime, time, timedelta

from pydantic import ValidationError

from referrals.domain.case import (
    CaseState,
    CorrectionRecord,
    EvidenceEntry,
    PersonRef,
    ProsecutionState,
    Recorded,
    RecordingState,
    TouhyRequestState,
    complete_task,
    footage_hold_due,
    open_task,
    purge_at,
    removal_window,
)
from referrals.domain.corrections import correct
from referrals.domain.enums import (
    ChargingKind,
    Disposition,
    ImmunityFinding,
    ProsecutionOutcome,
    ReviewDecision,
    Stage,
    Task,
    TaskStatus,
)
from referrals.domain.errors import Rejection, RejectionKind
from referrals.domain.events import EventKind
from referrals.domain.jurisdiction import refuse_unknown_flags
from referrals.domain.messages import (
    Actor,
    Arraignment,
    ChargeAnalysis,
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
    StatementIn,
    Step,
    SupervisorIdentification,
    Supplement,
    TouhyResponse,
    ViolationReport,
    Withdrawal,
)
from referrals.domain.permissions import Operation, allowed, describe
from referrals.domain.policy import Policy


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
        raise Rejection(RejectionKind.CONFLICT, f"{task.value} is not open: the case is in stage {state.stage.value}")


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


def apply_footage_hold(state: CaseState, step: Step[FootageHold], now: datetime, policy: Policy) -> dict | None:
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


def apply_supervisor_identification(
    state: CaseState,
    step: Step[SupervisorIdentification],
    now: datetime,
    policy: Policy,
) -> dict | None:
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


def apply_violation_report(state: CaseState, step: Step[ViolationReport], now: datetime, policy: Policy) -> dict | None:
    state.violation_report = Recorded(payload=step.payload, by=PersonRef.of(step.actor), at=now)
    complete_task(state, Task.VIOLATION_REPORT, step.actor, now)


def check_legal_review(state: CaseState, step: Step[LegalReview], policy: Policy) -> None:
    _begin(state, step, Operation.LEGAL_REVIEW, Task.LEGAL_REVIEW)
    alleged = state.alleged_statutes()
    review = step.payload
    for i, wanted in enumerate(review.federal_evidence):
        if policy.touhy.agency(wanted.agency) is None:
            raise Rejection(
                RejectionKind.INVALID,
                f"'{wanted.agency}' is not among the agencies Touhy requests go to "
                f"({', '.join(a.code for a in policy.touhy.agencies)})",
                f"federal_evidence[{i}].agency",
            )
    for i, subject in enumerate(review.subjects):
        for j, charge in enumerate(subject.charges):
            where = f"subjects[{i}].charges[{j}]"
            if charge.statute not in alleged:
                raise Rejection(
                    RejectionKind.INVALID,
                    f"'{charge.statute}' is not among the alleged statutes ({', '.join(alleged)})",
                    f"{where}.statute",
                )
            # To refer, each charge of a subject referred (not found immune) is proved element by element.
            proving = review.decision == ReviewDecision.REFER and subject.finding != ImmunityFinding.IMMUNE
            _check_elements(state, charge, policy, where, proving=proving)


def _check_elements(state: CaseState, charge: ChargeAnalysis, policy: Policy, where: str, proving: bool) -> None:
    """Each element named is one of the statute's; to refer, every element of it is addressed; each evidence
    item cited is one of the case's and still on it."""
    elements = policy.statute(charge.statute).elements
    for k, proof in enumerate(charge.elements):
        if elements and proof.element > len(elements):
            raise Rejection(
                RejectionKind.INVALID,
                f"{charge.statute} has {len(elements)} elements in the catalogue",
                f"{where}.elements[{k}].element",
            )
        for m, evidence_id in enumerate(proof.evidence):
            entry = state.evidence_item(evidence_id)
            if entry is None or entry.removed is not None:
                raise Rejection(
                    RejectionKind.INVALID,
                    f"no evidence {evidence_id} on this case",
                    f"{where}.elements[{k}].evidence[{m}]",
                )
    missing = sorted(set(range(1, len(elements) + 1)) - {p.element for p in charge.elements})
    if proving and missing:
        raise Rejection(
            RejectionKind.INVALID,
            f"to refer, every element of {charge.statute} needs its facts: "
            f"element {', '.join(map(str, missing))} ({elements[missing[0] - 1]}) is not addressed",
            f"{where}.elements",
        )


def apply_legal_review(state: CaseState, step: Step[LegalReview], now: datetime, policy: Policy) -> dict | None:
    state.legal_reviews.append(Recorded(payload=step.payload, by=PersonRef.of(step.actor), at=now))
    complete_task(state, Task.LEGAL_REVIEW, step.actor, now)
    made = []
    for wanted in step.payload.federal_evidence:  # each a Touhy request to its agency, due on its own
        agency = policy.touhy.agency(wanted.agency).code
        request = TouhyRequestState(
            id=f"T{len(state.touhy_requests) + 1}",
            agency=agency,
            records=wanted.records,
            review=len(state.legal_reviews),
            requested_at=now,
            due_at=now + policy.touhy.response_due,
        )
        state.touhy_requests.append(request)
        made.append(request.id)
    if made:
        _touhy_task_follows(state, now, policy)
        return {"touhy_requests": made}
    return None


def _touhy_task_follows(state: CaseState, now: datetime, policy: Policy) -> None:
    """The answers' task, while a request is unanswered: open, due when the earliest unanswered one is, at the
    highest level of their ladders (each request escalates on its own)."""
    task = state.tasks[Task.TOUHY_RESPONSE]
    unanswered = state.unanswered_touhy()
    if task.status != TaskStatus.OPEN:
        open_task(state, Task.TOUHY_RESPONSE, now, policy)
    task.due_at = min(r.due_at for r in unanswered)
    task.escalation_level = max(r.escalation_level for r in unanswered)


def check_touhy_response(state: CaseState, step: Step[TouhyResponse], policy: Policy) -> None:
    require_role(step.actor, Operation.TOUHY_RESPONSE)
    _require_not_closed(state, "its Touhy requests stay as they are")
    answer = step.payload
    request = state.touhy_request(answer.request_id)
    if request is None:
        raise Rejection(RejectionKind.INVALID, f"no Touhy request {answer.request_id} in this case", "request_id")
    if request.response is not None:
        raise Rejection(
            RejectionKind.CONFLICT,
            f"Touhy request {request.id} ({request.agency}) already has its "
            f"answer: {request.response.payload.outcome.value}",
        )
    if answer.received_on < request.requested_at.date() - timedelta(days=1):
        raise Rejection(
            RejectionKind.INVALID,
            f"must not be before the request was made ({request.requested_at.date().isoformat()})",
            "received_on",
        )


def apply_touhy_response(state: CaseState, step: Step[TouhyResponse], now: datetime, policy: Policy) -> dict | None:
    request = state.touhy_request(step.payload.request_id)
    request.response = Recorded(payload=step.payload, by=PersonRef.of(step.actor), at=now)
    if state.unanswered_touhy():
        _touhy_task_follows(state, now, policy)
    else:  # every request has its answer
        complete_task(state, Task.TOUHY_RESPONSE, step.actor, now)
    return {"agency": request.agency}


def check_command_approval(state: CaseState, step: Step[CommandApproval], policy: Policy) -> None:
    _begin(state, step, Operation.COMMAND_APPROVAL, Task.COMMAND_APPROVAL)
    review = state.latest_review()
    if step.actor.user_id == state.filed_by.id:
        raise Rejection(RejectionKind.FORBIDDEN, "separation of duties: the filer may not approve the referral")
    if review is not None and step.actor.user_id == review.by.id:
        raise Rejection(
            RejectionKind.FORBIDDEN, "separation of duties: the legal reviewer may not approve the referral"
        )


def apply_command_approval(state: CaseState, step: Step[CommandApproval], now: datetime, policy: Policy) -> dict | None:
    state.command_decisions.append(Recorded(payload=step.payload, by=PersonRef.of(step.actor), at=now))
    complete_task(state, Task.COMMAND_APPROVAL, step.actor, now)


def check_acknowledgement(state: CaseState, step: Step[ReferralAcknowledgement], policy: Policy) -> None:
    _begin(state, step, Operation.REFERRAL_ACKNOWLEDGEMENT, Task.REFERRAL_ACKNOWLEDGEMENT)


def apply_acknowledgement(
    state: CaseState,
    step: Step[ReferralAcknowledgement],
    now: datetime,
    policy: Policy,
) -> dict | None:
    state.acknowledgement = Recorded(payload=step.payload, by=PersonRef.of(step.actor), at=now)
    complete_task(state, Task.REFERRAL_ACKNOWLEDGEMENT, step.actor, now)


def check_withdrawal(state: CaseState, step: Step[Withdrawal], policy: Policy) -> None:
    require_role(step.actor, Operation.WITHDRAW)
    if state.closed:
        raise Rejection(RejectionKind.CONFLICT, f"the case is already closed ({state.disposition})")


def apply_withdrawal(state: CaseState, step: Step[Withdrawal], now: datetime, policy: Policy) -> dict | None:
    state.withdrawal = Recorded(payload=step.payload, by=PersonRef.of(step.actor), at=now)
    close(state, Disposition.WITHDRAWN, now)


def check_add_person(state: CaseState, step: Step[Person], policy: Policy) -> None:
    require_role(step.actor, Operation.ADD_PERSON)
    if state.closed:
        raise Rejection(RejectionKind.CONFLICT, f"the case is closed ({state.disposition}); nobody can be added")
    for i, statement in enumerate(step.payload.statements):
        _require_camera(state, statement.camera_id, f"statements[{i}].camera_id")


def apply_add_person(state: CaseState, step: Step[Person], now: datetime, policy: Policy) -> dict | None:
    state.add_person(step.payload, PersonRef.of(step.actor), now)


def check_supplement(state: CaseState, step: Step[Supplement], policy: Policy) -> None:
    require_role(step.actor, Operation.FILE_SUPPLEMENT)
    if state.closed:
        raise Rejection(RejectionKind.CONFLICT, f"the case is closed ({state.disposition}); it takes no supplement")
    supplement = step.payload
    refuse_unknown_flags(supplement.recordings, policy)
    for i, recording in enumerate(supplement.recordings):
        if state.recording(recording.camera_id) is not None:
            raise Rejection(
                RejectionKind.INVALID,
                f"camera '{recording.camera_id}' is already in this case",
                f"recordings[{i}].camera_id",
            )
    cameras = {r.camera_id for r in state.recordings} | {r.camera_id for r in supplement.recordings}
    ids = {p.id for p in state.people}
    for i, statement in enumerate(supplement.statements):
        if statement.person_id not in ids:
            raise Rejection(
                RejectionKind.INVALID, f"no person '{statement.person_id}' in this case", f"statements[{i}].person_id"
            )
        if statement.camera_id is not None and statement.camera_id not in cameras:
            raise Rejection(
                RejectionKind.INVALID,
                f"camera '{statement.camera_id}' is not among this case's recordings",
                f"statements[{i}].camera_id",
            )
    for i, person in enumerate(supplement.people):
        for j, statement in enumerate(person.statements):
            if statement.camera_id is not None and statement.camera_id not in cameras:
                raise Rejection(
                    RejectionKind.INVALID,
                    f"camera '{statement.camera_id}' is not among this case's recordings",
                    f"people[{i}].statements[{j}].camera_id",
                )
    # Applied to a copy, corrections one after another as they will be: a correction that cannot be made is
    # refused naming it, and so is a supplement that would leave the case holding more than a filing may.
    trial = state.model_copy(deep=True)
    apply_supplement(trial, step, state.filed_at, policy)
    try:
        CaseState.model_validate(trial.model_dump())
    except ValidationError as exc:
        error = exc.errors()[0]
        field = next((part for part in reversed(error["loc"]) if isinstance(part, str)), "body")
        held = error.get("ctx", {})
        message = (
            f"the case would hold {held['actual_length']} of these; it may hold at most {held['max_length']}"
            if error["type"] == "too_long"
            else f"the case would not be valid: {error['msg']}"
        )
        raise Rejection(RejectionKind.INVALID, message, field) from None


def apply_supplement(state: CaseState, step: Step[Supplement], now: datetime, policy: Policy) -> dict | None:
    supplement, by = step.payload, PersonRef.of(step.actor)
    state.supplements.append(Recorded(payload=supplement, by=by, at=now))
    number = len(state.supplements)
    for recording in supplement.recordings:
        state.recordings.append(
            RecordingState(
                **recording.model_dump(), purge_at=purge_at(recording.started_at, recording.flag_reasons, policy)
            )
        )
    if supplement.recordings:
        # The hold reopens for the new recordings alone (those held stay held), due from their purge dates.
        footage = state.tasks[Task.FOOTAGE_HOLD]
        if footage.status == TaskStatus.OPEN:
            footage.due_at = footage_hold_due(state, footage.opened_at, policy)
        else:
            open_task(state, Task.FOOTAGE_HOLD, now, policy)
    for person in supplement.people:
        state.add_person(person, by, now)
    for added in supplement.statements:
        person = next(p for p in state.people if p.id == added.person_id)
        person.statements = [*person.statements, StatementIn.model_validate(added.model_dump(exclude={"person_id"}))]
    if supplement.federal_personnel:
        state.details = state.details.model_copy(
            update={"federal_personnel": [*state.details.federal_personnel, *supplement.federal_personnel]}
        )
    changes = []
    for i, correction in enumerate(supplement.corrections):
        change = correct(state, correction.field, correction.value, f"corrections[{i}]")
        state.corrections.append(
            CorrectionRecord(
                field=change.field,
                old=change.old,
                new=change.new,
                reason=correction.reason,
                by=by,
                at=now,
                supplement=number,
            )
        )
        changes.append({"field": change.field, "old": change.old, "new": change.new})
    # The audit event keeps what each corrected field held before, beside the supplement itself.
    return {"supplement": number, "corrected": changes} if changes else {"supplement": number}


def _require_not_closed(state: CaseState, what: str) -> None:
    if state.closed:
        raise Rejection(RejectionKind.CONFLICT, f"the case is closed ({state.disposition}); {what}")


def check_add_evidence(state: CaseState, step: Step[EvidenceItem], policy: Policy) -> None:
    require_role(step.actor, Operation.ADD_EVIDENCE)
    _require_not_closed(state, "no evidence can be added")
    item = step.payload
    if item.person_id is not None and not any(p.id == item.person_id for p in state.people):
        raise Rejection(RejectionKind.INVALID, f"no person '{item.person_id}' in this case", "person_id")
    if state.evidence_item(item.id) is not None:
        raise Rejection(RejectionKind.CONFLICT, f"evidence {item.id} is already in this case", "id")
    if item.touhy_request_id is not None and state.touhy_request(item.touhy_request_id) is None:
        raise Rejection(
            RejectionKind.INVALID, f"no Touhy request {item.touhy_request_id} in this case", "touhy_request_id"
        )


def apply_add_evidence(state: CaseState, step: Step[EvidenceItem], now: datetime, policy: Policy) -> dict | None:
    number = len(state.evidence) + 1
    state.evidence.append(
        EvidenceEntry(item=step.payload, number=number, added_by=PersonRef.of(step.actor), added_at=now)
    )
    return {"number": number}


def check_remove_evidence(state: CaseState, step: Step[EvidenceRemoval], policy: Policy) -> None:
    require_role(step.actor, Operation.REMOVE_EVIDENCE)
    _require_not_closed(state, "its evidence stays as it is")
    entry = state.evidence_item(step.payload.evidence_id)
    if entry is None:
        raise Rejection(RejectionKind.INVALID, f"no evidence {step.payload.evidence_id} in this case", "evidence_id")
    if entry.removed is not None:
        raise Rejection(RejectionKind.CONFLICT, f"evidence {entry.number} was already removed", "evidence_id")


def apply_remove_evidence(state: CaseState, step: Step[EvidenceRemoval], now: datetime, policy: Policy) -> dict | None:
    entry = state.evidence_item(step.payload.evidence_id)
    entry.removed = Recorded(payload=step.payload, by=PersonRef.of(step.actor), at=now)
    return {"number": entry.number, "sha256": entry.item.sha256}


def _require_prosecution(state: CaseState, what: str) -> ProsecutionState:
    _require_not_closed(state, what)
    if state.stage != Stage.PROSECUTION or state.prosecution is None:
        raise Rejection(
            RejectionKind.CONFLICT,
            f"{what} comes after the prosecutor's acknowledgement: the case is in stage {state.stage.value}",
        )
    return state.prosecution


def _require_charged(state: CaseState, what: str) -> ProsecutionState:
    prosecution = _require_prosecution(state, what)
    if not prosecution.charged:
        raise Rejection(RejectionKind.CONFLICT, f"{what} needs a charging decision of 'charged' first")
    return prosecution


# A grand jury sits within this long of the decision that sends the case to it.
GRAND_JURY_WITHIN = timedelta(days=730)


def check_charging_decision(state: CaseState, step: Step[ChargingDecision], policy: Policy) -> None:
    _begin(state, step, Operation.CHARGING_DECISION, Task.CHARGING_DECISION)
    decision = step.payload
    decided = decision.decided_at.date()
    if decision.arraignment_date is not None and decision.arraignment_date < decided - timedelta(days=1):
        raise Rejection(
            RejectionKind.INVALID,
            f"must not be before the charging decision ({decided.isoformat()})",
            "arraignment_date",
        )
    if decision.grand_jury_date is not None and not (
        decided - timedelta(days=1) <= decision.grand_jury_date <= decided + GRAND_JURY_WITHIN
    ):
        raise Rejection(
            RejectionKind.INVALID,
            f"must be on or after the decision ({decided.isoformat()}) and within {GRAND_JURY_WITHIN.days} days of it",
            "grand_jury_date",
        )
    subjects = state.referred_subjects()
    for i, filed in enumerate(decision.charges):
        if subjects and filed.subject not in subjects:
            raise Rejection(
                RejectionKind.INVALID,
                f"'{filed.subject}' is not among the subjects the legal review referred ({'; '.join(subjects)})",
                f"charges[{i}].subject",
            )
        for j, statute in enumerate(filed.statutes):
            if policy.statute(statute) is None:
                raise Rejection(
                    RejectionKind.INVALID, f"'{statute}' is not in the statute catalogue", f"charges[{i}].statutes[{j}]"
                )


def apply_charging_decision(
    state: CaseState, step: Step[ChargingDecision], now: datetime, policy: Policy
) -> dict | None:
    decision, prosecution = step.payload, state.prosecution
    prosecution.decisions.append(Recorded(payload=decision, by=PersonRef.of(step.actor), at=now))
    task = state.tasks[Task.CHARGING_DECISION]
    if decision.decision == ChargingKind.GRAND_JURY:
        # The task stays open, due once the grand jury has sat: a true bill is 'charged', no bill 'declined'.
        end_of_day = datetime.combine(decision.grand_jury_date + timedelta(days=1), time(0), tzinfo=policy.zone)
        task.due_at = end_of_day.astimezone(UTC) + policy.prosecution.grand_jury_decision_after
        task.escalation_level = 0
        return {"due_at": task.due_at.isoformat()}
    complete_task(state, Task.CHARGING_DECISION, step.actor, now)
    if decision.arraignment_date is not None:
        return _open_removal_window(prosecution, decision.arraignment_date, policy)
    return None


def _open_removal_window(prosecution: ProsecutionState, arraignment: date, policy: Policy) -> dict:
    prosecution.arraignment_date = arraignment
    prosecution.removal_deadline, prosecution.removal_due_at = removal_window(arraignment, policy)
    return {"removal_deadline": prosecution.removal_deadline.isoformat()}


def check_arraignment(state: CaseState, step: Step[Arraignment], policy: Policy) -> None:
    require_role(step.actor, Operation.ARRAIGNMENT)
    prosecution = _require_charged(state, "the arraignment")
    if prosecution.arraignment_date is not None:
        raise Rejection(
            RejectionKind.CONFLICT,
            f"the arraignment is already recorded ({prosecution.arraignment_date.isoformat()})",
            "arraignment_date",
        )
    if step.payload.arraignment_date < prosecution.decision.decided_at.date() - timedelta(days=1):
        raise Rejection(
            RejectionKind.INVALID,
            f"must not be before the charging decision ({prosecution.decision.decided_at.date().isoformat()})",
            "arraignment_date",
        )


def apply_arraignment(state: CaseState, step: Step[Arraignment], now: datetime, policy: Policy) -> dict | None:
    state.prosecution.arraignment = Recorded(payload=step.payload, by=PersonRef.of(step.actor), at=now)
    return _open_removal_window(state.prosecution, step.payload.arraignment_date, policy)


def check_removal_notice(state: CaseState, step: Step[RemovalNotice], policy: Policy) -> None:
    require_role(step.actor, Operation.REMOVAL_NOTICE)
    prosecution = _require_charged(state, "a notice of removal")
    if prosecution.removal_notice is not None:
        raise Rejection(
            RejectionKind.CONFLICT,
            f"a notice of removal is already recorded ({prosecution.removal_notice.payload.federal_case_number})",
        )
    if prosecution.outcome is not None:
        raise Rejection(RejectionKind.CONFLICT, "the prosecution's outcome is already recorded")


def apply_removal_notice(state: CaseState, step: Step[RemovalNotice], now: datetime, policy: Policy) -> dict | None:
    prosecution = state.prosecution
    prosecution.removal_notice = Recorded(payload=step.payload, by=PersonRef.of(step.actor), at=now)
    # Filed after the window: § 1455(b)(1) lets the court grant leave for good cause; the case records it as late.
    late = prosecution.removal_deadline is not None and step.payload.filed_on > prosecution.removal_deadline
    return {"late": late}


def check_removal_outcome(state: CaseState, step: Step[RemovalOutcome], policy: Policy) -> None:
    require_role(step.actor, Operation.REMOVAL_OUTCOME)
    prosecution = _require_charged(state, "the outcome of a removal")
    if prosecution.removal_notice is None:
        raise Rejection(RejectionKind.CONFLICT, "no notice of removal is recorded")
    if prosecution.removal_outcome is not None:
        raise Rejection(
            RejectionKind.CONFLICT,
            f"the removal's outcome is already recorded ({prosecution.removal_outcome.payload.result.value})",
        )
    if step.payload.decided_on < prosecution.removal_notice.payload.filed_on:
        raise Rejection(
            RejectionKind.INVALID,
            "must not be before the notice of removal was filed "
            f"({prosecution.removal_notice.payload.filed_on.isoformat()})",
            "decided_on",
        )


def apply_removal_outcome(state: CaseState, step: Step[RemovalOutcome], now: datetime, policy: Policy) -> dict | None:
    state.prosecution.removal_outcome = Recorded(payload=step.payload, by=PersonRef.of(step.actor), at=now)


def prosecution_steps(state: CaseState) -> list[Operation]:
    """The steps after charges that the case takes now (each also checked by its own check)."""
    prosecution = state.prosecution
    if state.stage != Stage.PROSECUTION or prosecution is None or not prosecution.charged:
        return []
    found = [Operation.ARRAIGNMENT] if prosecution.arraignment_date is None else []
    if prosecution.removal_notice is None and prosecution.outcome is None:
        found.append(Operation.REMOVAL_NOTICE)
    if prosecution.removal_pending:
        found.append(Operation.REMOVAL_OUTCOME)
    if prosecution.outcome is None:
        found.append(Operation.PROSECUTION_OUTCOME)
    return found


# While a removal is pending the state court may not enter a judgment of conviction (28 U.S.C. § 1455(b)(3)).
CONVICTIONS = (ProsecutionOutcome.CONVICTED, ProsecutionOutcome.PLEA)


def check_prosecution_outcome(state: CaseState, step: Step[ProsecutionOutcomeIn], policy: Policy) -> None:
    require_role(step.actor, Operation.PROSECUTION_OUTCOME)
    prosecution = _require_charged(state, "the prosecution's outcome")
    if prosecution.outcome is not None:  # (a second one queued behind the first, before the case closed)
        raise Rejection(
            RejectionKind.CONFLICT,
            f"the prosecution's outcome is already recorded ({prosecution.outcome.payload.outcome.value})",
        )
    if prosecution.removal_pending and step.payload.outcome in CONVICTIONS:
        raise Rejection(
            RejectionKind.CONFLICT,
            "a notice of removal is pending: the state court may not enter a "
            "judgment of conviction until the federal court remands (28 U.S.C. § 1455(b)(3)); record "
            "the removal's outcome first",
            "outcome",
        )


def apply_prosecution_outcome(
    state: CaseState, step: Step[ProsecutionOutcomeIn], now: datetime, policy: Policy
) -> dict | None:
    state.prosecution.outcome = Recorded(payload=step.payload, by=PersonRef.of(step.actor), at=now)


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
    EventKind.SUPPLEMENT_FILED: (check_supplement, apply_supplement),
    EventKind.EVIDENCE_ADDED: (check_add_evidence, apply_add_evidence),
    EventKind.EVIDENCE_REMOVED: (check_remove_evidence, apply_remove_evidence),
    EventKind.CHARGING_DECIDED: (check_charging_decision, apply_charging_decision),
    EventKind.ARRAIGNMENT_RECORDED: (check_arraignment, apply_arraignment),
    EventKind.REMOVAL_NOTICE_RECORDED: (check_removal_notice, apply_removal_notice),
    EventKind.REMOVAL_OUTCOME_RECORDED: (check_removal_outcome, apply_removal_outcome),
    EventKind.PROSECUTION_OUTCOME_RECORDED: (check_prosecution_outcome, apply_prosecution_outcome),
    EventKind.TOUHY_RESPONSE_RECORDED: (check_touhy_response, apply_touhy_response),
}
