"""Users and their bearer tokens: random, shown once, stored only as a SHA-256 hash."""

import hashlib
import secrets
import uuid
from datetime import UTC, datetime

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
    user = AppUser(
        id=str(uuid.uuid4()), name=new.name, email=new.email, roles=sorted({r.value for r in new.roles}),
        district=new.district, star=new.star, token_hash=hash_token(token), created_at=datetime.now(UTC),
    )
    session.add(user)
    try:
        await session.commit()
    except IntegrityError as exc:
        await session.rollback()
        raise EmailTaken(new.email) from exc
    return user, token


async def user_for_token(session: AsyncSession, token: str) -> AppUser | None:
    found = await session.exec(
        select(AppUser).where(AppUser.token_hash == hash_token(token), AppUser.active.is_(True))
    )
    return found.first()
