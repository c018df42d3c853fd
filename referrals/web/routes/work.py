"""My work: the open tasks the signed-in user's roles may act on, among the cases they can see."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, Request
from sqlalchemy import case, func, literal
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from referrals.api import trail
from referrals.api.deps import SessionDep, visibility
from referrals.domain import steps
from referrals.domain.enums import Role, Task, TaskStatus
from referrals.domain.permissions import allowed
from referrals.store import cases
from referrals.store.tables import AppUser, CaseTask, Incident
from referrals.web.auth import DeskDep
from referrals.web.pages import render

router = APIRouter(prefix="/desk", include_in_schema=False)
LIMIT = 50  # the most urgent, a page a person reads through; a longer queue says how many more wait


@dataclass
class WorkItem:
    case_id: str
    case_number: str
    district: str
    filed_at: datetime
    task: str
    due_at: datetime | None
    escalation_level: int

    def overdue(self, now: datetime) -> bool:
        return self.due_at is not None and self.due_at < now


def actionable_tasks(user: AppUser) -> list[str]:
    """The tasks this user's roles may act on (referrals/domain/permissions.py: operations are named as the tasks)."""
    roles = [Role(r) for r in user.roles]
    return [t.value for t in Task if allowed(t.value, roles)]  # a task is named as the step that completes it


@dataclass
class Queue:
    items: list[WorkItem]  # the most urgent, up to the limit
    total: int
    overdue: int


async def my_work(session: AsyncSession, user: AppUser, now: datetime, limit: int = LIMIT) -> Queue:
    """Overdue first, then soonest due (no due time last)."""
    tasks = actionable_tasks(user)
    if not tasks:
        return Queue([], 0, 0)
    query = (
        select(  # type: ignore[call-overload]  # sqlmodel types select() for up to four columns; it takes any number
            Incident.id,
            Incident.case_number,
            Incident.district,
            Incident.filed_at,
            CaseTask.task,
            CaseTask.due_at,
            CaseTask.escalation_level,
        )
        .join(CaseTask, CaseTask.case_id == Incident.id)
        .where(CaseTask.status == TaskStatus.OPEN.value, col(CaseTask.task).in_(tasks))
    )
    condition = visibility(user)
    if condition is not None:
        query = query.where(condition)
    overdue_first = case((col(CaseTask.due_at) < now, literal(0)), else_=literal(1))
    query = query.order_by(overdue_first, col(CaseTask.due_at).asc().nulls_last(), Incident.case_number, CaseTask.task)
    rows = [WorkItem(*row) for row in (await session.exec(query.limit(limit + 1))).all()]
    if len(rows) <= limit:
        return Queue(rows, len(rows), sum(1 for row in rows if row.overdue(now)))
    counted = query.order_by(None).subquery()
    total, overdue = (
        await session.exec(select(func.count(), func.count().filter(counted.c.due_at < now)).select_from(counted))
    ).one()
    return Queue(rows[:limit], total, overdue)


@dataclass
class RemovalWindow:
    case_id: str
    case_number: str
    due_at: datetime  # the end of the last day for a notice of removal

    def days_left(self, now: datetime) -> int:
        return max((self.due_at - now).days, 0)

    @property
    def last_moment(self) -> datetime:
        """A moment of the last day (its end is the next day's midnight)."""
        return self.due_at - timedelta(seconds=1)


async def removal_windows(session: AsyncSession, user: AppUser, now: datetime) -> list[RemovalWindow]:
    """The open removal windows of the cases this user can see, if they record removals: soonest first."""
    if not allowed(steps.REMOVAL_NOTICE.name, [Role(r) for r in user.roles]):
        return []
    query = select(Incident.id, Incident.case_number, cases.removal_due()).where(cases.removal_window_open(now))
    condition = visibility(user)
    if condition is not None:
        query = query.where(condition)
    rows = await session.exec(query.order_by(cases.removal_due(), Incident.case_number).limit(LIMIT))
    return [RemovalWindow(*row) for row in rows.all()]


@router.get("/")
async def work(request: Request, desk: DeskDep, session: SessionDep):
    as_of = datetime.now(UTC)  # one instant for the query and the page: a row is overdue in both or neither
    queue = await my_work(session, desk.user, as_of)
    page = render(
        request,
        "work.html",
        active="work",
        queue=queue,
        as_of=as_of,
        actionable=actionable_tasks(desk.user),
        windows=await removal_windows(session, desk.user, as_of),
    )
    await trail.allowed(request, desk.user)
    return page
