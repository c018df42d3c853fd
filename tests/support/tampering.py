"""Someone with the database owner's rights changing what the product keeps, behind its back."""

import json

from sqlalchemy import text

from referrals.store.audit import event_hash


async def edit_narrative(sessions, cid: str, seq: int) -> None:
    """Someone with the database owner's rights goes around the trigger and edits an event."""
    async with sessions() as s, s.begin():
        await s.exec(text("ALTER TABLE case_event DISABLE TRIGGER case_event_append_only"))
        await s.exec(
            text(
                "UPDATE case_event SET data = jsonb_set(data, '{narrative}', '\"edited\"') "
                "WHERE case_id = :cid AND seq = :seq"
            ),
            params={"cid": cid, "seq": seq},
        )
        await s.exec(text("ALTER TABLE case_event ENABLE TRIGGER case_event_append_only"))


async def rewrite_history(sessions, cid: str, seq: int) -> None:
    """The database's owner rewrites an event and covers it up: the trigger disabled, the event edited, and its hash
    and every later one recomputed, so the chain verifies as intact."""
    async with sessions() as s, s.begin():
        await s.exec(text("ALTER TABLE case_event DISABLE TRIGGER case_event_append_only"))
        rows = (
            (
                await s.exec(
                    text("SELECT * FROM case_event WHERE case_id = :cid AND seq >= :seq ORDER BY seq"),
                    params={"cid": cid, "seq": seq},
                )
            )
            .mappings()
            .all()
        )
        prev = rows[0]["prev_hash"]
        for row in rows:
            data = {**row["data"], "narrative": "rewritten"} if row["seq"] == seq else row["data"]
            fields = {k: row[k] for k in ("case_id", "seq", "kind", "actor_id", "actor_name", "at")}
            digest = event_hash(**fields, data=data, prev_hash=prev)
            await s.exec(
                text(
                    "UPDATE case_event SET data = CAST(:data AS jsonb), prev_hash = :prev, hash = :hash "
                    "WHERE case_id = :cid AND seq = :seq"
                ),
                params={"data": json.dumps(data), "prev": prev, "hash": digest, "cid": cid, "seq": row["seq"]},
            )
            prev = digest
        await s.exec(text("ALTER TABLE case_event ENABLE TRIGGER case_event_append_only"))
