"""What the legal review memo is given: the reviewer's decision and rationale, the alleged offences, each
federal subject's analysis, and the federally held evidence the review asks for."""

from datetime import datetime

from referrals.documents import analysis
from referrals.documents.common import common
from referrals.documents.text import Clock, clean, decision, paragraphs
from referrals.domain.agencies import the
from referrals.domain.case import CaseState
from referrals.domain.events import Letterhead
from referrals.domain.messages import SubjectAnalysis
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


def subjects(state: CaseState, analysed: list[SubjectAnalysis], letterhead: Letterhead) -> list[dict]:
    """Each subject's analysis, the exhibits cited by their keys (A2 at 13:09:40; C3; S2.1; T1)."""
    return analysis.subjects(state, analysed, letterhead)


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
        subjects=subjects(state, p.subjects, letterhead),
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
        touhy_unverified=touhy_unverified(state, letterhead),
    )


# --- Touhy letters: what they leave out until the policy verifies it (templates.py's `touhy_unverified_note`) ---


def touhy_unverified(state: CaseState, letterhead: Letterhead) -> list[str]:
    """For the reviewer, before this review's Touhy letters are sent: each letter that goes without its office's
    address (the policy's, not yet verified, given here to confirm), and a signature block left blank (the policy
    names no signing official). Nothing when the letters lack nothing."""
    made = [r for r in state.touhy_requests if r.review == len(state.legal_reviews)]
    lines = []
    for r in made:
        to = letterhead.touhy.get(r.agency, {})
        if to.get("verified"):
            continue
        office = ", ".join(line.strip() for line in to.get("office", "").splitlines() if line.strip())
        address = ", ".join(line.strip() for line in to.get("address", "").splitlines() if line.strip())
        lines.append(
            clean(
                f"{r.id} ({to.get('agency', r.agency)}): the letter names {the(office) if office else 'the agency'} "
                "without an address. "
                + (
                    f"The policy's address, not yet verified: {address}. Confirm it, then add it to the letter."
                    if address
                    else "The policy gives none: find the office's address and add it to the letter."
                )
            )
        )
    who = letterhead.touhy_signatory
    if made and (not who.get("name") or who.get("placeholder")):
        lines.append(
            "The letters' signature block is left blank: the policy names no official to sign them (its "
            "[touhy.signatory] is a placeholder). The official who signs adds their name and title."
        )
    return lines
