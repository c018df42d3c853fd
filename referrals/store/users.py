"""Users and their bearer tokens: random, shown once, stored only as a SHA-256 hash. A token names its account
(`ref_<user id>_<secret>`), so that the access trail can say which account a failed attempt tried; the failure
counts against the caller's address, never against that account."""

import hashlib
import secrets
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, func, literal, or_
from sqlalchemy import select as sql_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from referrals.domain.messages import NewUser
from referrals.store.auth_limits import CLIENT
from referrals.store.tables import AppUser, AuthFailure

PREFIX = "ref_"


class EmailTaken(Exception):
    pass


def hash_token(token: str) -> str:
    # Tokens carry 256 random bits, so a plain SHA-256 is enough to make a leaked table useless.
    return hashlib.sha256(token.encode()).hexdigest()


async def create_user(session: AsyncSession, new: NewUser) -> tuple[AppUser, str]:
    """The new user and its token, which is not stored and cannot be shown again."""
    user_id = str(uuid.uuid4())
    token = new_token(user_id)
    now = datetime.now(UTC)
    user = AppUser(
        id=user_id,
        name=new.name,
        email=new.email,
        roles=sorted({r.value for r in new.roles}),
        district=new.district,
        star=new.star,
        token_hash=hash_token(token),
        created_at=now,
        token_expires_at=now + timedelta(days=new.token_valid_days) if new.token_valid_days else None,
    )
    session.add(user)
    try:
        await session.commit()
    except IntegrityError as exc:
        await session.rollback()
        raise EmailTaken(new.email) from exc
    return user, token


def new_token(user_id: str) -> str:
    return f"{PREFIX}{user_id}_{secrets.token_urlsafe(32)}"


def account_named(token: str) -> str | None:
    """The user id a token names, if it has the shape; whether the secret is right is another matter."""
    if not token.startswith(PREFIX) or len(token) < len(PREFIX) + 37 or token[len(PREFIX) + 36] != "_":
        return None
    try:
        return str(uuid.UUID(token[len(PREFIX) : len(PREFIX) + 36]))
    except ValueError:
        return None


def _usable(now: datetime):
    return and_(
        col(AppUser.active).is_(True),
        or_(col(AppUser.token_expires_at).is_(None), col(AppUser.token_expires_at) > now),
    )


async def authenticate(session: AsyncSession, token: str, client: str, window: timedelta) -> tuple[AppUser | None, int]:
    """The active user whose unexpired token this is, and the client's recent failures, in one round trip (every
    request asks both)."""
    now = datetime.now(UTC)
    failures = (
        sql_select(func.count())
        .select_from(AuthFailure)
        .where(col(AuthFailure.kind) == CLIENT, col(AuthFailure.key) == client, col(AuthFailure.at) > now - window)
        .scalar_subquery()
    )
    one = sql_select(literal(1).label("one")).subquery()
    statement = (
        select(failures, AppUser)
        .select_from(one)
        .outerjoin(AppUser, and_(col(AppUser.token_hash) == hash_token(token), _usable(now)))
    )
    row = (await session.exec(statement)).one()
    return row[1], row[0]


async def find(session: AsyncSession, user_id: str) -> AppUser | None:
    return await session.get(AppUser, user_id)


class AccountTaken(Exception):
    """The provider's account carries an e-mail another user of ours already has."""


async def from_identity(session: AsyncSession, identity) -> tuple[AppUser, dict]:
    """The user a provider's sign-in (or access token) names, created or brought up to date from its claims; and
    what changed (for the trail). A first sign-in takes over a user created by an admin with the same e-mail only
    if the provider has verified that e-mail."""
    user = (await session.exec(select(AppUser).where(AppUser.subject == identity.subject))).first()
    linked = False
    if user is None and identity.email:
        same = (await session.exec(select(AppUser).where(AppUser.email == identity.email))).first()
        if same is not None:
            if same.subject is not None or not identity.email_verified:
                raise AccountTaken(identity.email)
            user, linked = same, True
            # The token an admin gave out, and the desk sessions opened with it, end: from now on the provider decides.
            user.token_hash = hash_token(new_token(user.id))
    roles = sorted(role.value for role in identity.roles)
    wanted = dict(
        name=identity.name, roles=roles, district=identity.district, star=identity.star, subject=identity.subject
    )
    if identity.email:
        wanted["email"] = identity.email
    if user is None:
        user_id = str(uuid.uuid4())
        user = AppUser(
            id=user_id,
            token_hash=hash_token(new_token(user_id)),
            created_at=datetime.now(UTC),
            **{"email": f"{user_id}@provider.invalid", **wanted},
        )
        changed = {"created": True, "roles": roles}
    else:
        changed = {name: value for name, value in wanted.items() if getattr(user, name) != value}
        for name, value in changed.items():
            setattr(user, name, value)
        changed.pop("subject", None)
        if linked:
            changed["linked_by_email"] = True
    if changed:
        session.add(user)
        try:
            await session.commit()
        except IntegrityError as exc:
            await session.rollback()
            # The same person's first two requests at once: the other one created the user.
            again = (await session.exec(select(AppUser).where(AppUser.subject == identity.subject))).first()
            if again is None:
                raise AccountTaken(identity.email or "") from exc
            return again, {}
    return user, changed


async def find_by_email_or_id(session: AsyncSession, email_or_id: str) -> AppUser | None:
    return (
        await session.exec(
            select(AppUser).where(or_(col(AppUser.email) == email_or_id.lower(), col(AppUser.id) == email_or_id))
        )
    ).first()


async def revoke(session: AsyncSession, email_or_id: str) -> AppUser | None:
    user = await find_by_email_or_id(session, email_or_id)
    if user is not None:
        user.active = False
        await session.commit()
    return user


def change_summary(changed: dict, source: str) -> dict:
    """What a sign-in changed in a user record, for the trail: which fields, and the roles; no names or e-mails."""
    return {
        "source": source,
        "created": bool(changed.get("created")),
        "fields": sorted(name for name in changed if name != "created"),
        "roles": changed.get("roles"),
    }
