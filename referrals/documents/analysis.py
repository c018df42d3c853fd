"""The legal analysis as the memo and the packet print it: one section per federal subject, each charge
element by element, the two prongs of Supremacy Clause immunity and the finding."""

from referrals.documents.exhibits import cited
from referrals.documents.text import Clock, clean, paragraphs
from referrals.domain.case import CaseState
from referrals.domain.enums import SubjectDisposition
from referrals.domain.events import Letterhead
from referrals.domain.messages import SubjectAnalysis
from referrals.domain.words import label

UNVERIFIED = "The elements are the department's summary of the statute and are not yet verified by counsel."


def subjects(state: CaseState, analysed: list[SubjectAnalysis], letterhead: Letterhead) -> list[dict]:
    """Each subject's section, the exhibits each element cites by their keys (A2 at 13:09:40; C3)."""
    when = Clock(letterhead)
    return [_subject(n, s, state, letterhead, when) for n, s in enumerate(analysed, 1)]


def disposition(subject: SubjectAnalysis, when: Clock) -> str:
    """'Referred', 'Held back from the referral until …, awaiting …', 'Not charged'."""
    match subject.outcome:
        case SubjectDisposition.REFERRED:
            return "Referred"
        case SubjectDisposition.HELD:
            held = subject.held
            assert held is not None  # a held subject says what is awaited (SubjectAnalysis's validator)
            return (
                f"Held back from the referral, awaiting {clean(held.awaiting)}; to be reviewed again by "
                f"{when.formal_day(held.review_by)}"
            )
    return "Not charged"


def _charge(state: CaseState, letterhead: Letterhead, when: Clock, citation: str, proofs) -> dict:
    catalogue = letterhead.elements.get(citation, [])
    by_number = {p.element: p for p in proofs}
    rows = []
    for number, element in enumerate(catalogue, 1):
        proof = by_number.get(number)
        rows.append(
            dict(
                number=str(number),
                element=clean(element),
                facts=clean(proof.facts) if proof else "Not addressed",
                evidence=cited(state, proof.exhibits if proof else [], when),
            )
        )
    return dict(
        statute=clean(citation),
        title=clean(letterhead.statutes.get(citation, "")),
        elements=rows,
        note=UNVERIFIED if citation in letterhead.unverified else "",
    )


def _subject(number: int, s: SubjectAnalysis, state: CaseState, letterhead: Letterhead, when: Clock) -> dict:
    charges = [_charge(state, letterhead, when, charge.statute, charge.elements) for charge in s.charges]
    a, n = s.authority, s.necessary_and_proper
    basis = label(a.legal_basis) + (f" ({clean(a.basis_detail)})" if a.basis_detail else "")
    return dict(
        title=f"Subject {number}: {clean(s.subject)}, {clean(s.agency)}",
        acts=paragraphs(s.acts),
        charges=charges,
        authority=dict(
            facts=[
                f"Federal operation: {clean(a.operation)}",
                f"Claimed legal basis: {basis}",
                f"Target: {clean(a.target) if a.target else 'not stated'}",
            ],
            analysis=paragraphs(a.within_authority),
            finding=label(a.finding),
        ),
        necessary=dict(
            facts=[
                f"What was done: {clean(n.conduct)}",
                f"Alternatives: {clean(n.alternatives)}",
                f"Objective reasonableness: {clean(n.objective_reasonableness)}",
            ]
            + ([f"Subjective belief: {clean(n.subjective_belief)}"] if n.subjective_belief else []),
            analysis=[],
            finding=label(n.finding),
        ),
        finding=label(s.finding),
        disposition=disposition(s, when),
        disputed=[clean(d) for d in s.disputed_facts],
    )
