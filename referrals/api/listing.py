"""Listing and searching cases: the one code path behind GET /incidents and the desk's Cases page."""

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated

from pydantic import AfterValidator, StringConstraints, WithJsonSchema
from sqlmodel.ext.asyncio.session import AsyncSession

from referrals.api.deps import visibility
from referrals.api.errors import ApiError
from referrals.domain.enums import Role, Stage, Task
from referrals.domain.permissions import Operation, allowed
from referrals.domain.policy import Policy
from referrals.store import cases
from referrals.store.tables import AppUser, Incident

# Every cursor this pattern allows is a position in the listing (referrals/store/cases.py): the next page after a
# case (t<microseconds>.<case id>) or after so many ranked matches (r<count>).
CURSOR = r"^(t\d{1,16}\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|r\d{1,9})$"
Cursor = Annotated[str, StringConstraints(pattern=CURSOR)]


FULL_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _day(value: str) -> date:
    try:
        if FULL_DATE.fullmatch(value):
            return date.fromisoformat(value)
    except ValueError:
        pass
    raise ValueError("is not a day of the calendar, as YYYY-MM-DD")


# A day as RFC 3339's full-date (YYYY-MM-DD, a day of the calendar), nothing else: not a number of seconds, as a
# plain `date` would also take, nor the other ISO-8601 forms Python reads. Declared `format: date` (issue 33: what the
# schema allows is accepted, what it refuses is refused); the year 0000, which RFC 3339 writes and no calendar
# date has, is refused too.
Day = Annotated[str, WithJsonSchema({"type": "string", "format": "date"}), AfterValidator(_day)]


@dataclass(frozen=True)
class CaseQuery:
    stage: Stage | None = None
    task: Task | None = None
    district: str | None = None
    overdue: bool = False
    q: str | None = None  # words: best match first, among the newest matches (store/cases.py, RANKED_AT_MOST)
    occurred_from: date | None = None  # days in the department's time zone, both included
    occurred_to: date | None = None
    limit: int = 50
    cursor: str | None = None


async def find_cases(
    session: AsyncSession, user: AppUser, policy: Policy, query: CaseQuery
) -> tuple[list[Incident], str | None]:
    """A page of the cases `user` may see, and the cursor of the next page (None: the last). Refuses (422,
    naming the parameter) a range that ends before it starts and a cursor this API does not issue."""
    q = query.q.strip() if query.q else None
    if q and "\x00" in q:
        raise ApiError(422, "q: must not contain NUL characters", [{"field": "q", "message": "NUL character"}])
    if query.occurred_from and query.occurred_to and query.occurred_from > query.occurred_to:
        raise ApiError(
            422,
            "occurred_to: must not be before occurred_from",
            [{"field": "occurred_to", "message": "before occurred_from"}],
        )
    try:
        after = cases.decode_cursor(query.cursor) if query.cursor else None
    except (ValueError, OverflowError):
        raise ApiError(
            422, "cursor: not a cursor this API returns", [{"field": "cursor", "message": "invalid"}]
        ) from None
    zone = policy.zone
    rows = await cases.list_incidents(
        session,
        visible_to=visibility(user),
        stage=query.stage,
        task=query.task,
        district=query.district,
        overdue_at=datetime.now(UTC) if query.overdue else None,
        limit=query.limit + 1,
        cursor=after,
        q=q,
        # Looking a civilian up by name across cases is for those who may contact them (referrals/domain/permissions.py).
        names=allowed(Operation.READ_CONTACT, [Role(r) for r in user.roles]),
        occurred_from=datetime.combine(query.occurred_from, time(), zone) if query.occurred_from else None,
        occurred_before=(
            datetime.combine(query.occurred_to + timedelta(days=1), time(), zone) if query.occurred_to else None
        ),
    )
    page = rows[: query.limit]
    next_cursor = None
    if len(rows) > query.limit:
        seen = after if isinstance(after, int) else 0
        next_cursor = cases.encode_offset(seen + query.limit) if q else cases.encode_cursor(page[-1])
    return page, next_cursor
