"""The documents a filing asks for (each step's are in its declaration: referrals/domain/steps)."""

from referrals.domain.case import CaseState
from referrals.domain.enums import DocumentKind


def documents_at_filing(state: CaseState) -> list[DocumentKind]:
    """The preservation request, for the recordings the filing names."""
    return [DocumentKind.PRESERVATION_REQUEST] if state.recordings else []


# The documents that list the case's other documents (the packet's exhibits and its history): each is made only once
# every document asked for before it is made and recorded, so that it lists them.
LISTS_DOCUMENTS = frozenset({DocumentKind.REFERRAL_PACKET})
