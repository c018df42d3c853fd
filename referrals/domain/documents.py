"""Which documents a change of the case produces."""

from referrals.domain.case import CaseState
from referrals.domain.enums import ApprovalDecision, DocumentKind
from referrals.domain.events import EventKind


def documents_after(kind: EventKind, state: CaseState) -> list[DocumentKind]:
    """Which documents a change produces: the preservation request at filing, whenever holds change and
    when a supplement adds recordings, the reviewer's memo with each legal review, the referral packet on
    approval and again after each supplement or change of evidence once it has been made."""
    if kind in (EventKind.CASE_FILED, EventKind.FOOTAGE_HOLD_CONFIRMED) and state.recordings:
        return [DocumentKind.PRESERVATION_REQUEST]
    if kind == EventKind.SUPPLEMENT_FILED:
        # New recordings: a preservation request for the hold; a packet already made: its next version,
        # superseding the last, with what the supplement added or put right.
        made = {d.kind for d in state.documents} | set(state.documents_pending)
        asked = [DocumentKind.PRESERVATION_REQUEST] if state.supplements[-1].payload.recordings else []
        return asked + ([DocumentKind.REFERRAL_PACKET] if DocumentKind.REFERRAL_PACKET in made else [])
    if kind in (EventKind.EVIDENCE_ADDED, EventKind.EVIDENCE_REMOVED):
        # The packet's evidence inventory changed: once a packet has been made, its next version lists it.
        made = {d.kind for d in state.documents} | set(state.documents_pending)
        return [DocumentKind.REFERRAL_PACKET] if DocumentKind.REFERRAL_PACKET in made else []
    if kind == EventKind.LEGAL_REVIEW_DECIDED:
        # And a Touhy request letter for each agency it asks evidence of (the Nth letter is request T N's).
        return [DocumentKind.LEGAL_REVIEW_MEMO] + [DocumentKind.TOUHY_REQUEST] * len(
            state.legal_reviews[-1].payload.federal_evidence
        )
    if kind == EventKind.COMMAND_DECIDED and state.command_decisions[-1].payload.decision == ApprovalDecision.APPROVE:
        return [DocumentKind.REFERRAL_PACKET]
    return []
