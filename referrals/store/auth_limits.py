"""Failed authentications, counted in PostgreSQL so that every API process sees the same counts: by client
address, in a sliding minute. Never by account: a token is 256 random bits, so a lock would stop no guessing and
would let anyone who knows a user's id lock its owner out. Rows older than an hour are deleted as new ones come."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from referrals.store.tables import AppUser, AuthFailure

CLIENT, ACCOUNT = "client", "account"  # account: rows from before, only deleted
KEPT = timedelta(hours=1)


async def count(session: AsyncSession, kind: str, key: str, window: timedelta) -> int:
    since = datetime.now(UTC) - window
    found = await session.exec(
        select(func.count())
        .select_from(AuthFailure)
        .where(AuthFailure.kind == kind, AuthFailure.key == key, AuthFailure.at > since)
    )
    return found.one()


async def retry_after(session: AsyncSession, kind: str, key: str, window: timedelta) -> int:
    now = datetime.now(UTC)
    oldest = (
        await session.exec(
            select(func.min(AuthFailure.at)).where(
                AuthFailure.kind == kind, AuthFailure.key == key, AuthFailure.at > now - window
            )
        )
    ).one()
    return max(1, int((oldest + window - now).total_seconds()) + 1) if oldest else 1


async def failed(session: AsyncSession, kind: str, key: str) -> None:
    now = datetime.now(UTC)
    session.add(AuthFailure(kind=kind, key=key, at=now))
    await session.exec(delete(AuthFailure).where(col(AuthFailure.at) < now - KEPT))
    await session.commit()


async def unlock(session: AsyncSession, user: AppUser) -> None:
    """Ends a lock set before accounts stopped being locked (and forgets the account's old failures)."""
    user.locked_until = None
    session.add(user)
    await session.exec(delete(AuthFailure).where(col(AuthFailure.kind) == ACCOUNT, col(AuthFailure.key) == user.id))
    await session.commit()


def locked(user: AppUser) -> bool:
    return user.locked_until is not None and user.locked_until > datetime.now(UTC)
