"""Every hash chain's head now (for a snapshot to publish their root), the heads kept beside each snapshot, and what
each chain holds today at a kept head's place (referrals/domain/chain_roots.py)."""

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from referrals.domain.chain_roots import Chain, Head

# Each case's last event (the read model's event_seq is written with it, in one transaction), each item's last custody
# event, and the access trail's last entry.
CURRENT = """
SELECT 'case', e.case_id, e.seq, e.hash FROM incident i JOIN case_event e ON e.case_id = i.id AND e.seq = i.event_seq
UNION ALL
(SELECT DISTINCT ON (evidence_id) 'custody', evidence_id, seq, hash FROM evidence_custody ORDER BY evidence_id, seq DESC)
UNION ALL
(SELECT 'access', '', seq, hash FROM access_log ORDER BY seq DESC LIMIT 1)
"""
# What each kept head's place holds today, or NULL where nothing does (an access entry pruned, an event deleted).
TODAY = """
SELECT h.chain, h.chain_id, h.seq, h.hash,
       CASE h.chain WHEN 'case' THEN e.hash WHEN 'custody' THEN c.hash ELSE a.hash END
FROM published_chain_head h
LEFT JOIN case_event e ON h.chain = 'case' AND e.case_id = h.chain_id AND e.seq = h.seq
LEFT JOIN evidence_custody c ON h.chain = 'custody' AND c.evidence_id = h.chain_id AND c.seq = h.seq
LEFT JOIN access_log a ON h.chain = 'access' AND a.seq = h.seq
WHERE h.snapshot_id = :snapshot
"""


async def keep(conn: AsyncConnection, snapshot_id: int) -> list[Head]:
    """Keeps every chain's head now, as the caller's transaction sees them, beside the snapshot (in the database: at
    200,000 cases, a quarter of a million rows), and returns them."""
    rows = await conn.execute(
        text(
            "INSERT INTO published_chain_head (snapshot_id, chain, chain_id, seq, hash) "
            f"SELECT :s, * FROM ({CURRENT}) h RETURNING chain, chain_id, seq, hash"
        ),
        {"s": snapshot_id},
    )
    return [Head(Chain(chain), chain_id, seq, digest) for chain, chain_id, seq, digest in rows]


async def kept_and_today(conn: AsyncConnection, snapshot_id: int) -> list[tuple[Head, str | None]]:
    """The heads kept with a snapshot, each with the hash its place holds today (None: nothing there now)."""
    rows = await conn.execute(text(TODAY), {"snapshot": snapshot_id})
    return [(Head(Chain(chain), chain_id, seq, digest), today) for chain, chain_id, seq, digest, today in rows]
