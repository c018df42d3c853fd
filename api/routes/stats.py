"""Aggregate counts over the cases the caller may see: no personal data, no ids."""

from dataclasses import asdict
from datetime import UTC, datetime

from fastapi import APIRouter
from pydantic import BaseModel, Field

from api.deps import CurrentUser, PolicyDep, SessionDep, visibility
from api.errors import documented
from store import stats

router = APIRouter(tags=["stats"], responses=documented(401, 429, 503))


class MonthCount(BaseModel):
    month: str = Field(description="calendar month in the department's time zone, YYYY-MM",
                       pattern=r"^\d{4}-\d{2}$")
    count: int


class StatsOut(BaseModel):
    """Counts over the cases the caller may see."""

    as_of: datetime
    total_cases: int
    cases_by_stage: dict[str, int] = Field(description="every stage, zero included")
    closed_by_disposition: dict[str, int] = Field(description="closed cases by disposition, zero included")
    overdue_by_task: dict[str, int] = Field(description="open tasks past their due time, by task, zero included")
    allegations_by_statute: dict[str, int] = Field(description="allegations by statute, most frequent first")
    referrals_by_month: list[MonthCount] = Field(
        description="cases closed as referred, by month of closing: the last 12 months, oldest first")


@router.get("/stats", response_model=StatsOut)
async def get_stats(user: CurrentUser, session: SessionDep, policy: PolicyDep):
    """Counts over the cases the caller may see (officers: theirs; supervisors: their district; others: all).
    Counts only: no names, no case numbers, no ids."""
    now = datetime.now(UTC)
    figures = await stats.figures(session, visible_to=visibility(user), now=now, zone=policy.zone)
    return StatsOut(as_of=now, **asdict(figures))
