"""What each Word template is given: plain strings and lists built from the stored case.

User text is passed as values, never as template source; docxtpl escapes it for XML, and
characters XML cannot hold are replaced, so nothing typed can break a document.
"""

import re
from datetime import datetime

from domain.case import CaseState, DocumentRef
from domain.enums import DocumentKind, ReviewDecision, SupervisorOutcome
from domain.events import Letterhead
from store.tables import CaseEventRow

_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def clean(text: object) -> str:
    return _NOT_XML.sub("\ufffd", "" if text is None else str(text))


def paragraphs(text: str | None) -> list[str]:
    return [clean(line) for line in (text or "").splitlines() if line.strip()] or [""]


def when(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M} {moment:%Z}".strip() if moment else ""


def _common(state: CaseState, letterhead: Letterhead, generated_at: datetime) -> dict:
    d = state.details
    return dict(
        case_number=state.case_number, case_id=state.case_id, district=state.district,
        department=clean(letterhead.department), department_address=clean(letterhead.department_address),
        generated_at=when(generated_at), event_number=clean(d.event_number), occurred_at=when(d.occurred_at),
        location=clean(d.location), retention_days=letterhead.retention_days,
    )


def _recordings(state: CaseState) -> list[dict]:
    return [
        dict(camera_id=clean(r.camera_id), officer_star=clean(r.officer_star), started_at=when(r.started_at),
             ended_at=when(r.ended_at), purge_at=when(r.purge_at), flag_reasons=", ".join(r.flag_reasons),
             hold=clean(r.hold_reference or "NOT YET HELD"),
             retained_until=r.retained_until.isoformat() if r.retained_until else "")
        for r in state.recordings
    ]


def _allegations(state: CaseState, letterhead: Letterhead) -> list[dict]:
    if state.violation_report is None:
        return []
    return [
        dict(statute=clean(a.statute), title=clean(letterhead.statutes.get(a.statute, "")), person=clean(a.person),
             facts=clean(a.facts))
        for a in state.violation_report.payload.allegations
    ]


def preservation_request(state: CaseState, letterhead: Letterhead, generated_at: datetime) -> dict:
    warnings = "; ".join(
        f"camera {w.camera_id} {'was purged' if w.status == 'purged' else 'is purged'} on {when(w.purge_at)}"
        for w in state.purge_warnings
    )
    return dict(
        _common(state, letterhead, generated_at), recordings=_recordings(state), purge_warnings=clean(warnings),
        hold_deadline=when(state.tasks["footage_hold"].due_at),
    )


def legal_review_memo(state: CaseState, letterhead: Letterhead, generated_at: datetime) -> dict:
    review = state.legal_reviews[-1]
    p = review.payload
    immunity = p.immunity
    return dict(
        _common(state, letterhead, generated_at), allegations=_allegations(state, letterhead),
        review=dict(
            by=clean(review.by.name), at=when(review.at), decision=p.decision.value,
            charges=", ".join(clean(c) for c in p.charges) or "none",
            return_tasks=", ".join(t.value for t in p.return_tasks), rationale=paragraphs(p.rationale),
            federal_authority=paragraphs(immunity.federal_authority if immunity else "not analysed"),
            necessary_and_proper=paragraphs(immunity.necessary_and_proper if immunity else "not analysed"),
            finding=immunity.finding.value if immunity else "not stated",
        ),
    )


def _supervisor(state: CaseState) -> str:
    record = state.supervisor_identification
    if record is None:
        return "Not recorded."
    s = record.payload
    camera = f" Recorded on body-worn camera {clean(s.camera_id)}." if s.camera_id else ""
    notes = f" Notes: {clean(s.notes)}" if s.notes else ""
    if s.outcome == SupervisorOutcome.IDENTIFIED:
        verified = f", verified by {s.verification.value.replace('_', ' ')}" if s.verification else ""
        return (f"Identified: {clean(s.name)}, {clean(s.title or 'title not given')}, {clean(s.agency)}, badge "
                f"{clean(s.badge)}{verified}.{camera}{notes}")
    if s.outcome == SupervisorOutcome.REFUSED:
        return f"The federal supervisor refused to identify themselves.{camera}{notes}"
    if s.outcome == SupervisorOutcome.NOT_PRESENT:
        return f"No federal supervisor was present.{camera}{notes}"
    return f"The federal supervisor could not be identified.{camera}{notes}"


EVENT_TEXT = {
    "case_filed": "Report filed",
    "footage_hold_confirmed": "Body-camera hold confirmed",
    "supervisor_identification_recorded": "Federal supervisor identification recorded",
    "violation_report_recorded": "Violation report recorded",
    "stage_changed": "Stage changed",
    "tasks_reopened": "Returned for further investigation",
    "task_escalated": "Deadline passed: escalated",
    "legal_review_decided": "Legal review decided",
    "command_decided": "Command decision",
    "referral_acknowledged": "Referral acknowledged by the prosecutor",
    "document_generated": "Document generated",
    "case_withdrawn": "Case withdrawn",
    "case_closed": "Case closed",
}


def _event_text(event: CaseEventRow) -> str:
    data = event.data
    detail = next((str(data[k]) for k in ("decision", "stage", "kind", "task") if k in data), "")
    if event.kind == "footage_hold_confirmed":
        detail = ", ".join(f"{h['camera_id']} ({h['hold_reference']})" for h in data.get("holds", []))
    if event.kind == "document_generated":
        detail = f"{data.get('kind')} v{data.get('version')}, SHA-256 {data.get('sha256', '')[:16]}…"
    text = EVENT_TEXT.get(event.kind, event.kind)
    return clean(f"{text}: {detail}" if detail else text)


def _exhibits(state: CaseState) -> list[dict]:
    exhibits = [
        dict(label=f"A{n}", description=clean(
            f"BWC recording, camera {r.camera_id} (star {r.officer_star}), {when(r.started_at)} to "
            f"{when(r.ended_at)}; hold {r.hold_reference or 'NOT YET HELD'}"))
        for n, r in enumerate(state.recordings, 1)
    ]
    earlier: list[DocumentRef] = [d for d in state.documents if d.kind != DocumentKind.REFERRAL_PACKET]
    exhibits += [
        dict(label=f"B{n}", description=f"{d.kind.value.replace('_', ' ')} v{d.version} ({d.filename}), "
                                        f"SHA-256 {d.sha256}")
        for n, d in enumerate(earlier, 1)
    ]
    return exhibits


def referral_packet(state: CaseState, letterhead: Letterhead, generated_at: datetime, events: list[CaseEventRow],
                    version: int) -> dict:
    d = state.details
    refer = next(r for r in reversed(state.legal_reviews) if r.payload.decision == ReviewDecision.REFER)
    approval = state.command_decisions[-1]
    immunity = refer.payload.immunity
    decisions = [dict(step="Filed", name=clean(state.filed_by.name), role="officer", decision="filed",
                      at=when(state.filed_at))]
    decisions += [dict(step="Legal review", name=clean(r.by.name), role="legal_reviewer",
                       decision=r.payload.decision.value, at=when(r.at)) for r in state.legal_reviews]
    decisions += [dict(step="Command approval", name=clean(c.by.name), role="command",
                       decision=c.payload.decision.value, at=when(c.at)) for c in state.command_decisions]
    return dict(
        _common(state, letterhead, generated_at), version=version,
        prosecutor=dict(name=clean(letterhead.prosecutor.name), unit=clean(letterhead.prosecutor.unit),
                        address=clean(letterhead.prosecutor.address)),
        reviewer=clean(refer.by.name), approver=clean(approval.by.name), summary=clean(d.summary),
        injuries="yes" if d.injuries else "no", ems_called="yes" if d.ems_called else "no",
        narrative=paragraphs(d.narrative),
        officers=[dict(name=clean(o.name), star=clean(o.star)) for o in d.officers],
        federal_personnel=[dict(agency=clean(f.agency), name=clean(f.name or "unknown"),
                                badge=clean(f.badge or "unknown"), description=clean(f.description))
                           for f in d.federal_personnel],
        supervisor=_supervisor(state), recordings=_recordings(state), allegations=_allegations(state, letterhead),
        charges="; ".join(clean(f"{c} ({letterhead.statutes.get(c, '')})") for c in refer.payload.charges),
        immunity=dict(federal_authority=paragraphs(immunity.federal_authority),
                      necessary_and_proper=paragraphs(immunity.necessary_and_proper),
                      finding=immunity.finding.value.replace("_", " "), rationale=paragraphs(refer.payload.rationale)),
        decisions=decisions,
        chronology=[dict(at=when(e.at), what=_event_text(e), by=clean(e.actor_name or "system")) for e in events],
        exhibits=_exhibits(state),
    )
