"""Aggregate counts over the cases a caller may see: no personal data, no ids, one GROUP BY per figure."""

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, literal, text
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from domain.enums import Disposition, Stage, Task, TaskStatus
from store.tables import Allegation, CaseTask, Incident

MONTHS = 12


@dataclass
class MonthCount:
    month: str  # "YYYY-MM", in the department's time zone
    count: int


@dataclass
class Figures:
    total_cases: int
    cases_by_stage: dict[str, int]
    closed_by_disposition: dict[str, int]
    overdue_by_task: dict[str, int]
    allegations_by_statute: dict[str, int]
    referrals_by_month: list[MonthCount] = field(default_factory=list)


def last_months(now: datetime, zone: ZoneInfo, months: int = MONTHS) -> list[str]:
    """The `months` calendar months ending with this one, oldest first, as 'YYYY-MM' in `zone`."""
    local = now.astimezone(zone)
    index = local.year * 12 + local.month - 1
    return [f"{i // 12:04d}-{i % 12 + 1:02d}" for i in range(index - months + 1, index + 1)]


def _where(query, visible_to):
    return query.where(visible_to) if visible_to is not None else query


async def figures(session: AsyncSession, *, visible_to, now: datetime, zone: ZoneInfo) -> Figures:
    """The counts over the cases `visible_to` (a SQL condition on Incident, None for every case) admits."""
    # Stage and disposition in one pass: the total and the closed cases' dispositions follow from it.
    by_stage: dict[str, int] = {s.value: 0 for s in Stage}
    by_disposition: dict[str, int] = {d.value: 0 for d in Disposition}
    rows = await session.exec(_where(
        select(Incident.stage, Incident.disposition, func.count()).group_by(Incident.stage, Incident.disposition),
        visible_to))
    for stage, disposition, count in rows:
        by_stage[stage] = by_stage.get(stage, 0) + count
        if stage == Stage.CLOSED and disposition:
            by_disposition[disposition] = by_disposition.get(disposition, 0) + count

    overdue: dict[str, int] = {t.value: 0 for t in Task}
    rows = await session.exec(_where(
        select(CaseTask.task, func.count())
        .join(Incident, Incident.id == CaseTask.case_id)
        .where(CaseTask.status == TaskStatus.OPEN.value, CaseTask.due_at < now)
        .group_by(CaseTask.task), visible_to))
    for task, count in rows:
        overdue[task] = count

    rows = await session.exec(_where(
        select(Allegation.statute, func.count())
        .join(Incident, Incident.id == Allegation.case_id)
        .group_by(Allegation.statute), visible_to))
    statutes = dict(sorted(((statute, count) for statute, count in rows), key=lambda item: (-item[1], item[0])))

    # Referred cases by the month they closed (the acknowledgement), in the department's own calendar.
    months = last_months(now, zone)
    first = datetime.strptime(months[0], "%Y-%m").replace(tzinfo=zone)
    # Grouped by the output column's name: the expression's bound parameters would differ in GROUP BY.
    month = func.to_char(func.timezone(literal(zone.key), Incident.closed_at), "YYYY-MM").label("closing_month")
    rows = await session.exec(_where(
        select(month, func.count())
        .where(Incident.disposition == Disposition.REFERRED.value, Incident.closed_at >= first)
        .group_by(text("closing_month")), visible_to))
    referred = dict(rows.all())

    return Figures(
        total_cases=sum(by_stage.values()),
        cases_by_stage=by_stage,
        closed_by_disposition=by_disposition,
        overdue_by_task=overdue,
        allegations_by_statute=statutes,
        referrals_by_month=[MonthCount(m, referred.get(m, 0)) for m in months],
    )
