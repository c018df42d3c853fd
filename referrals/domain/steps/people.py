"""Steps taken at any open stage: a person involved added, a supplementary report filed."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ValidationError

from referrals.domain.case import (
    CaseState,
    CorrectionRecord,
    PersonRef,
    Recorded,
    RecordingState,
    footage_hold_due,
    open_task,
    part_adapter,
    purge_at,
)
from referrals.domain.chronology import require_not_after, require_order
from referrals.domain.corrections import correct
from referrals.domain.enums import DocumentKind, Role, Task, TaskStatus
from referrals.domain.errors import Rejection, RejectionKind
from referrals.domain.jurisdiction import refuse_unknown_flags
from referrals.domain.messages import Person, PersonIn, StatementIn, Step, Supplement, SupplementIn
from referrals.domain.policy import Policy
from referrals.domain.steps.declaration import declare
from referrals.domain.steps.investigation import OFFICERS, require_camera


def check_add_person(state: CaseState, step: Step[Person], policy: Policy) -> None:
    if state.closed:
        raise Rejection(RejectionKind.CONFLICT, f"the case is closed ({state.disposition}); nobody can be added")
    for i, statement in enumerate(step.payload.statements):
        require_camera(state, statement.camera_id, f"statements[{i}].camera_id")
        after_the_incident(state, statement.taken_at, f"statements[{i}].taken_at", policy)


def after_the_incident(state: CaseState, moment: datetime, field: str, policy: Policy) -> None:
    """A statement taken, an item collected: not before the incident."""
    require_order(moment, state.details.occurred_at, "the incident", field, policy.zone)


def apply_add_person(state: CaseState, step: Step[Person], now: datetime, policy: Policy) -> None:
    state.add_person(step.payload, PersonRef.of(step.actor), now)


ADD_PERSON = declare(
    name="add_person",
    request=PersonIn,
    payload=Person,  # contact details sealed (referrals/sealing.py)
    path="/people",
    event="person_added",
    chronicle="Person involved added",
    roles=OFFICERS | {Role.LEGAL_REVIEWER},
    check=check_add_person,
    change=apply_add_person,
    summary="Add a person involved (victim, witness, complainant, bystander, other), with injuries and statements",
    title="Add a person involved",
    button="Add the person",
    done="Person added.",
    folded="Add a person involved (victim, witness, …)",
    rows=(("statements", frozenset()),),
    groups=("contact", "injuries"),
)


def check_supplement(state: CaseState, step: Step[Supplement], policy: Policy) -> None:
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
        for j, given in enumerate(person.statements):
            if given.camera_id is not None and given.camera_id not in cameras:
                raise Rejection(
                    RejectionKind.INVALID,
                    f"camera '{given.camera_id}' is not among this case's recordings",
                    f"people[{i}].statements[{j}].camera_id",
                )
    # Applied to a copy, corrections one after another as they will be: a correction that cannot be made is
    # refused naming it, and so is a supplement that would leave the case holding more than a filing may. What it
    # changes is checked as the case would read it: every part it changes, and the records it adds.
    trial = _trial(state)
    apply_supplement(trial, step, state.filed_at, policy)
    checked = {part: getattr(trial, part) for part in CHANGED_BY_A_SUPPLEMENT}
    for records in ("supplements", "corrections"):  # (the records it adds, not those the case held)
        checked[records] = checked[records][len(getattr(state, records)) :]
    for part, value in checked.items():
        adapter = part_adapter(part)
        try:
            adapter.validate_python(adapter.dump_python(value))
        except ValidationError as exc:
            error = exc.errors()[0]
            field = next((p for p in reversed((part, *error["loc"])) if isinstance(p, str)), "body")
            held = error.get("ctx", {})
            message = (
                f"the case would hold {held['actual_length']} of these; it may hold at most {held['max_length']}"
                if error["type"] == "too_long"
                else f"the case would not be valid: {error['msg']}"
            )
            raise Rejection(RejectionKind.INVALID, message, field) from None
    # Statements taken after the incident, as the supplement leaves its time (a correction may move it).
    for i, statement in enumerate(supplement.statements):
        after_the_incident(trial, statement.taken_at, f"statements[{i}].taken_at", policy)
    for i, person in enumerate(supplement.people):
        for j, given in enumerate(person.statements):
            after_the_incident(trial, given.taken_at, f"people[{i}].statements[{j}].taken_at", policy)
    for i, correction in enumerate(supplement.corrections):
        if correction.field == "occurred_at":
            _incident_before_what_followed(state, trial.details.occurred_at, f"corrections[{i}].value", policy)


def _incident_before_what_followed(state: CaseState, occurred: datetime, field: str, policy: Policy) -> None:
    """The incident's time corrected: not after a statement already taken or an item already collected."""
    for person in state.people:
        for n, statement in enumerate(person.statements, start=1):
            what = f"{person.id}'s statement {n}"
            require_not_after(occurred, statement.taken_at, what, field, policy.zone)
    for entry in state.evidence:
        if entry.removed is None:
            what = f"the collection of evidence item C{entry.number}"
            require_not_after(occurred, entry.item.collected_at, what, field, policy.zone)


# The parts of a case `apply_supplement` changes: copied to try a supplement on, and checked after.
CHANGED_BY_A_SUPPLEMENT = ("details", "recordings", "people", "tasks", "supplements", "corrections")


def _trial(state: CaseState) -> CaseState:
    """A copy of the case to try a supplement on: the parts `apply_supplement` changes are copied, each down to its
    items (a list's or a mapping's), which it changes in place; the rest is shared with the case, unchanged (a big
    case's evidence is not copied to check a supplement)."""
    return state.model_copy(update={part: _copied(getattr(state, part)) for part in CHANGED_BY_A_SUPPLEMENT})


def _copied(part: Any) -> Any:
    if isinstance(part, list):
        return [_copied(item) for item in part]
    if isinstance(part, dict):
        return {key: _copied(value) for key, value in part.items()}
    return part.model_copy() if isinstance(part, BaseModel) else part


def apply_supplement(state: CaseState, step: Step[Supplement], now: datetime, policy: Policy) -> dict[str, Any]:
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
            assert footage.opened_at is not None  # an open task has its opening time (open_task)
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


def made_or_asked(state: CaseState, kind: DocumentKind) -> bool:
    return kind in {d.kind for d in state.documents} | set(state.documents_pending)


def _after_supplement(state: CaseState) -> list[DocumentKind]:
    """New recordings: a preservation request for the hold; a packet already made: its next version, superseding
    the last, with what the supplement added or put right."""
    asked = [DocumentKind.PRESERVATION_REQUEST] if state.supplements[-1].payload.recordings else []
    return asked + ([DocumentKind.REFERRAL_PACKET] if made_or_asked(state, DocumentKind.REFERRAL_PACKET) else [])


FILE_SUPPLEMENT = declare(
    name="file_supplement",
    request=SupplementIn,
    payload=Supplement,  # new people's contact details sealed
    path="/supplements",
    event="supplement_filed",
    chronicle="Supplementary report filed",
    roles=OFFICERS,
    check=check_supplement,
    change=apply_supplement,
    documents=_after_supplement,
    summary="File a supplementary report: new recordings, people, statements, federal personnel, a narrative, "
    "corrections of filed facts",
    title="File a supplementary report",
    button="File the supplement",
    done="Supplementary report filed.",
    folded="File a supplementary report or a correction",
    rows=(("corrections", frozenset()), ("recordings", frozenset()), ("federal_personnel", frozenset())),
)
