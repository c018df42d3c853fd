"""Aggregate counts over the cases the caller may see: no personal data, no ids."""

from dataclasses import asdict
from datetime import UTC, datetime

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from referrals.api import trail
from referrals.api.deps import CurrentUser, PolicyDep, SessionDep, visibility
from referrals.api.errors import documented
from referrals.store import stats

router = APIRouter(tags=["stats"], responses=documented(401, 429, 503))


class MonthCount(BaseModel):
    month: str = Field(description="calendar month in the department's time zone, YYYY-MM", pattern=r"^\d{4}-\d{2}$")
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
        description="cases referred, by the month the prosecutor acknowledged them: the last 12 months, oldest first"
    )
    charging_decisions_by_month: list[dict[str, str | int]] = Field(
        description="charging decisions (charged, declined, grand_jury, further_investigation) by the month they "
        "were made: the last 12 months, oldest first, zero included"
    )
    outcomes_by_month: list[dict[str, str | int]] = Field(
        description="final outcomes (convicted, acquitted, dismissed, plea, nolle) by the month of the court's "
        "decision: the last 12 months, oldest first, zero included"
    )
    charging_decisions_by_statute: dict[str, dict[str, int]] = Field(
        description="cases with a charging decision of each kind, by each statute the case alleges"
    )
    outcomes_by_statute: dict[str, dict[str, int]] = Field(
        description="cases with each final outcome, by each statute the case alleges"
    )
    open_removal_windows: int = Field(
        description="charged cases whose 30 days for a notice of removal to federal court have not yet run out"
    )
    removal_windows_closing_within_7_days: int = Field(description="of those, the ones whose last day is within a week")


@router.get("/stats", response_model=StatsOut)
async def get_stats(request: Request, user: CurrentUser, session: SessionDep, policy: PolicyDep):
    """Counts over the cases the caller may see (officers: theirs; supervisors: their district; others: all).
    Counts only: no names, no case numbers, no ids."""
    now = datetime.now(UTC)
    figures = await stats.figures(session, visible_to=visibility(user), now=now, zone=policy.zone)
    await trail.allowed(request, user)
    return StatsOut(as_of=now, **asdict(figures))
