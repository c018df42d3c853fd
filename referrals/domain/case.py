"""The whole state of one case, as the workflow holds it and the read model stores it."""

from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from typing import Annotated, Any, Generic
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, TypeAdapter, field_validator

from referrals.domain.enums import (
    INVESTIGATION_TASKS,
    TASK_OWNER,
    ChargingKind,
    Disposition,
    DocumentKind,
    Role,
    Stage,
    SubjectDisposition,
    Task,
    TaskStatus,
)
from referrals.domain.messages import (
    Actor,
    Arraignment,
    ChargingDecision,
    CommandApproval,
    EvidenceItem,
    EvidenceRemoval,
    HeldSubjectReview,
    IncidentDetails,
    IncidentFiling,
    LegalReview,
    P,
    Person,
    ProsecutionOutcomeIn,
    ReferralAcknowledgement,
    RemovalNotice,
    RemovalOutcome,
    SoughtRecord,
    SubjectAnalysis,
    SupervisorIdentification,
    Supplement,
    TouhyResponse,
    ViolationReport,
    Withdrawal,
)
from referrals.domain.policy import Policy


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PersonRef(_Model):
    id: str
    name: str

    @classmethod
    def of(cls, actor: Actor) -> "PersonRef":
        return cls(id=actor.user_id, name=actor.name)


class TaskState(_Model):
    status: TaskStatus = TaskStatus.PENDING
    owner_role: Role
    opened_at: datetime | None = None
    due_at: datetime | None = None
    escalation_level: int = 0
    completed_by: PersonRef | None = None
    completed_at: datetime | None = None


class RecordingState(_Model):
    camera_id: str
    officer_star: str
    started_at: datetime
    ended_at: datetime
    flag_reasons: list[str]  # the codes of the case's policy's recording_flags
    purge_at: datetime
    hold_reference: str | None = None
    retained_until: date | None = None
    held_by: PersonRef | None = None
    held_at: datetime | None = None
    hold_round: int | None = None  # the investigation round in which the hold was confirmed

    @property
    def held(self) -> bool:
        return self.hold_reference is not None


class PurgeWarning(_Model):
    """A recording already purged, or inside the hold safety margin, when the case was filed."""

    camera_id: str
    purge_at: datetime
    status: str  # "purged" | "inside_margin"


class DocumentRef(_Model):
    """A generated document as the case lists it; its bytes stay in PostgreSQL, never in history."""

    id: str
    kind: DocumentKind
    version: int
    filename: str
    size: int
    sha256: str
    created_at: datetime


class InvolvedPerson(Person):
    """A civilian in the case (contact details sealed), with the id statements and corrections name them by."""

    model_config = ConfigDict(extra="forbid", frozen=False)

    id: str  # "P1", "P2", … in the order they were added
    added_by: PersonRef
    added_at: datetime


class Recorded(_Model, Generic[P]):
    """A human step as it was accepted: what was said, by whom, when."""

    payload: P
    by: PersonRef
    at: datetime


class EvidenceEntry(_Model):
    """An evidence item of the case, numbered in the order it was added; a removed one stays, as a tombstone."""

    item: EvidenceItem
    number: int
    added_by: PersonRef
    added_at: datetime
    removed: Recorded[EvidenceRemoval] | None = None


class ProsecutionState(_Model):
    """What followed the referral: the charging decisions in order (a grand jury, further investigation, then
    charges or a declination), the arraignment and the removal window it opens, a removal, the final outcome."""

    decisions: list[Recorded[ChargingDecision]] = []
    arraignment: Recorded[Arraignment] | None = None  # when recorded after the charging decision
    arraignment_date: date | None = None
    removal_deadline: date | None = None  # the last day for a notice of removal (28 U.S.C. § 1455(b)(1))
    removal_due_at: datetime | None = None  # the moment that day ends, in the department's time zone
    removal_window_closed: bool = False  # the deadline passed with no notice filed
    removal_notice: Recorded[RemovalNotice] | None = None
    removal_outcome: Recorded[RemovalOutcome] | None = None
    outcome: Recorded[ProsecutionOutcomeIn] | None = None

    @property
    def decision(self) -> ChargingDecision | None:
        return self.decisions[-1].payload if self.decisions else None

    @property
    def charged(self) -> bool:
        return self.decision is not None and self.decision.decision == ChargingKind.CHARGED

    @property
    def removal_window_open(self) -> bool:
        return self.removal_due_at is not None and not self.removal_window_closed and self.removal_notice is None

    @property
    def removal_pending(self) -> bool:
        """Removed to federal court, and not yet remanded or kept there."""
        return self.removal_notice is not None and self.removal_outcome is None


def removal_window(arraignment: date, policy: Policy) -> tuple[date, datetime]:
    """The last day a notice of removal is due (30 days after the arraignment), and when that day ends. A last
    day on a Saturday, a Sunday or a court holiday of the policy moves to the next day that is none of them
    (Fed. R. Crim. P. 45(a)(1)(C), for a statute that does not say how to count)."""
    last = arraignment + timedelta(days=policy.prosecution.removal_window_days)
    while last.weekday() >= 5 or last in policy.prosecution.court_holidays:
        last += timedelta(days=1)
    return last, datetime.combine(last + timedelta(days=1), time(0), tzinfo=policy.zone).astimezone(UTC)


class TouhyRequestState(_Model):
    """A Touhy request to one agency, made by a legal review: what it asks for, when it is due, the answer."""

    id: str  # "T1", "T2", … in the order made; the Nth touhy_request document is T N's letter
    agency: str
    records: list[SoughtRecord]
    review: int  # the number of the legal review that asked for it
    requested_at: datetime
    due_at: datetime
    escalation_level: int = 0  # its own ladder (the policy's touhy_response ladder) from its own due time
    response: Recorded[TouhyResponse] | None = None


class CorrectionRecord(_Model):
    """A filed fact put right: what it was, what it is now, why, who and when (never overwritten silently)."""

    field: str
    old: Any
    new: Any
    reason: str
    by: PersonRef
    at: datetime
    supplement: int  # the number of the supplement that made it


class IncidentInput(_Model):
    """The workflow's input: everything it needs, including the policy in force at filing."""

    case_id: str
    case_number: str
    filed_by: Actor
    filing: IncidentFiling
    policy: Policy
    request_hash: str
    people: list[Person] = []  # the people involved, named at filing (contact details sealed)
    # A run continued as new carries what the case has recorded (referrals/domain/events.py, Carried, as JSON).
    carried: dict[str, Any] | None = None
    # Continue as new once the history is this long, besides whenever Temporal suggests it (drills and tests).
    continue_after_events: int | None = None
    # A case nobody writes to asks which of its documents are made, and continues as new when due, after this many
    # seconds, not one (tests).
    documents_quiet_seconds: float | None = None


class CaseState(_Model):
    case_id: str
    case_number: str
    district: str
    filed_by: PersonRef
    filed_at: datetime
    request_hash: str
    details: IncidentDetails
    recordings: list[RecordingState]
    people: list[InvolvedPerson] = []
    stage: Stage = Stage.INVESTIGATION
    disposition: Disposition | None = None
    closed_at: datetime | None = None
    tasks: dict[Task, TaskState]
    supervisor_identification: Recorded[SupervisorIdentification] | None = None
    violation_report: Recorded[ViolationReport] | None = None
    legal_reviews: list[Recorded[LegalReview]] = []
    subject_reviews: list[Recorded[HeldSubjectReview]] = []  # held subjects reviewed again, in order
    command_decisions: list[Recorded[CommandApproval]] = []
    acknowledgement: Recorded[ReferralAcknowledgement] | None = None
    withdrawal: Recorded[Withdrawal] | None = None
    prosecution: ProsecutionState | None = None  # from the acknowledgement on
    touhy_requests: list[TouhyRequestState] = []
    supplements: list[Recorded[Supplement]] = []  # numbered from 1 in this order
    evidence: list[EvidenceEntry] = []
    corrections: list[CorrectionRecord] = []
    purge_warnings: list[PurgeWarning] = []
    documents: list[DocumentRef] = []
    documents_pending: list[DocumentKind] = []  # requested by a step, being generated
    investigation_round: int = 1
    event_seq: int = 0

    @field_validator("tasks", mode="before")
    @classmethod
    def _tasks_added_since(cls, value: Any) -> Any:
        # A case stored before a task existed (the charging decision) has it pending.
        if isinstance(value, dict):
            have = {str(k) for k in value}
            value = {**value, **{t.value: {"owner_role": TASK_OWNER[t].value} for t in Task if t.value not in have}}
        return value

    @property
    def closed(self) -> bool:
        return self.stage == Stage.CLOSED

    def open_tasks(self) -> list[Task]:
        return [task for task, state in self.tasks.items() if state.status == TaskStatus.OPEN]

    def next_deadline(self) -> datetime | None:
        dues = [due for t in self.open_tasks() if (due := self.tasks[t].due_at) is not None]
        return min(dues) if dues else None

    def escalation_level(self) -> int:
        return max((self.tasks[t].escalation_level for t in self.open_tasks()), default=0)

    def officer_stars(self) -> list[str]:
        return sorted({o.star for o in self.details.officers} | {r.officer_star for r in self.recordings})

    def recording(self, camera_id: str) -> RecordingState | None:
        return next((r for r in self.recordings if r.camera_id == camera_id), None)

    def add_person(self, person: Person, by: PersonRef, at: datetime) -> InvolvedPerson:
        added = InvolvedPerson(**person.model_dump(), id=f"P{len(self.people) + 1}", added_by=by, added_at=at)
        self.people.append(added)
        return added

    def evidence_item(self, evidence_id: str) -> EvidenceEntry | None:
        return next((e for e in self.evidence if e.item.id == evidence_id), None)

    @staticmethod
    def stored_evidence_item(stored: dict[str, Any], evidence_id: str) -> EvidenceEntry | None:
        """`evidence_item` of the case as stored (its JSON), reading that item alone: a case of hundreds of items is
        not read whole to answer for one."""
        found = next((e for e in stored.get("evidence") or [] if e["item"]["id"] == evidence_id), None)
        return EvidenceEntry.model_validate(found) if found is not None else None

    @staticmethod
    def stored_evidence_items(stored_evidence: list[dict[str, Any]], ids: set[str]) -> list[EvidenceEntry]:
        """The items named, in the case's order, of its evidence as stored (JSON): the rest of the case not read."""
        return [EvidenceEntry.model_validate(e) for e in stored_evidence if e["item"]["id"] in ids]

    def alleged_statutes(self) -> list[str]:
        if self.violation_report is None:
            return []
        return sorted({a.statute for a in self.violation_report.payload.allegations})

    def subjects(self) -> list[SubjectAnalysis]:
        """The latest legal review's subjects as they stand: each held one as its later reviews left them."""
        review = self.latest_review()
        if review is None:
            return []
        subjects = list(review.payload.subjects)
        for later in self.subject_reviews:
            if later.at >= review.at:
                subjects = [later.payload.applied_to(s) if s.subject == later.payload.subject else s for s in subjects]
        return subjects

    def referred_subjects(self) -> list[str]:
        """The federal subjects referred: by the latest review, or since, once no longer held."""
        return [s.subject for s in self.subjects() if s.outcome == SubjectDisposition.REFERRED]

    def held_subjects(self) -> list[SubjectAnalysis]:
        return [s for s in self.subjects() if s.outcome == SubjectDisposition.HELD]

    def touhy_request(self, request_id: str) -> TouhyRequestState | None:
        return next((r for r in self.touhy_requests if r.id == request_id), None)

    def unanswered_touhy(self) -> list[TouhyRequestState]:
        return [r for r in self.touhy_requests if r.response is None]

    def latest_review(self) -> Recorded[LegalReview] | None:
        return self.legal_reviews[-1] if self.legal_reviews else None


def purge_at(started_at: datetime, flag_reasons: list[str], policy: Policy) -> datetime:
    """The day an unheld recording is destroyed: its start plus the longest retention its flags imply under the
    case's policy (a case filed before flags were policy: every recording at the unflagged retention)."""
    return started_at + timedelta(days=policy.retention_days(flag_reasons))


def footage_hold_due(state: CaseState, opened_at: datetime, policy: Policy) -> datetime:
    """The earlier of the policy SLA and the earliest unheld recording's purge date less the margin."""
    due = opened_at + policy.tasks[Task.FOOTAGE_HOLD].due
    for recording in state.recordings:
        if not recording.held:
            due = min(due, recording.purge_at - policy.hold_safety_margin)
    return due


def purge_status(recording: RecordingState, now: datetime, policy: Policy) -> str | None:
    """ "purged", "inside_margin" (too close to its purge date for the hold's safety margin), or None."""
    if recording.purge_at <= now:
        return "purged"
    if recording.purge_at - policy.hold_safety_margin <= now:
        return "inside_margin"
    return None


def purge_warnings(state: CaseState, now: datetime, policy: Policy) -> list[PurgeWarning]:
    return [
        PurgeWarning(camera_id=r.camera_id, purge_at=r.purge_at, status=status)
        for r in state.recordings
        if (status := purge_status(r, now, policy))
    ]


def open_task(state: CaseState, task: Task, now: datetime, policy: Policy) -> None:
    entry = state.tasks[task]
    entry.status = TaskStatus.OPEN
    entry.opened_at = now
    entry.escalation_level = 0
    entry.completed_by = None
    entry.completed_at = None
    if task == Task.FOOTAGE_HOLD:
        entry.due_at = footage_hold_due(state, now, policy)
    elif task == Task.TOUHY_RESPONSE:  # when the earliest unanswered request is due
        entry.due_at = min(r.due_at for r in state.unanswered_touhy())
    elif task == Task.HELD_SUBJECT_REVIEW:  # by the end of the earliest held subject's review day
        entry.due_at = held_review_due(state, policy)
    else:
        if task == Task.CHARGING_DECISION and state.prosecution is None:
            state.prosecution = ProsecutionState()
        entry.due_at = now + policy.tasks[task].due


def held_review_due(state: CaseState, policy: Policy) -> datetime:
    """The end of the earliest review day of the held subjects, in the department's time zone."""
    day = min(s.held.review_by for s in state.held_subjects() if s.held is not None)
    return datetime.combine(day + timedelta(days=1), time(0), ZoneInfo(policy.time_zone)).astimezone(UTC)


def complete_task(state: CaseState, task: Task, actor: Actor, now: datetime) -> None:
    entry = state.tasks[task]
    entry.status = TaskStatus.DONE
    entry.completed_by = PersonRef.of(actor)
    entry.completed_at = now


def new_case(inp: IncidentInput, now: datetime) -> CaseState:
    filing = inp.filing
    state = CaseState(
        case_id=inp.case_id,
        case_number=inp.case_number,
        district=filing.district,
        filed_by=PersonRef.of(inp.filed_by),
        filed_at=now,
        request_hash=inp.request_hash,
        details=IncidentDetails.model_validate(filing.model_dump(exclude={"recordings"})),
        recordings=[
            RecordingState(**r.model_dump(), purge_at=purge_at(r.started_at, r.flag_reasons, inp.policy))
            for r in filing.recordings
        ],
        tasks={task: TaskState(owner_role=TASK_OWNER[task]) for task in Task},
    )
    for person in inp.people:
        state.add_person(person, state.filed_by, now)
    for task in INVESTIGATION_TASKS:
        open_task(state, task, now, inp.policy)
    state.purge_warnings = purge_warnings(state, now, inp.policy)
    if not state.recordings:
        # Nothing to preserve: the hold task is complete from the start.
        state.tasks[Task.FOOTAGE_HOLD].status = TaskStatus.DONE
        state.tasks[Task.FOOTAGE_HOLD].completed_at = now
    return state


@cache
def part_adapter(name: str) -> TypeAdapter[Any]:
    """How one part (field) of a case is read and checked alone, as CaseState reads it: a step that changes a few
    parts of a big case checks those, and a write's child tables read those (referrals/store/cases.py)."""
    field = CaseState.model_fields[name]
    annotation: Any = Annotated[field.annotation, *field.metadata] if field.metadata else field.annotation
    return TypeAdapter(annotation)


def workflow_id_for(case_id: str) -> str:
    return f"incident-{case_id}"
