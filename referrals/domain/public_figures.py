"""The public figures as of a cutoff, from each case's audit events before it: pure.

Every figure is what the audit trail held before the cutoff (the start of the month the snapshot is published
in): the cases filed before it, each with the facts it had then (incident month, stage, offences alleged, federal
agencies), and the referrals, charging decisions and outcomes recorded before it. Nothing recorded later moves a
figure, so every snapshot published within a month is the same.
"""

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from referrals.domain.enums import ChargingKind, ProsecutionOutcome, Stage
from referrals.domain.publication import RawTable
from referrals.domain.words import label, month_name, sentence

OTHER = "other"
_AGENCY_CORRECTION = re.compile(r"^federal_personnel\[(\d+)\]\.agency$")
# The audit events read, and what of each (referrals/store/public_snapshots.py reads only these facts).
KINDS = (
    "case_filed",
    "supplement_filed",
    "supervisor_identification_recorded",
    "violation_report_recorded",
    "stage_changed",
    "tasks_reopened",
    "case_closed",
    "referral_acknowledged",
    "charging_decided",
    "prosecution_outcome_recorded",
)


@dataclass(frozen=True)
class Event:
    kind: str
    at: datetime
    # occurred_at, agencies, corrected, agency, statutes, stage, decision, decided_at, outcome, decided_on
    facts: dict[str, Any]


@dataclass
class CaseAsOf:
    district: str
    occurred_at: datetime | None = None
    stage: str = Stage.INVESTIGATION.value
    agencies: list[str] = field(default_factory=list)  # of the federal personnel, in order (corrections by index)
    supervisor_agency: str | None = None
    statutes: list[str] = field(default_factory=list)


@dataclass
class Tally:
    cases: list[CaseAsOf] = field(default_factory=list)
    referrals: Counter[str] = field(default_factory=Counter)  # month
    charging: Counter[tuple[str, str | None]] = field(default_factory=Counter)  # (month, kind)
    outcomes: Counter[tuple[str, str | None]] = field(default_factory=Counter)  # (month, kind)


def cutoff(as_of: datetime, zone: ZoneInfo) -> datetime:
    """The start of as_of's calendar month in the department's time zone: nothing from then on is counted."""
    local = as_of.astimezone(zone)
    return datetime(local.year, local.month, 1, tzinfo=zone)


def period_end(as_of: datetime, zone: ZoneInfo) -> str:
    """The last month counted, 'YYYY-MM'."""
    return (cutoff(as_of, zone) - timedelta(days=1)).strftime("%Y-%m")


def _month(when: datetime | str, zone: ZoneInfo) -> str:
    if isinstance(when, str):
        when = datetime.fromisoformat(when)
    local = when.astimezone(zone)
    return f"{local.year:04d}-{local.month:02d}"  # strftime's "%Y-%m", at a third of its cost (once per case)


def fold(case: CaseAsOf, event: Event, tally: Tally, zone: ZoneInfo) -> None:
    """One audit event (in the case's order) applied to what the case held, and to the tally."""
    facts, kind = event.facts, event.kind
    if kind == "case_filed":
        case.occurred_at = datetime.fromisoformat(facts["occurred_at"]) if facts.get("occurred_at") else None
        case.agencies = [a for a in facts.get("agencies") or []]
    elif kind == "supplement_filed":
        case.agencies += [a for a in facts.get("agencies") or []]
        for change in facts.get("corrected") or []:
            if change.get("field") == "occurred_at" and change.get("new"):
                case.occurred_at = datetime.fromisoformat(change["new"])
            elif (m := _AGENCY_CORRECTION.match(change.get("field") or "")) and int(m[1]) < len(case.agencies):
                case.agencies[int(m[1])] = change.get("new") or ""
    elif kind == "supervisor_identification_recorded":
        case.supervisor_agency = facts.get("agency")
    elif kind == "violation_report_recorded":
        case.statutes = list(facts.get("statutes") or [])
    elif kind in ("stage_changed", "tasks_reopened"):
        case.stage = facts.get("stage") or case.stage
    elif kind == "case_closed":
        case.stage = Stage.CLOSED.value
    elif kind == "referral_acknowledged":
        tally.referrals[_month(event.at, zone)] += 1
    elif kind == "charging_decided":
        tally.charging[(_month(facts.get("decided_at") or event.at, zone), facts.get("decision"))] += 1
    elif kind == "prosecution_outcome_recorded":
        month = (facts.get("decided_on") or "")[:7] or _month(event.at, zone)
        tally.outcomes[(month, facts.get("outcome"))] += 1


def _months(first: str, last: str) -> list[str]:
    y, m = int(first[:4]), int(first[5:7])
    out = []
    while f"{y:04d}-{m:02d}" <= last:
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def _by_month(counts: Counter[str], last: str) -> tuple[list[tuple[str, str]], list[int]]:
    """Every month from the first with a count through `last`, zero included."""
    if not counts:
        return [], []
    months = _months(min(counts), max(last, max(counts)))
    return [(m, month_name(m)) for m in months], [counts.get(m, 0) for m in months]


def tables(
    tally: Tally,
    *,
    last_month: str,
    zone: ZoneInfo,
    districts: list[tuple[str, str]],
    statutes: list[tuple[str, str]],
    agencies: list[tuple[str, str]],
    district_word: str,
) -> list[RawTable]:
    """The one-way tables of the figures, true counts (referrals/domain/publication.py suppresses them)."""
    cases = tally.cases
    total = len(cases)
    word = sentence(district_word)
    out: list[RawTable] = []

    incident_months = Counter(_month(c.occurred_at, zone) for c in cases if c.occurred_at)
    categories, counts = _by_month(incident_months, last_month)
    out.append(
        RawTable(
            "cases_by_incident_month",
            "Cases by month of the incident",
            "cases filed before the period's end, by the calendar month the incident occurred in",
            "month",
            categories,
            counts,
            total,
            total_of="cases",
        )
    )

    known = {code for code, _ in districts}
    by_district = Counter(c.district if c.district in known else OTHER for c in cases)
    categories = [(code, f"{code} {name}") for code, name in districts]
    if by_district.get(OTHER) or not districts:
        categories.append((OTHER, f"{word} not listed in the policy"))
    out.append(
        RawTable(
            "cases_by_district",
            f"Cases by {district_word}",
            f"cases filed before the period's end, by the {district_word} they were filed in",
            district_word,
            categories,
            [by_district.get(c, 0) for c, _ in categories],
            total,
            total_of="cases",
        )
    )

    citations = {c for c, _ in statutes}
    # Each case once per offence (a set per case), counted in one pass.
    by_statute = Counter(s for case in cases for s in {s if s in citations else OTHER for s in case.statutes})
    categories = [(c, f"{c} ({title})") for c, title in statutes] + (
        [(OTHER, "an offence no longer in the catalogue")] if by_statute.get(OTHER) else []
    )
    out.append(
        RawTable(
            "cases_by_offence",
            "Cases by offence alleged",
            "cases by each offence (statute) their violation report alleges; a case alleging several "
            "counts in each, so the cells do not add up to the total (all cases)",
            "offence",
            categories,
            [by_statute.get(c, 0) for c, _ in categories],
            total,
            additive=False,
            total_of="cases",
        )
    )

    codes = {code.casefold(): code for code, _ in agencies}

    def agencies_of(case: CaseAsOf) -> set[str]:
        named = case.agencies + ([case.supervisor_agency] if case.supervisor_agency else [])
        return {codes.get((a or "").strip().casefold(), OTHER) for a in named if (a or "").strip()}

    by_agency = Counter(a for case in cases for a in agencies_of(case))
    categories = [(code, name) for code, name in agencies] + [(OTHER, "another agency, or one not named")]
    out.append(
        RawTable(
            "cases_by_federal_agency",
            "Cases by federal agency",
            "cases by each federal agency whose personnel the case names; a case naming several counts "
            "in each, so the cells do not add up to the total (all cases)",
            "agency",
            categories,
            [by_agency.get(c, 0) for c, _ in categories],
            total,
            additive=False,
            total_of="cases",
        )
    )

    by_stage = Counter(c.stage for c in cases)
    categories = [(s.value, label(s)) for s in Stage]
    out.append(
        RawTable(
            "cases_by_stage",
            "Cases by stage",
            "cases filed before the period's end, by the stage each was in at the period's end",
            "stage",
            categories,
            [by_stage.get(c, 0) for c, _ in categories],
            total,
            total_of="cases",
        )
    )

    categories, counts = _by_month(tally.referrals, last_month)
    out.append(
        RawTable(
            "referrals_by_month",
            "Referrals by month",
            "cases the prosecutor acknowledged receiving, by the month of the acknowledgement",
            "month",
            categories,
            counts,
            sum(counts),
            total_of="referrals",
        )
    )

    for name, kinds, counter, noun, when in (
        ("charging_decisions", ChargingKind, tally.charging, "charging decisions", "the month the decision was made"),
        ("outcomes", ProsecutionOutcome, tally.outcomes, "final outcomes", "the month of the court's decision"),
    ):
        months: Counter[str] = Counter()
        by_kind: Counter[str | None] = Counter()
        for (month, kind), n in counter.items():
            months[month] += n
            by_kind[kind] += n
        categories, counts = _by_month(months, last_month)
        grand = sum(counter.values())
        out.append(
            RawTable(
                f"{name}_by_month",
                f"{sentence(noun)} by month",
                f"{noun}, by {when}",
                "month",
                categories,
                counts,
                grand,
                total_of=name,
            )
        )
        categories = [(k.value, label(k)) for k in kinds]
        out.append(
            RawTable(
                f"{name}_by_kind",
                f"{sentence(noun)} by kind",
                f"{noun}, by kind (the same {noun} as by month: the month by kind is never published)",
                "kind",
                categories,
                [by_kind.get(c, 0) for c, _ in categories],
                grand,
                total_of=name,
            )
        )
    return out
