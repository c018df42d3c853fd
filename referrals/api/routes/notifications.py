"""The caller's in-app inbox."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel

from referrals.api.deps import CurrentUser, SessionDep
from referrals.api.errors import ApiError, documented
from referrals.store import notifications

router = APIRouter(prefix="/notifications", tags=["notifications"], responses=documented(401, 422, 429, 503))
MAX_ID = 2**31 - 1  # notification ids are PostgreSQL integers


class NotificationOut(BaseModel):
    id: int
    kind: str
    case_id: str | None
    task: str | None
    level: int | None
    subject: str
    body: str
    link: str | None
    created_at: datetime
    read_at: datetime | None


class Inbox(BaseModel):
    items: list[NotificationOut]
    next_cursor: int | None


@router.get("", response_model=Inbox)
async def inbox(
    user: CurrentUser,
    session: SessionDep,
    unread: bool = False,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
):
    rows = await notifications.inbox(session, user.id, unread_only=unread, limit=limit + 1, before_id=cursor)
    page = rows[:limit]
    return Inbox(
        items=[NotificationOut.model_validate(r, from_attributes=True) for r in page],
        next_cursor=page[-1].id if len(rows) > limit else None,
    )


@router.post("/{notification_id}/read", response_model=NotificationOut, responses=documented(404))
async def mark_read(notification_id: Annotated[int, Path(ge=1, le=MAX_ID)], user: CurrentUser, session: SessionDep):
    row = await notifications.mark_read(session, user.id, notification_id)
    if row is None:  # someone else's message answers like one that does not exist
        raise ApiError(404, f"no notification {notification_id}")
    await session.commit()
    return NotificationOut.model_validate(row, from_attributes=True)
