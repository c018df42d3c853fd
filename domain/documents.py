"""Which documents a change of the case produces."""

from domain.case import CaseState
from domain.enums import ApprovalDecision, DocumentKind
from domain.events import EventKind


def documents_after(kind: EventKind, state: CaseState) -> list[DocumentKind]:
    """Which documents a change produces: the preservation request at filing and whenever holds
    change, the reviewer's memo with each legal review, the referral packet on approval."""
    if kind in (EventKind.CASE_FILED, EventKind.FOOTAGE_HOLD_CONFIRMED) and state.recordings:
        return [DocumentKind.PRESERVATION_REQUEST]
    if kind == EventKind.LEGAL_REVIEW_DECIDED:
        return [DocumentKind.LEGAL_REVIEW_MEMO]
    if kind == EventKind.COMMAND_DECIDED and state.command_decisions[-1].payload.decision == ApprovalDecision.APPROVE:
        return [DocumentKind.REFERRAL_PACKET]
    return []
