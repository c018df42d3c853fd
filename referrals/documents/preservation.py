"""What the preservation request is given: every recording to hold (camera, officer, start and end, purge
date, flags, hold), the purge warnings and the hold's deadline; and, once every recording is held, what the hold
confirmation is given: each recording's hold reference, until when it is retained, who held it and when."""

from datetime import datetime

from referrals.documents.common import common
from referrals.documents.text import Clock, clean
from referrals.domain.case import CaseState
from referrals.domain.enums import Task
from referrals.domain.events import Letterhead
from referrals.domain.words import label


def flag_labels(codes: list[str], letterhead: Letterhead) -> str:
    """A recording's flags in the policy's words ('not flagged' for none; a code no longer listed, as spoken)."""
    return ", ".join(clean(letterhead.flags.get(code) or label(code)) for code in codes) or "not flagged"


def recordings(state: CaseState, letterhead: Letterhead, when: Clock) -> list[dict]:
    """The case's recordings as the request and the packet list them (the packet with the officer's name)."""
    names = {o.star: o.name for o in state.details.officers}
    return [
        dict(
            camera_id=clean(r.camera_id),
            officer_star=clean(r.officer_star),
            officer=clean(f"{names[r.officer_star]} ({r.officer_star})" if r.officer_star in names else r.officer_star),
            started_at=when(r.started_at),
            ended_at=when(r.ended_at, "%H:%M %Z"),
            purge_at=when(r.purge_at, "%a %d %b %Y"),
            flag_reasons=flag_labels(r.flag_reasons, letterhead),
            hold=clean(r.hold_reference) if r.hold_reference else "NOT YET HELD",
            retained_until=when.day(r.retained_until),
        )
        for r in state.recordings
    ]


def preservation_request(state: CaseState, letterhead: Letterhead, generated_at: datetime) -> dict:
    when = Clock(letterhead)
    warnings = "; ".join(
        f"camera {w.camera_id} {'was purged' if w.status == 'purged' else 'is purged'} on {when(w.purge_at)}"
        for w in state.purge_warnings
    )
    return dict(
        common(state, letterhead, generated_at, when),
        recordings=recordings(state, letterhead, when),
        purge_warnings=clean(warnings),
        hold_deadline=when(state.tasks[Task.FOOTAGE_HOLD].due_at),
    )


def hold_confirmation(state: CaseState, letterhead: Letterhead, generated_at: datetime) -> dict:
    when = Clock(letterhead)
    return dict(
        common(state, letterhead, generated_at, when),
        held=[
            dict(
                camera_id=clean(r.camera_id),
                officer_star=clean(r.officer_star),
                started_at=when(r.started_at),
                ended_at=when(r.ended_at, "%H:%M %Z"),
                purge_at=when(r.purge_at, "%a %d %b %Y"),
                hold=clean(r.hold_reference or ""),
                retained_until=when.day(r.retained_until),
                held_by=clean(r.held_by.name) if r.held_by else "",
                held_at=when(r.held_at),
            )
            for r in state.recordings
        ],
    )
