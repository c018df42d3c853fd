"""The access trail read straight from PostgreSQL: its newest entry, or the entries of one action since a moment."""

from datetime import datetime

from sqlmodel import select

from referrals.store.tables import AccessEntryRow


async def newest(sessions, case_id=None, user_id=None):
    query = select(AccessEntryRow).order_by(AccessEntryRow.seq.desc()).limit(1)
    if case_id is not None:
        query = query.where(AccessEntryRow.case_id == case_id)
    if user_id is not None:
        query = query.where(AccessEntryRow.user_id == user_id)
    async with sessions() as session:
        return (await session.exec(query)).first()


async def entries(sessions, since: datetime, action: str) -> list[AccessEntryRow]:
    async with sessions() as s:
        return list(
            (
                await s.exec(
                    select(AccessEntryRow)
                    .where(AccessEntryRow.at >= since, AccessEntryRow.action == action)
                    .order_by(AccessEntryRow.seq)
                )
            ).all()
        )
