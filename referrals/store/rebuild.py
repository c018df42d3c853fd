"""Writing a case back into PostgreSQL from what its workflow has recorded (after a restore)."""

from dataclasses import dataclass, field

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from referrals.domain.events import AuditTrail
from referrals.store import cases
from referrals.store.audit import GENESIS, event_hash, verify_chain
from referrals.store.tables import CaseEventRow, DocumentDeliveryRow, DocumentOutboxRow, DocumentRow, Incident


@dataclass
class Rebuilt:
    """What one case's rebuild found and did."""

    case_number: str
    case_id: str
    events_added: int = 0
    documents_missing: list = field(default_factory=list)  # DocumentRequests to make again
    documents_lost: list[str] = field(default_factory=list)  # ids no request can make again (older cases)
    documents_asked: list = field(default_factory=list)  # DocumentRequests asked for, not yet made: to make
    deliveries_added: int = 0
    conflict: str | None = None  # a stored event that is not the workflow's: nothing was written
    # Events (first, last) that neither PostgreSQL nor the runs Temporal still holds have: nothing was written.
    gap: tuple[int, int] | None = None
    chain_break: str | None = None


async def write_back(session: AsyncSession, trail: AuditTrail) -> Rebuilt:
    """In the caller's transaction: the events PostgreSQL lacks, the whole read model, the delivery log.
    Stored events must be the workflow's own, hash for hash; if one is not, nothing is written."""
    state = trail.state
    result = Rebuilt(case_number=state.case_number, case_id=state.case_id)
    # A step stored meanwhile waits for this transaction (or this one finds its events: see below).
    await session.exec(select(Incident.id).where(Incident.id == state.case_id).with_for_update())
    stored = list(
        (
            await session.exec(
                select(CaseEventRow).where(CaseEventRow.case_id == state.case_id).order_by(col(CaseEventRow.seq))
            )
        ).all()
    )
    # A run continued as new holds the events after its chain's head (`earlier`): PostgreSQL must hold those before,
    # the head's hash for hash (`referrals rebuild` puts the earlier runs' events in front while Temporal has them).
    held = trail.events[0].seq - 1 if trail.events else trail.earlier.seq if trail.earlier else 0
    prev = GENESIS
    if held:
        head = stored[held - 1] if len(stored) >= held else None
        if head is None:
            result.gap = (len(stored) + 1, held)
            return result
        if head.seq != held or trail.earlier and trail.earlier.seq == held and head.hash != trail.earlier.hash:
            result.conflict = f"event {head.seq} in PostgreSQL is not the workflow's event {held}"
            return result
        prev, stored = head.hash, stored[held:]
    for row, event in zip(stored, trail.events):
        expected = cases.event_fields(state.case_id, event, prev)
        content = event_hash(
            case_id=row.case_id,
            seq=row.seq,
            kind=row.kind,
            actor_id=row.actor_id,
            actor_name=row.actor_name,
            at=row.at,
            data=row.data,
            prev_hash=row.prev_hash,
        )
        if row.seq != event.seq or row.hash != expected["hash"] or content != expected["hash"]:
            result.conflict = f"event {row.seq} in PostgreSQL is not the workflow's event {event.seq}"
            return result
        prev = row.hash
    if len(stored) > len(trail.events):
        return result  # the case moved on after the workflow was asked: what is stored is newer, and its own
    await cases.persist_events(session, trail.workflow_id, state, trail.events, heal=False, rewrite=True)
    result.events_added = len(trail.events) - len(stored)
    present = set((await session.exec(select(DocumentRow.id).where(DocumentRow.case_id == state.case_id))).all())
    requested = {r.document_id: r for r in trail.documents}
    for ref in state.documents:
        if ref.id in present:
            continue
        if ref.id in requested:
            result.documents_missing.append(requested[ref.id])
        else:
            result.documents_lost.append(ref.id)
    # Asked for and not yet recorded (the document maker's outbox went with the restore): made by the rebuild, the
    # case records them as it would have.
    listed = {ref.id for ref in state.documents}
    waiting = set(
        (
            await session.exec(select(DocumentOutboxRow.document_id).where(DocumentOutboxRow.case_id == state.case_id))
        ).all()
    )  # (still asked for: the maker makes those)
    result.documents_asked = [
        r
        for r in trail.documents
        if r.document_id not in listed and r.document_id not in present and r.document_id not in waiting and r.state
    ]
    return result


async def stored_seq(session: AsyncSession, case_id: str) -> int:
    """The last event PostgreSQL holds of the case (0: none)."""
    found = (await session.exec(select(func.max(CaseEventRow.seq)).where(CaseEventRow.case_id == case_id))).one()
    return found or 0


async def restore_deliveries(session: AsyncSession, trail: AuditTrail) -> int:
    """The delivery log's rows for documents the workflow saw delivered (once the documents exist)."""
    added = 0
    for delivered in trail.deliveries:
        key = f"{trail.workflow_id}:{delivered.document_id}"
        if (
            await session.get(DocumentDeliveryRow, key) is None
            and await session.get(DocumentRow, delivered.document_id) is not None
        ):
            session.add(
                DocumentDeliveryRow(
                    idempotency_key=key, document_id=delivered.document_id, recipient=delivered.to, sent_at=delivered.at
                )
            )
            added += 1
    return added


async def chain_break(session: AsyncSession, case_id: str) -> str | None:
    failure = verify_chain(case_id, await cases.list_events(session, case_id))
    return None if failure is None else f"event {failure.seq}: {failure.reason}"
