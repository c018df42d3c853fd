"""Someone with the database owner's rights changing what the product keeps, behind its back."""

from sqlalchemy import text


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
