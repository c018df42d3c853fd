"""The packet's two timelines: the incident's (what happened, when, in the department's time zone), and the
case's processing history (who did what in the system), which the packet gives as an appendix."""

from datetime import datetime

from referrals.documents.exhibits import recording_key
from referrals.documents.text import Clock, clean
from referrals.domain.case import CaseState
from referrals.domain.enums import SupervisorOutcome
from referrals.domain.words import label

GENERATED = "document_generated"


def incident(state: CaseState, when: Clock, officer_names: dict[str, str], badge: str) -> list[dict]:
    """The occurrence, the recordings' spans, the statements, the evidence collected and the federal
    supervisor's identification, in time order; each row names its exhibit where it has one."""
    d = state.details
    rows: list[tuple[datetime, str]] = [(d.occurred_at, f"The incident, at {clean(d.location)}: {clean(d.summary)}")]
    for r in state.recordings:
        officer = officer_names.get(r.officer_star) or f"{badge} {clean(r.officer_star)}"
        rows.append(
            (
                r.started_at,
                f"Camera {clean(r.camera_id)} ({officer}) records until {when(r.ended_at, '%H:%M')} "
                f"({recording_key(state, r.camera_id)})",
            )
        )
    for person in state.people:
        for n, s in enumerate(person.statements, 1):
            rows.append(
                (
                    s.taken_at,
                    f"Statement of {person.id} ({label(person.part).lower()}) taken by {clean(s.taken_by)}, "
                    f"{clean(s.place)} (S{person.id[1:]}.{n})",
                )
            )
    for entry in state.evidence:
        item = entry.item
        rows.append(
            (
                item.collected_at,
                f"Evidence collected by {clean(item.collected_by)}: {label(item.kind).lower()}, "
                f"{clean(item.description)} (C{entry.number})",
            )
        )
    if (record := state.supervisor_identification) is not None:
        found = record.payload
        said = {
            SupervisorOutcome.IDENTIFIED: f"Federal supervisor identified: {clean(found.name)}, {clean(found.agency)}",
            SupervisorOutcome.REFUSED: "The federal supervisor refused to be identified",
            SupervisorOutcome.NOT_PRESENT: "No federal supervisor was present",
        }.get(found.outcome, "The federal supervisor could not be identified")
        rows.append((record.at, f"{said} (recorded by {clean(record.by.name)})"))
    return [dict(at=when(at), what=what) for at, what in sorted(rows, key=lambda row: row[0])]


def processing(events: list, text, when: Clock) -> tuple[list[dict], int]:
    """The case's audit events but the documents' generation, which the exhibits list; and how many of those."""
    kept = [e for e in events if e.kind != GENERATED]
    rows = [dict(at=when(e.at), what=text(e), by=clean(e.actor_name or "System")) for e in kept]
    return rows, len(events) - len(kept)
