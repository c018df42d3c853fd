"""Every hash chain's head now (for a snapshot to publish their root), the heads each snapshot's root was made of,
and what each chain holds today at a head's place (referrals/domain/chain_roots.py).

A snapshot keeps only the heads that moved since the ones kept before it (`published_chain_head`): the schedule
publishes daily, and most of a department's cases are closed, their chains still. The heads a snapshot's root was
made of are, for each chain, the newest kept by that snapshot or one before it."""

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from referrals.domain.chain_roots import Chain, Head

# Each case's last event (kept beside its trail by the trigger that writes case_tally, with each insert: migration
# 0016), each item's last custody event, and the access trail's last entry.
CURRENT = """
SELECT 'case' AS chain, case_id AS chain_id, head_seq AS seq, head_hash AS hash FROM case_tally
UNION ALL
(SELECT DISTINCT ON (evidence_id) 'custody', evidence_id, seq, hash FROM evidence_custody ORDER BY evidence_id, seq DESC)
UNION ALL
(SELECT 'access', '', seq, hash FROM access_log ORDER BY seq DESC LIMIT 1)
"""
# Every head now, and those that moved kept for the snapshot: one statement, so both are the same moment's.
KEEP = f"""
WITH now AS ({CURRENT}),
kept AS (
    INSERT INTO published_chain_head (snapshot_id, chain, chain_id, seq, hash)
    SELECT :snapshot, n.chain, n.chain_id, n.seq, n.hash FROM now n
    WHERE NOT EXISTS (
        SELECT 1 FROM published_chain_head h
        WHERE h.chain = n.chain AND h.chain_id = n.chain_id AND h.seq = n.seq AND h.hash = n.hash
    )
)
SELECT chain, chain_id, seq, hash FROM now
"""
# The heads a snapshot's root was made of, each with what its place holds today (NULL where nothing does: an access
# entry pruned, an event deleted).
TODAY = """
WITH heads AS (
    SELECT DISTINCT ON (chain, chain_id) chain, chain_id, seq, hash FROM published_chain_head
    WHERE snapshot_id <= :snapshot ORDER BY chain, chain_id, snapshot_id DESC
)
SELECT h.chain, h.chain_id, h.seq, h.hash,
       CASE h.chain WHEN 'case' THEN e.hash WHEN 'custody' THEN c.hash ELSE a.hash END
FROM heads h
LEFT JOIN case_event e ON h.chain = 'case' AND e.case_id = h.chain_id AND e.seq = h.seq
LEFT JOIN evidence_custody c ON h.chain = 'custody' AND c.evidence_id = h.chain_id AND c.seq = h.seq
LEFT JOIN access_log a ON h.chain = 'access' AND a.seq = h.seq
"""


async def keep(conn: AsyncConnection, snapshot_id: int) -> list[tuple[str, str, int, str]]:
    """Every chain's head now, as the caller's transaction sees them, as (chain, id, seq, hash); those that moved
    since the last snapshot are kept for this one."""
    # Not a nested loop: with the table empty by its statistics (the first snapshot), PostgreSQL would scan it once per
    # head while the statement fills it, 226 s at 200,000 cases; the hash anti-join takes 2.3 s (bench.scale).
    await conn.execute(text("SET LOCAL enable_nestloop = off"))
    rows = (await conn.execute(text(KEEP), {"snapshot": snapshot_id})).all()
    await conn.execute(text("RESET enable_nestloop"))
    return [tuple(row) for row in rows]


async def kept_and_today(conn: AsyncConnection, snapshot_id: int) -> list[tuple[Head, str | None]]:
    """The heads a snapshot's root was made of, each with the hash its place holds today (None: nothing there now)."""
    rows = await conn.execute(text(TODAY), {"snapshot": snapshot_id})
    return [(Head(Chain(chain), chain_id, seq, digest), today) for chain, chain_id, seq, digest, today in rows]
