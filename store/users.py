"""Users and their bearer tokens: random, shown once, stored only as a SHA-256 hash."""

import hashlib
import secrets
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import or_
from sqlmodel import select
from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from domain.messages import NewUser
from store.tables import AppUser


class EmailTaken(Exception):
    pass


def hash_token(token: str) -> str:
    # Tokens carry 256 random bits, so a plain SHA-256 is enough to make a leaked table useless.
    return hashlib.sha256(token.encode()).hexdigest()


async def create_user(session: AsyncSession, new: NewUser) -> tuple[AppUser, str]:
    """The new user and its token, which is not stored and cannot be shown again."""
    token = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    user = AppUser(
        id=str(uuid.uuid4()), name=new.name, email=new.email, roles=sorted({r.value for r in new.roles}),
        district=new.district, star=new.star, token_hash=hash_token(token), created_at=now,
        token_expires_at=now + timedelta(days=new.token_valid_days) if new.token_valid_days else None,
    )
    session.add(user)
    try:
        await session.commit()
    except IntegrityError as exc:
        await session.rollback()
        raise EmailTaken(new.email) from exc
    return user, token


async def user_for_token(session: AsyncSession, token: str) -> AppUser | None:
    """The active user whose unexpired token this is."""
    found = await session.exec(
        select(AppUser).where(
            AppUser.token_hash == hash_token(token),
            AppUser.active.is_(True),
            or_(AppUser.token_expires_at.is_(None), AppUser.token_expires_at > datetime.now(UTC)),
        )
    )
    return found.first()


async def revoke(session: AsyncSession, email_or_id: str) -> AppUser | None:
    user = (await session.exec(
        select(AppUser).where(or_(AppUser.email == email_or_id.lower(), AppUser.id == email_or_id))
    )).first()
    if user is not None:
        user.active = False
        await session.commit()
    return user
