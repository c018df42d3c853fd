"""Evidence items added to a case, and taken off it (with a tombstone in its custody log)."""

from datetime import datetime
from typing import Any

from referrals.domain.case import CaseState, EvidenceEntry, PersonRef, Recorded
from referrals.domain.chronology import require_order
from referrals.domain.enums import DocumentKind, Role
from referrals.domain.errors import Rejection, RejectionKind
from referrals.domain.messages import EvidenceItem, EvidenceRemoval, Step
from referrals.domain.policy import Policy
from referrals.domain.steps.declaration import declare, require_not_closed
from referrals.domain.steps.investigation import OFFICERS
from referrals.domain.steps.people import made_or_asked


def _packet_again(state: CaseState) -> list[DocumentKind]:
    """The packet's evidence inventory changed: once a packet has been made, its next version lists it."""
    return [DocumentKind.REFERRAL_PACKET] if made_or_asked(state, DocumentKind.REFERRAL_PACKET) else []


def check_add_evidence(state: CaseState, step: Step[EvidenceItem], policy: Policy) -> None:
    require_not_closed(state, "no evidence can be added")
    item = step.payload
    if item.person_id is not None and not any(p.id == item.person_id for p in state.people):
        raise Rejection(RejectionKind.INVALID, f"no person '{item.person_id}' in this case", "person_id")
    if state.evidence_item(item.id) is not None:
        raise Rejection(RejectionKind.CONFLICT, f"evidence {item.id} is already in this case", "id")
    if item.touhy_request_id is not None and state.touhy_request(item.touhy_request_id) is None:
        raise Rejection(
            RejectionKind.INVALID, f"no Touhy request {item.touhy_request_id} in this case", "touhy_request_id"
        )
    require_order(item.collected_at, state.details.occurred_at, "the incident", "collected_at", policy.zone)


def apply_add_evidence(state: CaseState, step: Step[EvidenceItem], now: datetime, policy: Policy) -> dict[str, Any]:
    number = len(state.evidence) + 1
    state.evidence.append(
        EvidenceEntry(item=step.payload, number=number, added_by=PersonRef.of(step.actor), added_at=now)
    )
    return {"number": number}


# Uploaded as multipart (referrals/api/evidence_upload.py), or a reference with no file (referrals/api/routes/evidence.py).
ADD_EVIDENCE = declare(
    name="add_evidence",
    request=EvidenceItem,
    event="evidence_added",
    chronicle="Evidence added",
    # Those who collect evidence, and the custodian who receives it.
    roles=OFFICERS | {Role.EVIDENCE_CUSTODIAN},
    check=check_add_evidence,
    change=apply_add_evidence,
    documents=_packet_again,
    routed=False,
    form=False,  # the case page's evidence form (referrals/web/routes/evidence.py)
    summary="Add an evidence item",
    title="Add evidence",
    button="Add the evidence",
    done="Evidence added.",
)


def check_remove_evidence(state: CaseState, step: Step[EvidenceRemoval], policy: Policy) -> None:
    require_not_closed(state, "its evidence stays as it is")
    entry = state.evidence_item(step.payload.evidence_id)
    if entry is None:
        raise Rejection(RejectionKind.INVALID, f"no evidence {step.payload.evidence_id} in this case", "evidence_id")
    if entry.removed is not None:
        raise Rejection(RejectionKind.CONFLICT, f"evidence {entry.number} was already removed", "evidence_id")


def apply_remove_evidence(
    state: CaseState, step: Step[EvidenceRemoval], now: datetime, policy: Policy
) -> dict[str, Any]:
    entry = state.evidence_item(step.payload.evidence_id)
    assert entry is not None  # check_remove_evidence refused an item the case does not hold
    entry.removed = Recorded(payload=step.payload, by=PersonRef.of(step.actor), at=now)
    return {"number": entry.number, "sha256": entry.item.sha256}


REMOVE_EVIDENCE = declare(
    name="remove_evidence",
    request=EvidenceRemoval,
    event="evidence_removed",
    chronicle="Evidence removed",
    # A wrongly attached file is taken off the case by an admin only, and leaves a tombstone in its custody log.
    roles=frozenset({Role.ADMIN}),
    check=check_remove_evidence,
    change=apply_remove_evidence,
    documents=_packet_again,
    routed=False,
    form=False,
    summary="Remove an evidence item wrongly attached, with the reason; a held item cannot be removed",
    title="Remove evidence",
    button="Remove the item",
    done="Evidence removed.",
)
