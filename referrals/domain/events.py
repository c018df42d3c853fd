"""The audit trail's vocabulary and the activity inputs that carry it."""

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

from referrals.domain.case import CaseState, DocumentRef, PersonRef
from referrals.domain.case_edits import CaseEdit
from referrals.domain.enums import DocumentKind, Role, Task
from referrals.domain.policy import Policy, Prosecutor


class EventKind(StrEnum):
    """The system's events. Each human step records its own, named in its declaration (referrals/domain/steps):
    `footage_hold_confirmed`, `legal_review_decided`, ..."""

    CASE_FILED = "case_filed"
    REMOVAL_WINDOW_CLOSED = "removal_window_closed"  # 30 days after arraignment, no notice filed
    STAGE_CHANGED = "stage_changed"
    TASKS_REOPENED = "tasks_reopened"
    TASK_ESCALATED = "task_escalated"
    DOCUMENT_GENERATED = "document_generated"
    CASE_CLOSED = "case_closed"


class CaseEvent(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    seq: int
    kind: str  # an EventKind, or a step's event
    actor: PersonRef | None  # None: the system (the workflow itself)
    at: datetime
    data: dict[str, Any]
    # The workflow update (a person's step) that recorded it, outside its hash: a step sent again with the same
    # Idempotency-Key after its case continued as new (Temporal knows a run's own updates only) is found by it.
    update_id: str | None = None


class CaseColumns(BaseModel):
    """The case's read-model columns (the `incident` table's, beside the case itself): what searches and lists filter
    and sort by, drawn from the case where it is whole."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    case_number: str
    district: str
    stage: str
    disposition: str | None
    filed_by_id: str
    officer_stars: list[str]
    open_tasks: list[str]
    next_deadline: datetime | None
    escalation_level: int
    occurred_at: datetime
    filed_at: datetime
    closed_at: datetime | None
    request_hash: str

    @classmethod
    def of(cls, state: CaseState) -> "CaseColumns":
        return cls(
            case_number=state.case_number,
            district=state.district,
            stage=state.stage.value,
            disposition=state.disposition.value if state.disposition else None,
            filed_by_id=state.filed_by.id,
            officer_stars=state.officer_stars(),
            open_tasks=[t.value for t in state.open_tasks()],
            next_deadline=state.next_deadline(),
            escalation_level=state.escalation_level(),
            occurred_at=state.details.occurred_at,
            filed_at=state.filed_at,
            closed_at=state.closed_at,
            request_hash=state.request_hash,
        )


class PersistEvents(BaseModel):
    """One step's write: the events it appends (its own and those it causes) and the case after them: the whole
    case (`state`), or (versions.STEP_WRITES_EDITS) the edits that make the case as stored before the first event
    into the case after the last (`edits`, referrals/domain/case_edits.py), with its columns."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    workflow_id: str
    state: CaseState | None = None
    events: list[CaseEvent]
    case_id: str | None = None  # (with `edits`)
    edits: list[CaseEdit] = []
    columns: CaseColumns | None = None  # (with `edits`)
    # The documents the write asks for, each stored in the outbox with the case as written (their `state` is
    # not sent twice), and the ids of those asked for before and not yet recorded: which of them are made.
    documents: list["DocumentRequest"] = []
    awaiting: list[str] = []


class Persisted(BaseModel):
    """What a write found: `stored_seq` is the read model's last event before it. When that is short of
    the first event sent (a restored database), nothing was written and the events after it are due.
    `made`: the documents awaited that the document maker has made, for the case to record."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    stored_seq: int
    written: bool
    made: list[DocumentRef] = []
    # Edits sent for a case stored at another event than the one they were made from: nothing was written, and the
    # whole case is due.
    whole_case_needed: bool = False


class StepResult(BaseModel):
    """What an update returns: small, because it is kept in the workflow history."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    case_id: str
    stage: str
    event_seq: int


class EscalationNotice(BaseModel):
    """What the notifier needs to tell people that a task is overdue: no names, no narrative."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    workflow_id: str
    case_id: str
    case_number: str
    district: str
    filed_by_id: str
    event_seq: int  # with the workflow id, the idempotency key of every message sent for it
    task: Task
    level: int
    roles: list[Role]
    due_at: datetime
    escalated_at: datetime


class Letterhead(BaseModel):
    """The policy's part that documents print: small, so it travels in the activity input."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    department: str
    department_address: str
    prosecutor: Prosecutor
    retention_days: int
    statutes: dict[str, str]  # citation -> title
    time_zone: str = "UTC"  # the department's, for every time a document prints (requests before it: UTC)
    elements: dict[str, list[str]] = {}  # citation -> the offence's elements, as the catalogue words them
    unverified: list[str] = []  # citations whose elements counsel has not yet verified
    # Where each agency's Touhy requests go: code -> agency, department, office (its lines), address, regulations,
    # relevance_rule, verified ("yes"/""), copies (one a line). Who signs the letters: name, title, phone, email,
    # placeholder ("yes"/""); and every letter's copies (requests before them: none, and no one named to sign).
    touhy: dict[str, dict[str, str]] = {}
    touhy_signatory: dict[str, str] = {}
    touhy_copies: list[str] = []
    # The jurisdiction's words (Words: badge, district, event_number), its flags' labels, its districts' names and
    # the retention law: absent from documents requested before they were policy, which print Chicago's.
    words: dict[str, str] = {}
    flags: dict[str, str] = {}
    districts: dict[str, str] = {}
    retention_law: str = "50 ILCS 706/10-20"

    @classmethod
    def of(cls, policy: Policy) -> "Letterhead":
        return cls(
            department=policy.department,
            department_address=policy.department_address,
            prosecutor=policy.prosecutor,
            retention_days=policy.bwc_retention_days,
            statutes={s.citation: s.title for s in policy.statutes},
            time_zone=policy.time_zone,
            elements={s.citation: s.elements for s in policy.statutes if s.elements},
            unverified=[s.citation for s in policy.statutes if s.elements and not s.elements_verified],
            touhy={
                a.code: {
                    "agency": a.name,
                    "department": a.department,
                    "office": a.office,
                    "address": a.address,
                    "regulations": a.regulation,
                    "relevance_rule": a.relevance_rule,
                    "verified": "yes" if a.verified else "",
                    "copies": "\n".join(a.copies),
                }
                for a in policy.touhy.agencies
            },
            touhy_signatory={
                **policy.touhy.signatory.model_dump(include={"name", "title", "phone", "email"}),
                "placeholder": "yes" if policy.touhy.signatory.placeholder else "",
            },
            touhy_copies=policy.touhy.copies,
            words=policy.words.model_dump(),
            flags={f.code: f.label for f in policy.recording_flags},
            districts={d.code: d.name for d in policy.districts},
            retention_law=policy.retention_law,
        )


class DocumentRequest(BaseModel):
    """Generate one document of the case as it stood at `event_seq`; never bytes.

    A request carries the case itself, the moment, the version and the id: the document is made from
    the request alone (the same bytes every time, so a rebuild after a restore makes it again exactly).
    One that a continue-as-new hands on without its case (not its kind's latest) reads the case as stored.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    workflow_id: str
    case_id: str
    kind: DocumentKind
    event_seq: int
    letterhead: Letterhead
    document_id: str | None = None
    version: int | None = None
    at: datetime | None = None
    state: CaseState | None = None


PersistEvents.model_rebuild()


class DocumentsAwaited(BaseModel):
    """A case's documents asked for and not yet recorded: which of them the document maker has made."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    case_id: str
    ids: list[str]


class Delivered(BaseModel):
    """A document the workflow saw delivered (what a rebuild restores of the delivery log)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    document_id: str
    to: str
    at: datetime


class ChainHead(BaseModel):
    """Where the audit chain stood after event `seq`: that event's hash (referrals/store/audit.py)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    seq: int
    hash: str


class AuditTrail(BaseModel):
    """Everything the workflow has recorded: what `referrals rebuild` writes back into PostgreSQL."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    workflow_id: str
    state: CaseState
    events: list[CaseEvent]
    documents: list[DocumentRequest]
    deliveries: list[Delivered]
    # The last event the workflow has seen stored in PostgreSQL (a document's record may wait to ride a step's write).
    written: int = 0
    # A run continued as new holds only its own events and document requests: those before are in PostgreSQL, and in
    # the earlier runs while Temporal retains them (`continued_run_id`, the run before this one). `earlier` is the
    # audit chain's head before this run's first event, which PostgreSQL's copy must match.
    earlier: ChainHead | None = None
    continued_run_id: str | None = None

    def after(self, older: "AuditTrail") -> "AuditTrail":
        """This run's trail with the run before it in front: one trail from `older`'s first event."""
        return self.model_copy(
            update={
                "events": [*older.events, *self.events],
                "documents": [*older.documents, *self.documents],
                "earlier": older.earlier,
                "continued_run_id": older.continued_run_id,
            }
        )


class Carried(BaseModel):
    """What a case's run hands to the next when it continues as new: the case, how far PostgreSQL has been
    written, the deliveries seen, and the audit chain's head (`earlier`). Its size is the case's own, whatever
    the length of its trail: the events and document requests stay in PostgreSQL and in the earlier runs.

    Runs started on 1.0.0 carried every event and document request instead (`earlier` None): a run reads both."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    state: CaseState
    events: list[CaseEvent] = []
    documents: list[DocumentRequest] = []
    deliveries: list[Delivered]
    written: int
    earlier: ChainHead | None = None
    # PostgreSQL holds `state` exactly (the run's last write stored this very case): the next run's first write sends
    # its edits to it, not the whole case (issue 32: that write was the big case's slowest step).
    stored: bool = False


class DocumentDelivery(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    workflow_id: str
    case_id: str
    case_number: str
    document_id: str
    to: str
