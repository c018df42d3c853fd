"""Browser sessions: a random cookie value (stored only as its hash) bound to the token signed in with."""

import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, or_
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from store.tables import AppUser, WebSession
from store.users import hash_token


async def open_session(session: AsyncSession, user: AppUser, lifetime: timedelta) -> tuple[str, WebSession]:
    """A new session for a user who just presented their token: the cookie value, shown once, and its row."""
    cookie = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    await session.exec(delete(WebSession).where(WebSession.expires_at <= now))  # long-gone browsers
    row = WebSession(id_hash=hash_token(cookie), user_id=user.id, token_hash=user.token_hash,
                     csrf_token=secrets.token_urlsafe(32), created_at=now, expires_at=now + lifetime)
    session.add(row)
    await session.commit()
    return cookie, row


async def find(session: AsyncSession, cookie: str) -> tuple[AppUser, WebSession] | None:
    """The user and session behind a cookie, if the session is unexpired and the user could still sign in
    with the same token: the API's rules (revoked, expired, replaced tokens) apply to the browser too."""
    now = datetime.now(UTC)
    found = await session.exec(
        select(AppUser, WebSession).join(WebSession, WebSession.user_id == AppUser.id).where(
            WebSession.id_hash == hash_token(cookie),
            WebSession.expires_at > now,
            WebSession.token_hash == AppUser.token_hash,
            AppUser.active.is_(True),
            or_(AppUser.token_expires_at.is_(None), AppUser.token_expires_at > now),
        )
    )
    row = found.first()
    return (row[0], row[1]) if row else None


async def close(session: AsyncSession, cookie: str) -> None:
    await session.exec(delete(WebSession).where(WebSession.id_hash == hash_token(cookie)))
    await session.commit()
