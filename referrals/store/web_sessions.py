"""Browser sessions: a random cookie value (stored only as its hash) bound to the token or provider sign-in
that opened it; ended at an absolute limit, and locked after a while without activity."""

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from referrals.store.tables import AppUser, WebSession
from referrals.store.users import hash_token

TOUCH_EVERY = timedelta(seconds=60)  # activity is written at most once a minute per session


@dataclass(frozen=True)
class Ended:
    """A session found but over: `expired` (the absolute limit), `locked` (idle too long) or `account_locked`
    (its account locked after failed sign-ins)."""

    reason: str
    user: AppUser


async def open_session(
    session: AsyncSession, user: AppUser, lifetime: timedelta, *, via: str = "token", id_token: str | None = None
) -> tuple[str, WebSession]:
    """A new session for a user who just signed in: the cookie value, shown once, and its row."""
    cookie = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    await session.exec(delete(WebSession).where(col(WebSession.expires_at) <= now))  # long-gone browsers
    row = WebSession(
        id_hash=hash_token(cookie),
        user_id=user.id,
        token_hash=user.token_hash,
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        expires_at=now + lifetime,
        last_seen_at=now,
        via=via,
        id_token=id_token,
    )
    session.add(row)
    await session.commit()
    return cookie, row


async def find(
    session: AsyncSession, cookie: str, idle: timedelta, *, activity: bool = True
) -> tuple[AppUser, WebSession] | Ended | None:
    """The user and session behind a cookie, if the session is neither over nor idle too long and the user could
    still sign in the same way: the API's rules (revoked, expired, replaced tokens) apply to the browser too. An
    ended session is deleted and answered as `Ended`, so the caller can say why and put it in the trail."""
    now = datetime.now(UTC)
    found = await session.exec(
        select(AppUser, WebSession)
        .join(WebSession, col(WebSession.user_id) == AppUser.id)
        .where(
            WebSession.id_hash == hash_token(cookie),
            WebSession.token_hash == AppUser.token_hash,
            col(AppUser.active).is_(True),
            or_(col(AppUser.token_expires_at).is_(None), col(AppUser.token_expires_at) > now),
        )
    )
    row = found.first()
    if row is None:
        return None
    user, web = row
    ended = (
        "expired"
        if web.expires_at <= now
        else "locked"
        if web.last_seen_at <= now - idle
        else "account_locked"
        if user.locked_until is not None and user.locked_until > now
        else None
    )
    if ended:
        await close(session, cookie)
        return Ended(ended, user)
    if activity and now - web.last_seen_at >= TOUCH_EVERY:
        web.last_seen_at = now
        session.add(web)
        await session.commit()
    return user, web


async def close(session: AsyncSession, cookie: str) -> None:
    await session.exec(delete(WebSession).where(col(WebSession.id_hash) == hash_token(cookie)))
    await session.commit()


async def close_all(session: AsyncSession, user_id: str) -> int:
    """Every session of a user (revoked, or locked by an admin): the number ended."""
    result = await session.exec(delete(WebSession).where(col(WebSession.user_id) == user_id))
    await session.commit()
    return result.rowcount
