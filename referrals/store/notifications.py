"""Recipients, the in-app inbox, and what each channel has already delivered."""

from datetime import UTC, datetime

from sqlalchemy import and_, or_
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from referrals.domain.enums import Role
from referrals.store.tables import AppUser, Notification, WebhookDelivery


async def recipients(session: AsyncSession, roles: list[Role], district: str, filed_by_id: str) -> list[AppUser]:
    """Users holding the roles: supervisors of the case's district only; for `officer`, the filer."""
    conditions = []
    for role in roles:
        if role == Role.SUPERVISOR:
            conditions.append(and_(col(AppUser.roles).contains([role.value]), col(AppUser.district) == district))
        elif role == Role.OFFICER:
            conditions.append(col(AppUser.id) == filed_by_id)
        else:
            conditions.append(col(AppUser.roles).contains([role.value]))
    if not conditions:
        return []
    query = select(AppUser).where(col(AppUser.active).is_(True), or_(*conditions)).order_by(AppUser.id)
    return list((await session.exec(query)).all())


async def add(session: AsyncSession, rows: list[dict]) -> int:
    """Insert inbox entries; an entry whose idempotency key exists already is left as it is. Returns how
    many were new."""
    if not rows:
        return 0
    statement = (
        insert(Notification)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(col(Notification.id))
    )
    return len((await session.exec(statement)).all())


async def unsent_email(session: AsyncSession, key_prefix: str) -> list[tuple[Notification, AppUser]]:
    query = (
        select(Notification, AppUser)
        .join(AppUser, col(AppUser.id) == Notification.recipient_id)
        .where(col(Notification.idempotency_key).startswith(key_prefix), col(Notification.email_sent_at).is_(None))
        .order_by(col(Notification.id))
    )
    return list((await session.exec(query)).all())


async def mark_emailed(session: AsyncSession, notification_id: int) -> None:
    row = await session.get(Notification, notification_id)
    assert row is not None  # unsent_email listed it just now, and no notification is ever deleted
    row.email_sent_at = datetime.now(UTC)


async def webhook_sent(session: AsyncSession, key: str) -> bool:
    return await session.get(WebhookDelivery, key) is not None


async def mark_webhook_sent(session: AsyncSession, key: str) -> None:
    session.add(WebhookDelivery(idempotency_key=key, sent_at=datetime.now(UTC)))


async def inbox(session: AsyncSession, user_id: str, *, unread_only: bool, limit: int, before_id: int | None):
    query = select(Notification).where(Notification.recipient_id == user_id)
    if unread_only:
        query = query.where(col(Notification.read_at).is_(None))
    if before_id is not None:
        query = query.where(col(Notification.id) < before_id)
    return list((await session.exec(query.order_by(col(Notification.id).desc()).limit(limit))).all())


async def mark_read(session: AsyncSession, user_id: str, notification_id: int) -> Notification | None:
    row = await session.get(Notification, notification_id)
    if row is None or row.recipient_id != user_id:
        return None
    if row.read_at is None:
        row.read_at = datetime.now(UTC)
    return row


async def active_users(session: AsyncSession) -> list[AppUser]:
    return list((await session.exec(select(AppUser).where(col(AppUser.active).is_(True)).order_by(AppUser.id))).all())
