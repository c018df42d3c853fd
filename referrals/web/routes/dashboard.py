"""The dashboard: GET /stats's figures for the signed-in user, with the referrals drawn as a bar chart on the
server (SVG presentation attributes only: the desk's CSP allows no script and no inline style)."""

from dataclasses import dataclass
from datetime import UTC, datetime

from fastapi import APIRouter, Request

from referrals.api import trail
from referrals.api.deps import SessionDep, visibility
from referrals.domain.enums import ChargingKind, ProsecutionOutcome
from referrals.store import stats
from referrals.web.auth import DeskDep
from referrals.web.pages import options, render

router = APIRouter(prefix="/desk", include_in_schema=False)


@dataclass
class Bar:
    month: str  # YYYY-MM
    name: str  # "March 2026"
    short: str  # "Mar"
    year: str | None  # under the first bar and each January
    count: int
    x: float
    y: float
    width: float
    height: float
    centre: float


@dataclass
class Chart:
    width: int
    height: int
    top: float  # the plot area's top and bottom (the baseline) in SVG units
    baseline: float
    left: float
    right: float
    peak: int  # the value of the plot area's full height
    bars: list[Bar]


def bar_chart(months: list[stats.MonthCount], width: int = 640, height: int = 260) -> Chart:
    left, right, top, bottom = 16.0, width - 16.0, 28.0, height - 44.0
    peak = max((m.count for m in months), default=0) or 1
    slot = (right - left) / max(len(months), 1)
    bars = []
    for i, m in enumerate(months):
        when = datetime.strptime(m.month, "%Y-%m")
        h = (bottom - top) * m.count / peak
        x = left + i * slot + slot * 0.15
        bars.append(
            Bar(
                month=m.month,
                name=when.strftime("%B %Y"),
                short=when.strftime("%b"),
                year=str(when.year) if i == 0 or when.month == 1 else None,
                count=m.count,
                x=round(x, 1),
                y=round(bottom - h, 1),
                width=round(slot * 0.7, 1),
                height=round(h, 1),
                centre=round(left + (i + 0.5) * slot, 1),
            )
        )
    return Chart(width=width, height=height, top=top, baseline=bottom, left=left, right=right, peak=peak, bars=bars)


@router.get("/dashboard")
async def dashboard(request: Request, desk: DeskDep, session: SessionDep):
    as_of = datetime.now(UTC)
    policy = request.app.state.policy
    figures = await stats.figures(session, visible_to=visibility(desk.user), now=as_of, zone=policy.zone)
    titles = {s.citation: s.title for s in policy.statutes}
    page = render(
        request,
        "dashboard.html",
        active="dashboard",
        figures=figures,
        as_of=as_of,
        chart=bar_chart(figures.referrals_by_month),
        statute_titles=titles,
        charging_kinds=options(ChargingKind),
        outcome_kinds=options(ProsecutionOutcome),
    )
    await trail.allowed(request, desk.user)
    return page
