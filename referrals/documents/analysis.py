"""The legal analysis as the memo and the packet print it: one section per federal subject, each charge
element by element, the two prongs of Supremacy Clause immunity and the finding."""

from referrals.domain.enums import ImmunityFinding
from referrals.domain.events import Letterhead
from referrals.domain.messages import LegalReview, SubjectAnalysis
from referrals.domain.words import label

UNVERIFIED = "The elements are the department's summary of the statute and are not yet verified by counsel."


def subjects(
    review: LegalReview, letterhead: Letterhead, evidence_numbers: dict[str, str], clean, paragraphs
) -> list[dict]:
    """Each subject's section; `evidence_numbers` maps an evidence id to its exhibit number (C3)."""
    return [_subject(n, s, letterhead, evidence_numbers, clean, paragraphs) for n, s in enumerate(review.subjects, 1)]


def _charge(letterhead: Letterhead, clean, citation: str, proofs) -> dict:
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
                evidence=proof.evidence if proof else [],
            )
        )
    return dict(
        statute=clean(citation),
        title=clean(letterhead.statutes.get(citation, "")),
        elements=rows,
        note=UNVERIFIED if citation in letterhead.unverified else "",
    )


def _subject(
    number: int, s: SubjectAnalysis, letterhead: Letterhead, evidence_numbers: dict[str, str], clean, paragraphs
) -> dict:
    charges = []
    for charge in s.charges:
        printed = _charge(letterhead, clean, charge.statute, charge.elements)
        for row in printed["elements"]:
            row["evidence"] = ", ".join(evidence_numbers.get(e, clean(e)) for e in row["evidence"]) or "None cited"
        charges.append(printed)
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
        finding=label(s.finding) + (" (not referred)" if s.finding == ImmunityFinding.IMMUNE or not s.charges else ""),
        disputed=[clean(d) for d in s.disputed_facts],
    )
