"""One Word document from what it is made of: what its template is given (the presenters) and the filled template.
Pure, and the heaviest work a document takes (the document maker runs it on a thread of its own process)."""

from datetime import datetime
from pathlib import Path
from typing import Any

from referrals.documents import memo, packet, preservation, touhy
from referrals.documents.render import Properties, render
from referrals.domain.case import CaseState
from referrals.domain.enums import DocumentKind
from referrals.domain.events import Letterhead


def make(
    template: Path,
    kind: DocumentKind,
    state: CaseState,
    letterhead: Letterhead,
    now: datetime,
    version: int,
    properties: Properties,
    events: list[Any] | None = None,
    custody: dict[str, list[Any]] | None = None,
) -> bytes:
    """The document's bytes (the packet is also given the case's events and each item's custody up to it)."""
    if kind == DocumentKind.PRESERVATION_REQUEST:
        context = preservation.preservation_request(state, letterhead, now)
    elif kind == DocumentKind.HOLD_CONFIRMATION:
        context = preservation.hold_confirmation(state, letterhead, now)
    elif kind == DocumentKind.LEGAL_REVIEW_MEMO:
        context = memo.legal_review_memo(state, letterhead, now)
    elif kind == DocumentKind.TOUHY_REQUEST:
        context = touhy.touhy_request(state, letterhead, now, version)
    else:
        context = packet.referral_packet(state, letterhead, now, events or [], version, custody or {})
    return render(template, context, properties)
