"""What the referral packet is given: the case as the prosecutor reads it, from a cover memo that says who is
referred for what to the exhibits, with the incident's timeline, each evidence item's chain of custody up to the
packet and, as an appendix, the case's processing history."""

from datetime import datetime

from referrals.documents import changes, exhibits, timeline
from referrals.documents.analysis import disposition
from referrals.documents.common import common, policy_words
from referrals.documents.custody import SYSTEM, court_chain, entry_text, packets_folded
from referrals.documents.exhibits import evidence_item as _evidence_item
from referrals.documents.exhibits import held_in as _held_in
from referrals.documents.memo import allegations, subjects
from referrals.documents.preservation import recordings
from referrals.documents.text import Clock, clean, decision, paragraphs, size_words
from referrals.domain import corrections, steps
from referrals.domain.case import CaseState, InvolvedPerson
from referrals.domain.content_types import LABELS
from referrals.domain.enums import DocumentKind, PersonPart, ReviewDecision, SubjectDisposition, SupervisorOutcome
from referrals.domain.events import Letterhead
from referrals.domain.languages import language_name
from referrals.domain.messages import SubjectAnalysis
from referrals.domain.words import label
from referrals.store.tables import CaseEventRow

# Victims first, then those who complained, saw, or were there.
PART_ORDER = [PersonPart.VICTIM, PersonPart.COMPLAINANT, PersonPart.WITNESS, PersonPart.BYSTANDER, PersonPart.OTHER]


def _prosecution(state: CaseState, letterhead: Letterhead, when: Clock) -> list[dict]:
    """The decision chain's rows after the referral: the charging decisions, a removal, the outcome."""
    prosecution = state.prosecution
    if prosecution is None:
        return []
    rows = []
    for record in prosecution.decisions:
        d = record.payload
        match d.decision.value:
            case "charged":
                charges = "; ".join(
                    f"{clean(c.subject)} ({', '.join(clean(x) for x in c.statutes)})" for c in d.charges
                )
                detail = f"Charged, {clean(d.court_case_number)}: {charges}"
            case "declined":
                detail = f"Declined: {clean(d.reason)}"
            case "grand_jury":
                detail = f"To a grand jury, {when.day(d.grand_jury_date)}"
            case _:
                detail = f"Further investigation: {clean(d.requested)}"
        rows.append(
            dict(
                step="Charging decision",
                name=clean(record.by.name),
                role="Prosecutor liaison",
                decision=detail,
                at=when(record.at),
            )
        )
    if prosecution.arraignment_date is not None:
        rows.append(
            dict(
                step="Arraignment",
                name="",
                role="State court",
                decision=f"Arraigned {when.day(prosecution.arraignment_date)}; notice of removal due by "
                f"{when.day(prosecution.removal_deadline)}",
                at="",
            )
        )
    if (notice := prosecution.removal_notice) is not None:
        rows.append(
            dict(
                step="Notice of removal",
                name=clean(notice.by.name),
                role="Prosecutor liaison",
                decision=f"Filed {when.day(notice.payload.filed_on)} in the "
                f"{clean(notice.payload.district_court)}, "
                f"{clean(notice.payload.federal_case_number)}",
                at=when(notice.at),
            )
        )
    if (removal := prosecution.removal_outcome) is not None:
        rows.append(
            dict(
                step="Removal",
                name=clean(removal.by.name),
                role="Federal court",
                decision=f"{label(removal.payload.result)} {when.day(removal.payload.decided_on)}",
                at=when(removal.at),
            )
        )
    if (outcome := prosecution.outcome) is not None:
        rows.append(
            dict(
                step="Outcome",
                name=clean(outcome.by.name),
                role="Prosecutor liaison",
                decision=f"{label(outcome.payload.outcome)} {when.day(outcome.payload.decided_on)}",
                at=when(outcome.at),
            )
        )
    return rows


def _supervisor(state: CaseState) -> str:
    record = state.supervisor_identification
    if record is None:
        return "Not recorded."
    s = record.payload
    camera = f" Recorded on body-worn camera {clean(s.camera_id)}." if s.camera_id else ""
    notes = f" Notes: {clean(s.notes)}" if s.notes else ""
    if s.outcome == SupervisorOutcome.IDENTIFIED:
        verified = f", verified by {label(s.verification).lower()}" if s.verification else ""
        return (
            f"Identified: {clean(s.name)}, {clean(s.title or 'title not given')}, {clean(s.agency)}, badge "
            f"{clean(s.badge)}{verified}.{camera}{notes}"
        )
    if s.outcome == SupervisorOutcome.REFUSED:
        return f"The federal supervisor refused to identify themselves.{camera}{notes}"
    if s.outcome == SupervisorOutcome.NOT_PRESENT:
        return f"No federal supervisor was present.{camera}{notes}"
    return f"The federal supervisor could not be identified.{camera}{notes}"


# The chronology's words for the system's events; each step's are in its declaration (referrals/domain/steps).
EVENT_TEXT = {
    "case_filed": "Report filed",
    "stage_changed": "Stage changed",
    "tasks_reopened": "Returned for further investigation",
    "task_escalated": "Deadline passed: escalated",
    "document_generated": "Document generated",
    "case_closed": "Case closed",
    "removal_window_closed": "Removal window closed with no notice filed",
}


def _event_text(event: CaseEventRow) -> str:
    data = event.data
    detail = next((label(data[k]) for k in ("stage", "kind", "task", "part") if k in data), "")
    if "decision" in data:
        detail = decision(data["decision"])
    for key in ("outcome", "result"):  # a prosecution's outcome, a removal's
        if key in data:
            detail = label(data[key])
    if event.kind == "footage_hold_confirmed":
        detail = ", ".join(f"{clean(h['camera_id'])} ({clean(h['hold_reference'])})" for h in data.get("holds", []))
    if event.kind == "document_generated":
        detail = f"{label(data.get('kind', '')).lower()} version {data.get('version')}"
    if event.kind == "supplement_filed":
        detail = f"number {data.get('supplement')}"
    if event.kind == "tasks_reopened":
        detail = ", ".join(label(t).lower() for t in data.get("tasks", []))
    if event.kind == "task_escalated":
        detail = f"{label(data.get('task', '')).lower()}, level {data.get('level')}"
    spec = next((s for s in steps.STEPS if s.event == event.kind), None)
    text = spec.chronicle if spec is not None else EVENT_TEXT.get(event.kind, label(event.kind))
    return clean(f"{text}: {detail}" if detail else text)


def _evidence(state: CaseState, when: Clock) -> list[dict]:
    """The evidence inventory: every item, in the order added, a removed one shown as removed."""
    rows = []
    for entry in state.evidence:
        item = entry.item
        if item.sha256:
            # An upload records its size and type with its hash (referrals/api/evidence_upload.py).
            assert item.size is not None and item.content_type is not None
            kind = LABELS.get(item.content_type, clean(item.content_type))
            stored = f"{size_words(item.size)}, {kind}"
        else:
            stored = _held_in(item)
        removed = entry.removed
        rows.append(
            dict(
                number=f"C{entry.number}",
                item=_evidence_item(entry),
                source=label(item.source),
                collected=f"{clean(item.collected_by)}, {when(item.collected_at)}",
                stored=stored,
                sha256=item.sha256 or "",
                removed=(f"Removed {when(removed.at)} by {clean(removed.by.name)}: {clean(removed.payload.reason)}")
                if removed
                else "",
            )
        )
    return rows


def _custody(state: CaseState, custody: dict[str, list], when: Clock) -> list[dict]:
    """Each item's chain of custody up to this packet, as a court reads it: its collection, its receipt, then what
    was done with it and by whom (a person's openings or downloads within an hour in one line, with their count; the
    earlier versions of the packet that included it and were delivered, in one line)."""
    return [
        dict(
            title=f"C{entry.number} {_evidence_item(entry)}",
            events=[
                dict(at=when(told.at), what=clean(entry_text(told, when)), by=clean(told.by or SYSTEM))
                for told in packets_folded(court_chain(custody.get(entry.item.id, []), entry.item), when)
            ],
        )
        for entry in state.evidence
    ]


def person_name(person: InvolvedPerson) -> str:
    if person.name:
        return clean(person.name)
    assert person.name_withheld is not None  # a person without a name has why (the model's validator)
    return f"Name {person.name_withheld.value}"


def _injuries(person: InvolvedPerson) -> str:
    i = person.injuries
    if i is None:
        return "None recorded"
    care = [clean(i.description)]
    care += ["treated by EMS"] if i.ems_treated else []
    care += [f"taken to {clean(i.hospital)}"] if i.hospital else []
    care += ["refused treatment"] if i.treatment_refused else []
    return "; ".join(care)


def ordered_people(state: CaseState) -> list[InvolvedPerson]:
    return sorted(state.people, key=lambda p: (PART_ORDER.index(p.part), int(p.id[1:])))


def language(person: InvolvedPerson) -> str:
    """'Spanish, through an interpreter', 'Spanish', 'Through an interpreter' or ''."""
    name = clean(language_name(person.language)) if person.language else ""
    if not person.interpreter:
        return name
    return f"{name}, through an interpreter" if name else "Through an interpreter"


def _people(state: CaseState) -> list[dict]:
    return [
        dict(
            id=p.id,
            part=label(p.part),
            name=person_name(p),
            language=language(p),
            injuries=_injuries(p),
            contact="On the confidential contact sheet" if p.contact else "None given",
        )
        for p in ordered_people(state)
    ]


def _statements(state: CaseState, when: Clock) -> list[dict]:
    statements = []
    for person in ordered_people(state):
        for n, s in enumerate(person.statements, 1):
            taken = f"Taken by {clean(s.taken_by)}, {when(s.taken_at)}, {clean(s.place)}"
            taken += f"; recorded on body-worn camera {clean(s.camera_id)}" if s.camera_id else ""
            taken += f"; interpreter {clean(s.interpreter)}" if s.interpreter else ""
            statements.append(
                dict(
                    title=f"{person.id} {person_name(person)} ({label(person.part).lower()}), statement {n}",
                    taken=taken + ".",
                    text=paragraphs(s.text),
                )
            )
    return statements


def _supplements(state: CaseState, when: Clock, badge: str) -> list[dict]:
    out = []
    for number, record in enumerate(state.supplements, 1):
        s = record.payload
        added = [f"recording {clean(r.camera_id)} ({badge} {clean(r.officer_star)})" for r in s.recordings]
        added += [f"{len(s.people)} person(s) involved"] if s.people else []
        added += [f"a statement of {st.person_id}" for st in s.statements]
        added += [
            f"federal personnel: {clean(f.agency)}" + (f", {clean(f.description)}" if f.description else "")
            for f in s.federal_personnel
        ]
        added += [f"{len(s.corrections)} correction(s), listed under Corrections"] if s.corrections else []
        out.append(
            dict(
                title=f"Supplement {number}, filed by {clean(record.by.name)}, {when(record.at)}",
                narrative=paragraphs(s.narrative) if s.narrative else [],
                added="Added: " + "; ".join(added) + "." if added else "",
            )
        )
    return out


def _corrections(state: CaseState, when: Clock, terms: dict[str, str]) -> list[dict]:
    return [
        dict(
            field=clean(corrections.words(c.field, terms)),
            old=clean(corrections.describe(c.field, c.old, when.zone).shown),
            new=clean(corrections.describe(c.field, c.new, when.zone).shown),
            reason=clean(c.reason),
            by=f"{clean(c.by.name)}, {when(c.at)}",
        )
        for c in state.corrections
    ]


def _charges(subject: SubjectAnalysis, letterhead: Letterhead) -> str:
    """'720 ILCS 5/12-3.05 (Aggravated battery); 720 ILCS 5/10-3 (Unlawful restraint)'."""
    return "; ".join(
        f"{clean(c.statute)} ({clean(letterhead.statutes.get(c.statute, ''))})".replace(" ()", "")
        for c in subject.charges
    )


def _cover_subjects(state: CaseState, letterhead: Letterhead, when: Clock) -> tuple[list[str], list[str]]:
    """The referred subjects with their charges and immunity finding; the held ones with what is awaited."""
    referred, held = [], []
    for s in state.subjects():
        who = f"{clean(s.subject)} ({clean(s.agency)})"
        if s.outcome == SubjectDisposition.REFERRED:
            referred.append(f"{who}: {_charges(s, letterhead)}. Immunity finding: {label(s.finding).lower()}.")
        elif s.outcome == SubjectDisposition.HELD:
            said = disposition(s, when)  # "Held back from the referral, awaiting …"
            held.append(f"{who}: {said[:1].lower()}{said[1:]}.")
    return referred, held


def _sentence(text: str) -> str:
    """A quoted note ends as a sentence does, once: 'Approved for referral.'"""
    said = clean(text).strip()
    return said if said[-1:] in ".!?" else f"{said}."


def _touhy(state: CaseState, letterhead: Letterhead, when: Clock) -> list[str]:
    """Each Touhy request: the agency, when sent, when due, and its answer."""
    lines = []
    for r in state.touhy_requests:
        agency = clean(letterhead.touhy.get(r.agency, {}).get("agency", r.agency))
        answer = (
            f"answered {when.formal_day(r.response.payload.received_on)}: {label(r.response.payload.outcome).lower()}"
            if r.response
            else "no answer yet"
        )
        lines.append(
            f"{clean(r.id)} to {agency}, sent {when.formal(r.requested_at)}, due {when.formal(r.due_at)}: {answer}."
        )
    return lines


def referral_packet(
    state: CaseState,
    letterhead: Letterhead,
    generated_at: datetime,
    events: list[CaseEventRow],
    version: int,
    custody: dict[str, list] | None = None,
) -> dict:
    when, words = Clock(letterhead), policy_words(letterhead)
    d, badge = state.details, clean(words.badge)
    refer = next(r for r in reversed(state.legal_reviews) if r.payload.decision == ReviewDecision.REFER)
    approval = state.command_decisions[-1]
    decisions = [
        dict(step="Filed", name=clean(state.filed_by.name), role="Officer", decision="Filed", at=when(state.filed_at))
    ]
    decisions += [
        dict(
            step="Legal review",
            name=clean(r.by.name),
            role="Legal reviewer",
            decision=decision(r.payload.decision),
            at=when(r.at),
        )
        for r in state.legal_reviews
    ]
    decisions += [
        dict(
            step="Held subject review",
            name=clean(r.by.name),
            role="Legal reviewer",
            decision=f"{clean(r.payload.subject)}: {label(r.payload.disposition).lower()}",
            at=when(r.at),
        )
        for r in state.subject_reviews
    ]
    decisions += [
        dict(
            step="Command approval",
            name=clean(c.by.name),
            role="Command",
            decision=decision(c.payload.decision)
            + (f": \u201c{clean(c.payload.note)}\u201d" if c.payload.note else ""),
            at=when(c.at),
        )
        for c in state.command_decisions
    ]
    decisions += _prosecution(state, letterhead, when)
    earlier = [doc for doc in state.documents if doc.kind == DocumentKind.REFERRAL_PACKET and doc.version < version]
    supersedes = f"version {earlier[-1].version} of {when.formal(earlier[-1].created_at)}" if earlier else ""
    referred, held = _cover_subjects(state, letterhead, when)
    officer_names = {o.star: clean(o.name) for o in d.officers}
    history, generated = timeline.processing(events, _event_text, when)
    note = approval.payload.note
    return dict(
        common(state, letterhead, generated_at, when),
        version=version,
        supersedes=supersedes,
        changes=changes.since(state, earlier[-1].created_at, when, words.terms()) if earlier else [],
        prosecutor=dict(
            name=clean(letterhead.prosecutor.name),
            unit=clean(letterhead.prosecutor.unit),
            address=clean(letterhead.prosecutor.address),
        ),
        referred=referred,
        held=held,
        review_line=f"Reviewed by {clean(refer.by.name)}, legal reviewer, on {when.formal(refer.at)}. Approved by "
        f"{clean(approval.by.name)}, command, on {when.formal(approval.at)}"
        + (f": \u201c{_sentence(note)}\u201d" if note else "."),
        touhy=_touhy(state, letterhead, when),
        reviewer=clean(refer.by.name),
        approver=clean(approval.by.name),
        summary=clean(d.summary),
        injuries="yes" if d.injuries else "no",
        ems_called="yes" if d.ems_called else "no",
        narrative=paragraphs(d.narrative),
        officers=[dict(name=clean(o.name), star=clean(o.star)) for o in d.officers],
        federal_personnel=[
            dict(
                agency=clean(f.agency),
                name=clean(f.name or "unknown"),
                badge=clean(f.badge) if f.badge else "unknown",
                description=clean(f.description),
            )
            for f in d.federal_personnel
        ],
        people=_people(state),
        statements=_statements(state, when),
        has_contacts=any(p.contact for p in state.people),
        supplements=_supplements(state, when, badge),
        corrections=_corrections(state, when, words.terms()),
        supervisor=_supervisor(state),
        recordings=recordings(state, letterhead, when),
        allegations=allegations(state, letterhead),
        subjects=subjects(state, state.subjects(), letterhead),
        rationale=paragraphs(refer.payload.rationale),
        decisions=decisions,
        timeline=timeline.incident(state, when, officer_names, badge),
        history=history,
        documents_generated=generated,
        exhibits=exhibits.listing(state, when, badge, officer_names),
        evidence=_evidence(state, when),
        custody=_custody(state, custody or {}, when),
    )
