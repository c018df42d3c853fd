"""After the investigation: the legal review (with its Touhy requests and their answers), the command's approval
and the prosecutor's acknowledgement of the referral."""

from datetime import datetime, tzinfo
from typing import Any

from referrals.domain.case import (
    CaseState,
    PersonRef,
    Recorded,
    TouhyRequestState,
    complete_task,
    held_review_due,
    open_task,
)
from referrals.domain.chronology import require_order, shown
from referrals.domain.enums import (
    ApprovalDecision,
    DocumentKind,
    ReviewDecision,
    Role,
    SubjectDisposition,
    Task,
    TaskStatus,
)
from referrals.domain.errors import Rejection, RejectionKind
from referrals.domain.messages import (
    ChargeAnalysis,
    CommandApproval,
    ElementProof,
    Exhibit,
    HeldSubjectReview,
    LegalReview,
    LegalReviewIn,
    ReferralAcknowledgement,
    Step,
    SubjectAnalysis,
    TouhyResponse,
)
from referrals.domain.policy import Policy
from referrals.domain.steps.declaration import declare, require_not_closed

PROSECUTION_SIDE = frozenset({Role.PROSECUTOR_LIAISON, Role.COMMAND})


def check_legal_review(state: CaseState, step: Step[LegalReview], policy: Policy) -> None:
    review = step.payload
    for i, wanted in enumerate(review.federal_evidence):
        if policy.touhy.agency(wanted.agency) is None:
            raise Rejection(
                RejectionKind.INVALID,
                f"'{wanted.agency}' is not among the agencies Touhy requests go to "
                f"({', '.join(a.code for a in policy.touhy.agencies)})",
                f"federal_evidence[{i}].agency",
            )
    # An element may cite the Touhy requests this review makes (T N onwards) as well as the case's earlier ones.
    made = len(state.touhy_requests)
    touhy = [r.id for r in state.touhy_requests] + [f"T{made + n}" for n in range(1, len(review.federal_evidence) + 1)]
    for i, subject in enumerate(review.subjects):
        # To refer, each charge of a subject referred is proved element by element.
        proving = review.decision == ReviewDecision.REFER and subject.outcome == SubjectDisposition.REFERRED
        check_subject(state, subject, policy, f"subjects[{i}]", proving, touhy)


def check_subject(
    state: CaseState, subject: SubjectAnalysis, policy: Policy, where: str, proving: bool, touhy: list[str]
) -> None:
    """A subject's charges are among those alleged; each element named is the statute's, every element is
    addressed when the subject is referred, and each exhibit cited is the case's."""
    alleged = state.alleged_statutes()
    for j, charge in enumerate(subject.charges):
        at = f"{where}.charges[{j}]"
        if charge.statute not in alleged:
            raise Rejection(
                RejectionKind.INVALID,
                f"'{charge.statute}' is not among the alleged statutes ({', '.join(alleged)})",
                f"{at}.statute",
            )
        _check_elements(state, charge, policy, at, proving, touhy)


def _check_elements(
    state: CaseState, charge: ChargeAnalysis, policy: Policy, where: str, proving: bool, touhy: list[str]
) -> None:
    statute = policy.statute(charge.statute)
    # A charge names a statute its case's violation report alleged, each checked against this policy on arrival.
    assert statute is not None
    elements = statute.elements
    for k, proof in enumerate(charge.elements):
        if elements and proof.element > len(elements):
            raise Rejection(
                RejectionKind.INVALID,
                f"{charge.statute} has {len(elements)} elements in the catalogue",
                f"{where}.elements[{k}].element",
            )
        _check_exhibits(state, proof, f"{where}.elements[{k}]", touhy, policy.zone)
    missing = sorted(set(range(1, len(elements) + 1)) - {p.element for p in charge.elements})
    if proving and missing:
        raise Rejection(
            RejectionKind.INVALID,
            f"to refer, every element of {charge.statute} needs its facts: "
            f"element {', '.join(map(str, missing))} ({elements[missing[0] - 1]}) is not addressed",
            f"{where}.elements",
        )


def _check_exhibits(state: CaseState, proof: ElementProof, where: str, touhy: list[str], zone: tzinfo) -> None:
    """Each exhibit an element cites is the case's: a recording (and a moment inside it), an evidence item still
    on the case, a statement taken, a Touhy request."""
    for m, exhibit in enumerate(proof.exhibits):
        at = f"{where}.exhibits[{m}]"
        problem, field = _exhibit_problem(state, exhibit, touhy, zone)
        if problem:
            raise Rejection(RejectionKind.INVALID, problem, f"{at}.{field}")


def _exhibit_problem(state: CaseState, exhibit: Exhibit, touhy: list[str], zone: tzinfo) -> tuple[str, str]:
    if (camera := exhibit.recording) is not None:
        recording = state.recording(camera)
        if recording is None:
            cameras = ", ".join(r.camera_id for r in state.recordings) or "none"
            return f"no recording from camera {camera} on this case (its cameras: {cameras})", "recording"
        moment = exhibit.at
        if moment is not None and not recording.started_at <= moment <= recording.ended_at:
            return (
                f"must be within camera {camera}'s recording ({shown(recording.started_at, zone)} to "
                f"{shown(recording.ended_at, zone)}); it is dated {shown(moment, zone)}",
                "at",
            )
    if (number := exhibit.evidence) is not None:
        entry = next((e for e in state.evidence if e.number == number), None)
        if entry is None:
            return f"no evidence item C{number} on this case", "evidence"
        if entry.removed is not None:
            return f"evidence item C{number} was removed from the case", "evidence"
    if (of := exhibit.statement) is not None:
        person = next((p for p in state.people if p.id == f"P{of.person}"), None)
        if person is None:
            return f"no person P{of.person} on this case", "statement.person"
        if of.number > len(person.statements):
            return f"P{of.person} has {len(person.statements)} statement(s) on this case", "statement.number"
    if exhibit.touhy is not None and exhibit.touhy not in touhy:
        return f"no Touhy request {exhibit.touhy} on this case ({', '.join(touhy) or 'none made'})", "touhy"
    return "", ""


def apply_legal_review(
    state: CaseState, step: Step[LegalReview], now: datetime, policy: Policy
) -> dict[str, Any] | None:
    state.legal_reviews.append(Recorded(payload=step.payload, by=PersonRef.of(step.actor), at=now))
    complete_task(state, Task.LEGAL_REVIEW, step.actor, now)
    made = []
    for wanted in step.payload.federal_evidence:  # each a Touhy request to its agency, due on its own
        found = policy.touhy.agency(wanted.agency)
        assert found is not None  # check_legal_review refused an agency the policy does not list
        agency = found.code
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
    _held_task_follows(state, step.actor, now, policy)
    if made:
        _touhy_task_follows(state, now, policy)
        return {"touhy_requests": made}
    return None


def _held_task_follows(state: CaseState, actor: Any, now: datetime, policy: Policy) -> None:
    """The held subjects' review: open while one is held, due on the earliest review day (its ladder afresh when
    that day moves); done when none is held."""
    task = state.tasks[Task.HELD_SUBJECT_REVIEW]
    if state.held_subjects():
        due = held_review_due(state, policy)
        if task.status != TaskStatus.OPEN or task.due_at != due:
            open_task(state, Task.HELD_SUBJECT_REVIEW, now, policy)
    elif task.status == TaskStatus.OPEN:
        complete_task(state, Task.HELD_SUBJECT_REVIEW, actor, now)


def _touhy_task_follows(state: CaseState, now: datetime, policy: Policy) -> None:
    """The answers' task, while a request is unanswered: open, due when the earliest unanswered one is, at the
    highest level of their ladders (each request escalates on its own)."""
    task = state.tasks[Task.TOUHY_RESPONSE]
    unanswered = state.unanswered_touhy()
    if task.status != TaskStatus.OPEN:
        open_task(state, Task.TOUHY_RESPONSE, now, policy)
    task.due_at = min(r.due_at for r in unanswered)
    task.escalation_level = max(r.escalation_level for r in unanswered)


def _memo_and_letters(state: CaseState) -> list[DocumentKind]:
    """The reviewer's memo, and a Touhy request letter for each agency it asks evidence of (the Nth letter is
    request T N's)."""
    return [DocumentKind.LEGAL_REVIEW_MEMO] + [DocumentKind.TOUHY_REQUEST] * len(
        state.legal_reviews[-1].payload.federal_evidence
    )


LEGAL_REVIEW = declare(
    name="legal_review",
    task=Task.LEGAL_REVIEW,
    request=LegalReviewIn,
    payload=LegalReview,
    event="legal_review_decided",
    chronicle="Legal review decided",
    roles=frozenset({Role.LEGAL_REVIEWER}),
    check=check_legal_review,
    change=apply_legal_review,
    documents=_memo_and_letters,
    summary="Refer, decline or return, with the analysis per federal subject: the elements of each charge and "
    "the two prongs of Supremacy Clause immunity",
    title="Legal review",
    button="Record the decision",
    done="Legal review recorded.",
    rows=(("subjects", frozenset({"subject", "agency"})),),  # (prefilled from the federal personnel)
)


def check_held_subject_review(state: CaseState, step: Step[HeldSubjectReview], policy: Policy) -> None:
    require_not_closed(state, "its subjects stay as they were")
    review = step.payload
    held = next((s for s in state.held_subjects() if s.subject == review.subject), None)
    if held is None:
        names = ", ".join(s.subject for s in state.held_subjects()) or "none is held"
        raise Rejection(
            RejectionKind.INVALID, f"'{review.subject}' is not a held subject of this case ({names})", "subject"
        )
    subject = review.applied_to(held)
    if review.disposition == SubjectDisposition.REFERRED:
        if not subject.charges:
            raise Rejection(
                RejectionKind.INVALID, "a subject is referred with at least one charge: give the analysis", "analysis"
            )
        if subject.finding.value == "immune":
            raise Rejection(RejectionKind.INVALID, "a subject found immune is not referred", "disposition")
    touhy = [r.id for r in state.touhy_requests]
    proving = review.disposition == SubjectDisposition.REFERRED
    check_subject(state, subject, policy, "analysis", proving, touhy)


def apply_held_subject_review(
    state: CaseState, step: Step[HeldSubjectReview], now: datetime, policy: Policy
) -> dict[str, Any]:
    state.subject_reviews.append(Recorded(payload=step.payload, by=PersonRef.of(step.actor), at=now))
    _held_task_follows(state, step.actor, now, policy)
    return {"disposition": step.payload.disposition.value}


def _packet_if_referred_since(state: CaseState) -> list[DocumentKind]:
    """A subject referred after the referral was sent: the packet's next version, superseding the last."""
    referred = state.subject_reviews[-1].payload.disposition == SubjectDisposition.REFERRED
    sent = any(d.kind == DocumentKind.REFERRAL_PACKET for d in state.documents) or (
        DocumentKind.REFERRAL_PACKET in state.documents_pending
    )
    return [DocumentKind.REFERRAL_PACKET] if referred and sent else []


HELD_SUBJECT_REVIEW = declare(
    name="held_subject_review",
    task=Task.HELD_SUBJECT_REVIEW,
    needs_open_task=False,  # its check says whether the subject is held
    request=HeldSubjectReview,
    event="held_subject_reviewed",
    chronicle="Held subject reviewed",
    roles=frozenset({Role.LEGAL_REVIEWER}),
    check=check_held_subject_review,
    change=apply_held_subject_review,
    documents=_packet_if_referred_since,
    summary="Review a subject the referral held back: refer them (the referral's next version adds them), do not "
    "charge them, or hold them until a later day",
    title="Review a held subject",
    button="Record the review",
    done="Held subject's review recorded.",
    groups=("held",),  # left blank unless held again
)


def check_command_approval(state: CaseState, step: Step[CommandApproval], policy: Policy) -> None:
    review = state.latest_review()
    if step.actor.user_id == state.filed_by.id:
        raise Rejection(RejectionKind.FORBIDDEN, "separation of duties: the filer may not approve the referral")
    if review is not None and step.actor.user_id == review.by.id:
        raise Rejection(
            RejectionKind.FORBIDDEN, "separation of duties: the legal reviewer may not approve the referral"
        )


def apply_command_approval(state: CaseState, step: Step[CommandApproval], now: datetime, policy: Policy) -> None:
    state.command_decisions.append(Recorded(payload=step.payload, by=PersonRef.of(step.actor), at=now))
    complete_task(state, Task.COMMAND_APPROVAL, step.actor, now)


def _packet_if_approved(state: CaseState) -> list[DocumentKind]:
    approved = state.command_decisions[-1].payload.decision == ApprovalDecision.APPROVE
    return [DocumentKind.REFERRAL_PACKET] if approved else []


COMMAND_APPROVAL = declare(
    name="command_approval",
    task=Task.COMMAND_APPROVAL,
    request=CommandApproval,
    event="command_decided",
    chronicle="Command decision",
    roles=frozenset({Role.COMMAND}),
    check=check_command_approval,
    change=apply_command_approval,
    documents=_packet_if_approved,
    summary="Approve or reject the referral",
    title="Command approval",
    button="Record the decision",
    done="Command decision recorded.",
)


def check_acknowledgement(state: CaseState, step: Step[ReferralAcknowledgement], policy: Policy) -> None:
    """The prosecutor received the referral after command approved it."""
    approved = [c for c in state.command_decisions if c.payload.decision == ApprovalDecision.APPROVE]
    if approved:
        require_order(step.payload.received_at, approved[-1].at, "the command's approval", "received_at", policy.zone)


def apply_acknowledgement(
    state: CaseState,
    step: Step[ReferralAcknowledgement],
    now: datetime,
    policy: Policy,
) -> None:
    state.acknowledgement = Recorded(payload=step.payload, by=PersonRef.of(step.actor), at=now)
    complete_task(state, Task.REFERRAL_ACKNOWLEDGEMENT, step.actor, now)


REFERRAL_ACKNOWLEDGEMENT = declare(
    name="referral_acknowledgement",
    task=Task.REFERRAL_ACKNOWLEDGEMENT,
    request=ReferralAcknowledgement,
    event="referral_acknowledged",
    chronicle="Referral acknowledged by the prosecutor",
    roles=frozenset({Role.PROSECUTOR_LIAISON}),
    check=check_acknowledgement,
    change=apply_acknowledgement,
    summary="Record the prosecutor's acknowledgement",
    title="Record the prosecutor's acknowledgement",
    button="Record the acknowledgement",
    done="Prosecutor's acknowledgement recorded.",
)


def check_touhy_response(state: CaseState, step: Step[TouhyResponse], policy: Policy) -> None:
    require_not_closed(state, "its Touhy requests stay as they are")
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
    what = f"Touhy request {request.id} was made"
    require_order(answer.received_on, request.requested_at, what, "received_on", policy.zone)


def apply_touhy_response(state: CaseState, step: Step[TouhyResponse], now: datetime, policy: Policy) -> dict[str, Any]:
    request = state.touhy_request(step.payload.request_id)
    assert request is not None  # check_touhy_response refused a request the case does not hold
    request.response = Recorded(payload=step.payload, by=PersonRef.of(step.actor), at=now)
    if state.unanswered_touhy():
        _touhy_task_follows(state, now, policy)
    else:  # every request has its answer
        complete_task(state, Task.TOUHY_RESPONSE, step.actor, now)
    return {"agency": request.agency}


# The desk sends the request's id in the form; the API takes it from the path (referrals/api/routes/steps.py).
TOUHY_RESPONSE = declare(
    name="touhy_response",
    task=Task.TOUHY_RESPONSE,
    needs_open_task=False,  # a request's own check says whether it is answered
    request=TouhyResponse,
    event="touhy_response_recorded",
    chronicle="Touhy response recorded",
    roles=PROSECUTION_SIDE,
    check=check_touhy_response,
    change=apply_touhy_response,
    path="/touhy-requests/{request_id}/response",
    routed=False,
    summary="Record a federal agency's answer to a Touhy request: produced, partly produced, refused (with the "
    "ground stated) or no answer",
    title="Record an agency's answer to a Touhy request",
    button="Record the answer",
    done="Touhy answer recorded.",
)
