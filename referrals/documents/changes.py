"""What a later version of the referral adds, computed from what the case recorded after the version it
supersedes: people, statements, evidence, recordings, holds, corrections, reviews, Touhy answers."""

from datetime import datetime

from referrals.documents.exhibits import evidence_item, recording_key
from referrals.documents.text import Clock, clean
from referrals.domain import corrections
from referrals.domain.case import CaseState
from referrals.domain.enums import SubjectDisposition
from referrals.domain.words import label

NOTHING = "Nothing the case records has changed since; this version issues the referral again."


def since(state: CaseState, after: datetime, when: Clock, terms: dict[str, str]) -> list[str]:
    """One line per change recorded after `after`, in the order a prosecutor weighs them."""
    lines: list[str] = []
    for later in state.legal_reviews:
        if later.at > after:
            lines.append(f"A new legal review by {clean(later.by.name)}, {when(later.at)}.")
    for review in state.subject_reviews:
        if review.at > after:
            p = review.payload
            what = {
                SubjectDisposition.REFERRED: "now referred",
                SubjectDisposition.NOT_CHARGED: "not charged",
                SubjectDisposition.HELD: "held back again",
            }[p.disposition]
            lines.append(
                f"{clean(p.subject)}, held back from the earlier version, reviewed by {clean(review.by.name)} "
                f"on {when.formal(review.at)}: {what}."
            )
    for request in state.touhy_requests:
        response = request.response
        if response is not None and response.at > after:
            lines.append(
                f"{clean(request.agency)} answered Touhy request {clean(request.id)}: "
                f"{label(response.payload.outcome).lower()}."
            )
    new_people = [p for p in state.people if p.added_at > after]
    lines += [f"Person involved added: {p.id} ({label(p.part).lower()})." for p in new_people]
    # The statements supplements added: each person's last ones, as supplements append them in order.
    added: dict[str, int] = {}
    for record in state.supplements:
        if record.at > after:
            for statement in record.payload.statements:
                added[statement.person_id] = added.get(statement.person_id, 0) + 1
    for person in state.people:
        count = len(person.statements) if person in new_people else added.get(person.id, 0)
        first = len(person.statements) - count + 1
        lines += [f"Statement of {person.id} added (S{person.id[1:]}.{n})." for n in range(first, first + count)]
    for entry in state.evidence:
        if entry.added_at > after:
            lines.append(f"Evidence added: C{entry.number}, {evidence_item(entry)}.")
        if entry.removed is not None and entry.removed.at > after:
            lines.append(f"Evidence C{entry.number} removed from the case: {clean(entry.removed.payload.reason)}.")
    for record in state.supplements:
        if record.at > after:
            for r in record.payload.recordings:
                lines.append(
                    f"Body-worn camera recording added: camera {clean(r.camera_id)} ({recording_key(state, r.camera_id)})."
                )
    for recording in state.recordings:
        if recording.held_at is not None and recording.held_at > after:
            lines.append(
                f"Hold confirmed on camera {clean(recording.camera_id)}'s recording "
                f"({recording_key(state, recording.camera_id)}): {clean(recording.hold_reference)}."
            )
    for c in state.corrections:
        if c.at > after:
            said = corrections.describe(c.field, c.new, when.zone, terms)
            lines.append(f"Corrected: {clean(said.label)}, now {clean(said.shown)} ({clean(c.reason)}).")
    return lines or [NOTHING]
