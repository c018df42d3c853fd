"""The case's exhibits as the memo and the packet number them, the same in every version: A the body-worn camera
recordings, B the department's earlier documents, C the evidence items, S a person's statements (S2.1 is P2's
first), T the Touhy requests. A number once given stays: each list only grows, in the order things were added."""

from collections.abc import Callable
from datetime import datetime

from referrals.documents.text import Clock, clean
from referrals.domain.case import CaseState, EvidenceEntry
from referrals.domain.enums import DocumentKind
from referrals.domain.messages import EvidenceItem, Exhibit
from referrals.domain.words import label

NONE_CITED = "No exhibit cited"


def recording_key(state: CaseState, camera_id: str) -> str:
    number = next((n for n, r in enumerate(state.recordings, 1) if r.camera_id == camera_id), None)
    return f"A{number}" if number is not None else clean(camera_id)


def cited(state: CaseState, exhibits: list[Exhibit], when: Callable[[datetime, str], str]) -> str:
    """What an element's facts cite, by exhibit key: 'A2 at 13:09:40; C1; S2.1; T1' (or that nothing is).
    `when` prints a moment in a format in the department's time zone (a Clock)."""
    keys = []
    for exhibit in exhibits:
        if exhibit.recording is not None:
            at = f" at {when(exhibit.at, '%H:%M:%S')}" if exhibit.at else ""
            keys.append(recording_key(state, exhibit.recording) + at)
        elif exhibit.evidence is not None:
            keys.append(f"C{exhibit.evidence}")
        elif exhibit.statement is not None:
            keys.append(f"S{exhibit.statement.person}.{exhibit.statement.number}")
        elif exhibit.touhy is not None:
            keys.append(clean(exhibit.touhy))
    return "; ".join(keys) or NONE_CITED


def citable(state: CaseState) -> dict[str, dict]:
    """The exhibits an element's facts may cite, by key, each as the API's `exhibits` takes it: {'A1': {'recording':
    'X6031234'}, 'C2': {'evidence': 2}, 'S2.1': {'statement': {'person': 2, 'number': 1}}, 'T1': {'touhy': 'T1'}}
    (not the department's own documents, nor an evidence item removed from the case)."""
    found: dict[str, dict] = {f"A{n}": {"recording": r.camera_id} for n, r in enumerate(state.recordings, 1)}
    found |= {f"C{e.number}": {"evidence": e.number} for e in state.evidence if e.removed is None}
    for person in state.people:
        number = int(person.id[1:])
        found |= {
            f"S{number}.{n}": {"statement": {"person": number, "number": n}}
            for n in range(1, len(person.statements) + 1)
        }
    found |= {request.id: {"touhy": request.id} for request in state.touhy_requests}
    return found


def evidence_item(entry: EvidenceEntry) -> str:
    item = entry.item
    text = f"{label(item.kind)}: {clean(item.description)}"
    return text + (f" (concerns {item.person_id})" if item.person_id else "")


def held_in(item: EvidenceItem) -> str:
    held = item.held_elsewhere
    assert held is not None  # an item without a file here is held elsewhere (EvidenceItem's validator)
    return f"Held in {clean(held.system)}, reference {clean(held.reference)}"


def listing(state: CaseState, when: Clock, badge: str, officer_names: dict[str, str]) -> list[dict]:
    """Every exhibit, by key: what it is and how to check it."""
    exhibits = []
    for n, r in enumerate(state.recordings, 1):
        officer = officer_names.get(r.officer_star) or f"{badge} {clean(r.officer_star)}"
        exhibits.append(
            dict(
                label=f"A{n}",
                description=f"Body-worn camera recording, camera {clean(r.camera_id)} ({officer}), "
                f"{when(r.started_at)} to {when(r.ended_at, '%H:%M %Z')}",
                detail=f"Held under {clean(r.hold_reference)}" if r.hold_reference else "NOT YET HELD",
            )
        )
    earlier = [d for d in state.documents if d.kind != DocumentKind.REFERRAL_PACKET]
    exhibits += [
        dict(
            label=f"B{n}",
            description=f"{label(d.kind)} version {d.version} ({d.filename}), {when(d.created_at)}",
            detail=f"SHA-256 {d.sha256}",
        )
        for n, d in enumerate(earlier, 1)
    ]
    exhibits += [
        dict(
            label=f"C{e.number}",
            description=evidence_item(e) + (" (removed from the case)" if e.removed else ""),
            detail=f"SHA-256 {e.item.sha256}" if e.item.sha256 else held_in(e.item),
        )
        for e in state.evidence
    ]
    for person in state.people:
        for n, s in enumerate(person.statements, 1):
            exhibits.append(
                dict(
                    label=f"S{person.id[1:]}.{n}",
                    description=f"Statement {n} of {person.id}, taken by {clean(s.taken_by)}, {when(s.taken_at)}",
                    detail="Its text is under Statements",
                )
            )
    for request in state.touhy_requests:
        answer = request.response.payload.outcome if request.response else None
        exhibits.append(
            dict(
                label=clean(request.id),
                description=f"Touhy request to {clean(request.agency)}, sent {when.formal(request.requested_at)}: "
                + "; ".join(clean(x.description) for x in request.records),
                detail=f"Answer: {label(answer).lower()}"
                if answer
                else f"No answer yet; due {when.formal(request.due_at)}",
            )
        )
    return exhibits
