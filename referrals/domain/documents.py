"""The documents a filing asks for (each step's are in its declaration: referrals/domain/steps)."""

from referrals.domain.case import CaseState
from referrals.domain.enums import DocumentKind


def documents_at_filing(state: CaseState) -> list[DocumentKind]:
    """The preservation request, for the recordings the filing names."""
    return [DocumentKind.PRESERVATION_REQUEST] if state.recordings else []
