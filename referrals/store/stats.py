"""Aggregate counts over the cases a caller may see: no personal data, no ids, one GROUP BY per figure."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, literal, text
from sqlalchemy.dialects.postgresql import TIMESTAMP
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from referrals.domain.enums import ChargingKind, Disposition, ProsecutionOutcome, Stage, Task, TaskStatus
from referrals.store import cases
from referrals.store.tables import Allegation, CaseTask, Decision, Incident

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
    charging_decisions_by_month: list[dict] = field(default_factory=list)  # {month, charged, declined, …}
    outcomes_by_month: list[dict] = field(default_factory=list)  # {month, convicted, acquitted, …}
    charging_decisions_by_statute: dict[str, dict[str, int]] = field(default_factory=dict)
    outcomes_by_statute: dict[str, dict[str, int]] = field(default_factory=dict)
    open_removal_windows: int = 0
    removal_windows_closing_within_7_days: int = 0


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
    rows = await session.exec(
        _where(
            select(Incident.stage, Incident.disposition, func.count()).group_by(
                Incident.stage, col(Incident.disposition)
            ),
            visible_to,
        )
    )
    for stage, disposition, count in rows:
        by_stage[stage] = by_stage.get(stage, 0) + count
        if stage == Stage.CLOSED and disposition:
            by_disposition[disposition] = by_disposition.get(disposition, 0) + count

    overdue: dict[str, int] = {t.value: 0 for t in Task}
    rows = await session.exec(
        _where(
            select(CaseTask.task, func.count())
            .join(Incident, col(Incident.id) == CaseTask.case_id)
            .where(CaseTask.status == TaskStatus.OPEN.value, col(CaseTask.due_at) < now)
            .group_by(CaseTask.task),
            visible_to,
        )
    )
    for task, count in rows:
        overdue[task] = count

    rows = await session.exec(
        _where(
            select(Allegation.statute, func.count())
            .join(Incident, col(Incident.id) == Allegation.case_id)
            .group_by(Allegation.statute),
            visible_to,
        )
    )
    statutes = dict(sorted(((statute, count) for statute, count in rows), key=lambda item: (-item[1], item[0])))

    # Referred cases by the month the prosecutor acknowledged them, in the department's own calendar.
    months = last_months(now, zone)
    first = datetime.strptime(months[0], "%Y-%m").replace(tzinfo=zone)
    # Grouped by the output column's name: the expression's bound parameters would differ in GROUP BY.
    month = func.to_char(func.timezone(literal(zone.key), CaseTask.completed_at), "YYYY-MM").label("ack_month")
    rows = await session.exec(
        _where(
            select(month, func.count())
            .join(Incident, col(Incident.id) == CaseTask.case_id)
            .where(
                CaseTask.task == Task.REFERRAL_ACKNOWLEDGEMENT.value,
                CaseTask.status == TaskStatus.DONE.value,
                col(CaseTask.completed_at) >= first,
            )
            .group_by(text("ack_month")),
            visible_to,
        )
    )
    referred = dict(rows.all())

    # After the referral: each charging decision by the month it was made (as recorded), each final outcome by
    # the month of its court date, and both by the statutes the case alleged.
    decided = func.to_char(
        func.timezone(literal(zone.key), func.cast(Decision.data["decided_at"].astext, TIMESTAMP(timezone=True))),
        "YYYY-MM",
    )
    settled = func.substr(Decision.data["decided_on"].astext, 1, 7)
    charging = await _by_month(session, visible_to, "charging_decision", decided, months, ChargingKind)
    outcomes = await _by_month(session, visible_to, "prosecution_outcome", settled, months, ProsecutionOutcome)
    charging_statutes = await _by_statute(session, visible_to, "charging_decision", ChargingKind)
    outcome_statutes = await _by_statute(session, visible_to, "prosecution_outcome", ProsecutionOutcome)

    # Removal windows open now (a notice may still be filed), and those whose last day is within a week.
    row = (
        await session.exec(
            _where(
                select(func.count(), func.count().filter(cases.removal_due() < now + timedelta(days=7))).where(
                    cases.removal_window_open(now)
                ),
                visible_to,
            )
        )
    ).one()

    return Figures(
        total_cases=sum(by_stage.values()),
        cases_by_stage=by_stage,
        closed_by_disposition=by_disposition,
        overdue_by_task=overdue,
        allegations_by_statute=statutes,
        referrals_by_month=[MonthCount(m, referred.get(m, 0)) for m in months],
        charging_decisions_by_month=charging,
        outcomes_by_month=outcomes,
        charging_decisions_by_statute=charging_statutes,
        outcomes_by_statute=outcome_statutes,
        open_removal_windows=row[0],
        removal_windows_closing_within_7_days=row[1],
    )


async def _by_month(session: AsyncSession, visible_to, task: str, month_of, months: list[str], kinds) -> list[dict]:
    """[{month, <each kind>: count}] for the last months, oldest first, zero included."""
    month = month_of.label("decision_month")
    rows = await session.exec(
        _where(
            select(month, Decision.decision, func.count())
            .join(Incident, col(Incident.id) == Decision.case_id)
            .where(Decision.task == task)
            .group_by(text("decision_month"), Decision.decision),
            visible_to,
        )
    )
    counts: dict[str, dict[str, int]] = {m: {k.value: 0 for k in kinds} for m in months}
    for m, kind, count in rows:
        if m in counts:
            counts[m][kind] = count
    return [{"month": m, **counts[m]} for m in months]


async def _by_statute(session: AsyncSession, visible_to, task: str, kinds) -> dict[str, dict[str, int]]:
    """{statute alleged: {kind: cases}}: the cases with a decision of each kind, by the statutes they allege."""
    rows = await session.exec(
        _where(
            select(Allegation.statute, Decision.decision, func.count(func.distinct(Decision.case_id)))
            .join(Incident, col(Incident.id) == Decision.case_id)
            .join(Allegation, col(Allegation.case_id) == Decision.case_id)
            .where(Decision.task == task)
            .group_by(Allegation.statute, Decision.decision),
            visible_to,
        )
    )
    found: dict[str, dict[str, int]] = {}
    for statute, kind, count in rows:
        found.setdefault(statute, {k.value: 0 for k in kinds})[kind] = count
    return dict(sorted(found.items()))
