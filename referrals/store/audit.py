"""The hash chain over each case's events: every hash covers the event and the hash before it."""

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from referrals.domain.events import CaseEvent

GENESIS = "0" * 64


def event_hash(
    *,
    case_id: str,
    seq: int,
    kind: str,
    actor_id: str | None,
    actor_name: str | None,
    at: datetime,
    data: dict[str, Any],
    prev_hash: str,
) -> str:
    body = {
        "case_id": case_id,
        "seq": seq,
        "kind": kind,
        "actor_id": actor_id,
        "actor_name": actor_name,
        "at": at.astimezone(UTC).isoformat(timespec="microseconds"),
        "data": data,
        "prev_hash": prev_hash,
    }
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def event_fields(case_id: str, event: CaseEvent, prev_hash: str) -> dict[str, Any]:
    """The audit row of an event, its hash linked to the one before."""
    actor_id, actor_name = (event.actor.id, event.actor.name) if event.actor else (None, None)
    fields: dict[str, Any] = dict(
        case_id=case_id,
        seq=event.seq,
        kind=str(event.kind),
        actor_id=actor_id,
        actor_name=actor_name,
        at=event.at,
        data=event.data,
        prev_hash=prev_hash,
    )
    return fields | {"hash": event_hash(**fields), "update_id": event.update_id}


def chain_hash(case_id: str, events: Iterable[CaseEvent], prev_hash: str = GENESIS) -> str:
    """The chain's hash after `events`, following on from `prev_hash` (the hash of the event before the first).
    Pure and deterministic: a case's workflow computes the head it carries when it continues as new."""
    for event in events:
        prev_hash = event_fields(case_id, event, prev_hash)["hash"]
    return prev_hash


@dataclass(frozen=True)
class Break:
    seq: int
    reason: str


def verify_chain(case_id: str, rows: Iterable[Any]) -> Break | None:
    """The first event whose sequence, link or hash is wrong; None when the chain holds."""
    prev = GENESIS
    expected_seq = 1
    for row in rows:
        if row.seq != expected_seq:
            return Break(row.seq, f"expected event {expected_seq}, found {row.seq}")
        if row.prev_hash != prev:
            return Break(row.seq, "prev_hash does not match the previous event's hash")
        recomputed = event_hash(
            case_id=case_id,
            seq=row.seq,
            kind=row.kind,
            actor_id=row.actor_id,
            actor_name=row.actor_name,
            at=row.at,
            data=row.data,
            prev_hash=row.prev_hash,
        )
        if recomputed != row.hash:
            return Break(row.seq, "hash does not match the event's content")
        prev = row.hash
        expected_seq += 1
    return None
