"""What the API's /metrics reads at each scrape: cases by stage, open escalated tasks by task and level."""

from dataclasses import dataclass

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from referrals.domain.enums import TaskStatus
from referrals.store.tables import CaseTask, Incident


@dataclass(frozen=True)
class CaseCounts:
    stages: dict[str, int]
    escalations: dict[tuple[str, int], int]  # (task, level) -> open tasks


async def case_counts(session: AsyncSession) -> CaseCounts:
    stages = await session.exec(select(Incident.stage, func.count()).group_by(Incident.stage))
    escalated = await session.exec(
        select(CaseTask.task, CaseTask.escalation_level, func.count())
        .where(CaseTask.status == TaskStatus.OPEN.value, CaseTask.escalation_level > 0)
        .group_by(CaseTask.task, col(CaseTask.escalation_level))
    )
    return CaseCounts(stages=dict(stages.all()), escalations={(task, level): n for task, level, n in escalated.all()})
