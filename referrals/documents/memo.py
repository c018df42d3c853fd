"""What the legal review memo is given: the reviewer's decision and rationale, the alleged offences, each
federal subject's analysis, and the federally held evidence the review asks for."""

from datetime import datetime

from referrals.documents import analysis
from referrals.documents.common import common
from referrals.documents.text import Clock, clean, decision, paragraphs
from referrals.domain.case import CaseState
from referrals.domain.events import Letterhead
from referrals.domain.words import label


def allegations(state: CaseState, letterhead: Letterhead) -> list[dict]:
    """The violation report's allegations, as the memo and the packet list them."""
    if state.violation_report is None:
        return []
    return [
        dict(
            statute=clean(a.statute),
            title=clean(letterhead.statutes.get(a.statute, "")),
            person=clean(a.person),
            facts=clean(a.facts),
        )
        for a in state.violation_report.payload.allegations
    ]


def subjects(state: CaseState, review, letterhead: Letterhead) -> list[dict]:
    """A review's analysis of each subject, the evidence cited by its exhibit number (C3)."""
    numbers = {entry.item.id: f"C{entry.number}" for entry in state.evidence}
    return analysis.subjects(review, letterhead, numbers, clean, paragraphs)


def legal_review_memo(state: CaseState, letterhead: Letterhead, generated_at: datetime) -> dict:
    when = Clock(letterhead)
    review = state.legal_reviews[-1]
    p = review.payload
    return dict(
        common(state, letterhead, generated_at, when),
        allegations=allegations(state, letterhead),
        review=dict(
            by=clean(review.by.name),
            at=when(review.at),
            decision=decision(p.decision),
            charges=", ".join(clean(c) for c in p.all_charges()) or "none",
            return_tasks=", ".join(label(t).lower() for t in p.return_tasks),
            rationale=paragraphs(p.rationale),
        ),
        subjects=subjects(state, p, letterhead),
        touhy=[
            dict(
                id=r.id,
                agency=clean(letterhead.touhy.get(r.agency, {}).get("agency", r.agency)),
                records="; ".join(f"{label(x.kind)}: {clean(x.description)}" for x in r.records),
                due=when(r.due_at, "%a %d %b %Y"),
            )
            for r in state.touhy_requests
            if r.review == len(state.legal_reviews)
        ],
    )
