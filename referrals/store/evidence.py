"""Evidence items' file rows and their chains of custody (the bytes are the storage adapters', referrals/store/blobs.py)."""

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Integer, Text, bindparam, func, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TIMESTAMP, distinct_on, insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from referrals.store.audit import GENESIS, event_hash
from referrals.store.tables import CustodyEventRow, EvidenceFileRow, core_table


class Custody:
    """What a custody event says happened to an item."""

    COLLECTED = "collected"  # who collected it, when and where: as the upload said, noted when it was received
    ADDED = "added"  # received into the system: by whom, from which address (kept here, never printed)
    OPENED = "opened"  # its bytes opened or played in the desk (a thumbnail is a copy made from it: not custody)
    VIEWED = "viewed"  # before openings were told apart from thumbnails: any of its bytes shown in a page
    DOWNLOADED = "downloaded"  # its bytes served, whole or a range of them
    INTEGRITY_CHECKED = "integrity_checked"
    INCLUDED_IN_PACKET = "included_in_packet"
    DELIVERED = "delivered"  # listed in a packet sent to the prosecutor
    REMOVED = "removed"
    HELD = "held"  # a hold placed on the item (a court's order, a litigation hold): it cannot be removed
    RELEASED = "released"

    # A person's openings and downloads: told once per person and kind within an hour, with a count
    # (referrals/documents/custody.py). Each is an event of the chain when it begins at the file's first byte; the
    # rest of a stream, or a seek, is one only when it is the person's first in the hour (else the access trail,
    # naming the event it belongs to, records it).
    ACCESS = frozenset({OPENED, VIEWED, DOWNLOADED})
    WINDOW = timedelta(hours=1)


async def custody_from_event(session: AsyncSession, case_id: str, event) -> None:
    """The custody events a case event implies (the item collected and received, or removed), each appended once;
    and for an added file, its file row if missing."""
    data = event.data
    evidence_id = data["id"] if event.kind == "evidence_added" else data["evidence_id"]
    if event.kind == "evidence_added" and data.get("storage_key"):
        # Where its bytes are, from the case's own record: the API wrote this row before the step, and a rebuild
        # after a restore writes it again from the event.
        conn = await session.connection()
        await conn.execute(
            insert(core_table(EvidenceFileRow))
            .values(
                id=evidence_id,
                case_id=case_id,
                storage=data["storage"],
                key=data["storage_key"],
                size=data["size"],
                sha256=data["sha256"],
                content_type=data["content_type"],
                filename=data["filename"],
                stored_at=event.at,
            )
            .on_conflict_do_nothing()
        )
    for kind, noted in CUSTODY_FROM_EVENTS[event.kind]:
        await append_custody(
            session,
            evidence_id,
            case_id,
            kind,
            event.at,
            {k: data.get(k) for k in noted} | {"case_event": event.seq},
            event.actor.id if event.actor else None,
            event.actor.name if event.actor else None,
            once="case_event",
        )


# Case events that write an item's custody: the custody events, in order, and what of the event's data each keeps.
# An item's chain begins with its collection (who, when, where: what the upload said) and its receipt (by whom, from
# which address); both are written when the case records the item, so the collection's own time is in its data.
CUSTODY_FROM_EVENTS: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    "evidence_added": (
        (Custody.COLLECTED, ("collected_by", "collected_at", "collected_where", "source")),
        (Custody.ADDED, ("received_from", "sha256", "size", "content_type", "held_elsewhere")),
    ),
    "evidence_removed": ((Custody.REMOVED, ("reason", "sha256")),),
}


def custody_fields(
    evidence_id: str,
    case_id: str,
    seq: int,
    kind: str,
    actor_id: str | None,
    actor_name: str | None,
    at: datetime,
    data: dict[str, Any],
    prev_hash: str,
) -> dict:
    # The item's id stands where a case event has the case's: each item's chain is its own.
    hashed = event_hash(
        case_id=evidence_id,
        seq=seq,
        kind=kind,
        actor_id=actor_id,
        actor_name=actor_name,
        at=at,
        data=data,
        prev_hash=prev_hash,
    )
    return dict(
        evidence_id=evidence_id,
        case_id=case_id,
        seq=seq,
        kind=kind,
        actor_id=actor_id,
        actor_name=actor_name,
        at=at,
        data=data,
        prev_hash=prev_hash,
        hash=hashed,
    )


async def append_custody(
    session: AsyncSession,
    evidence_id: str,
    case_id: str,
    kind: str,
    at: datetime,
    data: dict[str, Any],
    actor_id: str | None = None,
    actor_name: str | None = None,
    once: str | None = None,
) -> bool:
    """Append one event to the item's chain in the caller's transaction. With `once`, a key in `data`: not if an
    event of this kind with the same value there is already in the chain (a retried activity). True if appended."""
    appended = await append_custody_to_each(session, [evidence_id], case_id, kind, at, data, actor_id, actor_name, once)
    return bool(appended)


async def append_custody_to_each(
    session: AsyncSession,
    evidence_ids: list[str],
    case_id: str,
    kind: str,
    at: datetime,
    data: dict[str, Any],
    actor_id: str | None = None,
    actor_name: str | None = None,
    once: str | None = None,
) -> list[str]:
    """`append_custody` of the same event to each of the items' chains (one, or a packet's every item), in four
    statements whatever their number: the chains locked, those already holding the event left (`once`), the rest
    appended each after its own last event. The items appended to."""
    ordered = sorted(set(evidence_ids))
    if not ordered:
        return []
    # One writer per chain at a time (lock_chain's locks), so that two downloads at once do not take the same place
    # in it.
    await _lock(session, *(_chain_lock(evidence_id) for evidence_id in ordered))
    conn = await session.connection()
    table = core_table(CustodyEventRow)
    seen: set[str] = set()
    if once is not None:
        there = await conn.execute(
            select(table.c.evidence_id).where(
                table.c.evidence_id.in_(ordered), table.c.kind == kind, table.c.data[once].astext == str(data[once])
            )
        )
        seen = set(there.scalars())
    due = [evidence_id for evidence_id in ordered if evidence_id not in seen]
    await _append(session, due, case_id, kind, at, data, actor_id, actor_name)
    return due


async def _append(
    session: AsyncSession,
    evidence_ids: list[str],
    case_id: str,
    kind: str,
    at: datetime,
    data: dict[str, Any],
    actor_id: str | None,
    actor_name: str | None,
) -> dict[str, int]:
    """Appends the event to each chain after its own last event, under the chains' locks (the caller holds them), in
    two statements whatever their number; each event's place in its chain."""
    if not evidence_ids:
        return {}
    conn = await session.connection()
    table = core_table(CustodyEventRow)
    heads = await conn.execute(
        select(table.c.evidence_id, table.c.seq, table.c.hash)
        .where(table.c.evidence_id.in_(evidence_ids))
        .ext(distinct_on(table.c.evidence_id))
        .order_by(table.c.evidence_id, table.c.seq.desc())
    )
    last = {row.evidence_id: (row.seq, row.hash) for row in heads}
    rows = []
    for evidence_id in evidence_ids:
        seq, prev = last.get(evidence_id, (0, GENESIS))
        rows.append(custody_fields(evidence_id, case_id, seq + 1, kind, actor_id, actor_name, at, data, prev))
    # One statement whatever their number: the rows as arrays, the event's own fields once. (An insert of a row each,
    # as executemany sends them, was a packet's 300 statements: 10-20 ms of the worker's and PostgreSQL's time.)
    await conn.execute(
        _APPEND,
        dict(
            case_id=case_id,
            kind=kind,
            actor_id=actor_id,
            actor_name=actor_name,
            at=at,
            data=data,
            evidence_ids=[row["evidence_id"] for row in rows],
            seqs=[row["seq"] for row in rows],
            prev_hashes=[row["prev_hash"] for row in rows],
            hashes=[row["hash"] for row in rows],
        ),
    )
    return {row["evidence_id"]: row["seq"] for row in rows}


_APPEND = text(
    """
    INSERT INTO evidence_custody (evidence_id, case_id, seq, kind, actor_id, actor_name, at, data, prev_hash, hash)
    SELECT item.evidence_id, :case_id, item.seq, :kind, :actor_id, :actor_name, :at, :data, item.prev_hash, item.hash
    FROM unnest(:evidence_ids, :seqs, :prev_hashes, :hashes) AS item (evidence_id, seq, prev_hash, hash)
    ON CONFLICT DO NOTHING
    """
).bindparams(
    bindparam("at", type_=TIMESTAMP(timezone=True)),
    bindparam("data", type_=JSONB),
    bindparam("evidence_ids", type_=ARRAY(Text)),
    bindparam("seqs", type_=ARRAY(Integer)),
    bindparam("prev_hashes", type_=ARRAY(Text)),
    bindparam("hashes", type_=ARRAY(Text)),
)


async def record_access(
    session: AsyncSession,
    evidence_id: str,
    case_id: str,
    kind: str,
    at: datetime,
    data: dict[str, Any],
    actor_id: str,
    actor_name: str,
    opening: bool,
) -> int:
    """An opening or a download of the item's bytes, in the caller's transaction: appended to the chain when it is an
    opening (it begins at the first byte), or when the person has no event of this kind in the chain within the
    hour (and since its last event of another kind); otherwise (the rest of a stream, a seek, a resumed download)
    it belongs to that event, and the access trail records it. The chain's event it is told under."""
    await lock_chain(session, evidence_id)
    if not opening and (earlier := await _recent_access(session, evidence_id, kind, actor_id, at)) is not None:
        return earlier
    return (await _append(session, [evidence_id], case_id, kind, at, data, actor_id, actor_name))[evidence_id]


async def _recent_access(session: AsyncSession, evidence_id: str, kind: str, actor_id: str, at: datetime) -> int | None:
    """The person's last event of this kind within the hour before `at`, unless an event of another kind (a packet, a
    hold, a check) came after it."""
    conn = await session.connection()
    table = core_table(CustodyEventRow)
    since = (
        select(func.coalesce(func.max(table.c.seq), 0))
        .where(table.c.evidence_id == evidence_id, table.c.kind.not_in(sorted(Custody.ACCESS)))
        .scalar_subquery()
    )
    found = await conn.execute(
        select(table.c.seq)
        .where(
            table.c.evidence_id == evidence_id,
            table.c.kind == kind,
            table.c.actor_id == actor_id,
            table.c.at > at - Custody.WINDOW,
            table.c.seq > since,
        )
        .order_by(table.c.seq.desc())
        .limit(1)
    )
    return found.scalar_one_or_none()


async def custody(session: AsyncSession, evidence_id: str, before: datetime | None = None) -> list[CustodyEventRow]:
    query = select(CustodyEventRow).where(CustodyEventRow.evidence_id == evidence_id)
    if before is not None:
        query = query.where(CustodyEventRow.at <= before)
    return list((await session.exec(query.order_by(col(CustodyEventRow.seq)))).all())


async def custody_of_case(session: AsyncSession, case_id: str) -> dict[str, list[CustodyEventRow]]:
    rows = (
        await session.exec(
            select(CustodyEventRow)
            .where(CustodyEventRow.case_id == case_id)
            .order_by(CustodyEventRow.evidence_id, col(CustodyEventRow.seq))
        )
    ).all()
    chains: dict[str, list[CustodyEventRow]] = {}
    for row in rows:
        chains.setdefault(row.evidence_id, []).append(row)
    return chains


async def file_of(session: AsyncSession, evidence_id: str) -> EvidenceFileRow | None:
    return await session.get(EvidenceFileRow, evidence_id)


async def files(session: AsyncSession, case_id: str | None = None) -> list[EvidenceFileRow]:
    query = select(EvidenceFileRow).where(col(EvidenceFileRow.deleted_at).is_(None))
    if case_id is not None:
        query = query.where(EvidenceFileRow.case_id == case_id)
    return list((await session.exec(query.order_by(EvidenceFileRow.case_id, col(EvidenceFileRow.stored_at)))).all())


async def in_packet(session: AsyncSession, case_id: str, document_id: str) -> set[str]:
    """The items a packet (document) lists: those whose custody notes their inclusion in it."""
    rows = await session.exec(
        select(CustodyEventRow.evidence_id).where(
            CustodyEventRow.case_id == case_id,
            CustodyEventRow.kind == Custody.INCLUDED_IN_PACKET,
            CustodyEventRow.data["document_id"].astext == document_id,
        )
    )
    return set(rows.all())


async def holds_on(session: AsyncSession, evidence_id: str) -> list[str]:
    """The references of the holds standing on an item (placed and not yet released), in the order placed."""
    standing: list[str] = []
    for row in (
        await session.exec(
            select(CustodyEventRow)
            .where(
                CustodyEventRow.evidence_id == evidence_id,
                col(CustodyEventRow.kind).in_([Custody.HELD, Custody.RELEASED]),
            )
            .order_by(col(CustodyEventRow.seq))
        )
    ).all():
        reference = row.data["reference"]
        if row.kind == Custody.HELD:
            standing.append(reference)
        elif reference in standing:
            standing.remove(reference)
    return standing


async def _lock(session: AsyncSession, *names: str) -> None:
    """Until the caller's transaction ends, each name is the caller's alone: taken in one order, so that two callers
    locking many never wait on each other in a circle."""
    conn = await session.connection()
    await conn.execute(
        text(
            "SELECT pg_advisory_xact_lock(hashtext(name))"
            " FROM (SELECT name FROM unnest(CAST(:names AS text[])) AS name ORDER BY name) AS names"
        ),
        {"names": list(names)},
    )


async def lock_chain(session: AsyncSession, evidence_id: str) -> None:
    """Until the caller's transaction ends, no one else appends to the item's chain (held for milliseconds)."""
    await _lock(session, _chain_lock(evidence_id))


def _chain_lock(evidence_id: str) -> str:
    return f"custody:{evidence_id}"


async def lock_holds(session: AsyncSession, evidence_id: str) -> None:
    """Until the caller's transaction ends, no one else places or releases a hold on the item, or removes it (held
    across a removal's step, which appends to the chain itself: hence a lock of its own)."""
    await _lock(session, f"holds:{evidence_id}")
