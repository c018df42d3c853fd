"""The public figures: what a snapshot counts (the audit events before the start of the month, in the department's
time zone, each case as it then stood), the tables made of them, and what their suppression keeps that
tests/test_publication_suppression.py does not already show (its random tables prove no cell can be recovered)."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from referrals.domain.public_figures import CaseAsOf, Event, Tally, cutoff, fold, period_end, tables
from referrals.domain.publication import Figures, RawTable, Table, audit, suppress, suppress_cells
from tests.support.builders import BATTERY, CHICAGO

CHICAGO_TIME = ZoneInfo("America/Chicago")
DISTRICTS = [("010", "Ogden"), ("012", "Near West")]
STATUTES = [(BATTERY, "Battery"), ("720 ILCS 5/12-1", "Assault")]
AGENCIES = [("ICE", "U.S. Immigration and Customs Enforcement"), ("CBP", "U.S. Customs and Border Protection")]


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


# --- the cutoff: the start of the month, in the department's time zone ----------------------------------------


@pytest.mark.parametrize(
    ("as_of", "starts", "last_month"),
    [
        (utc(2026, 3, 15, 12), datetime(2026, 3, 1, tzinfo=CHICAGO_TIME), "2026-02"),
        (utc(2026, 3, 1, 5, 59), datetime(2026, 2, 1, tzinfo=CHICAGO_TIME), "2026-01"),  # still 28 February there
        (utc(2026, 3, 1, 6, 0), datetime(2026, 3, 1, tzinfo=CHICAGO_TIME), "2026-02"),  # midnight, CST
        (utc(2026, 4, 1, 5, 0), datetime(2026, 4, 1, tzinfo=CHICAGO_TIME), "2026-03"),  # midnight, CDT
        (utc(2026, 1, 1, 12), datetime(2026, 1, 1, tzinfo=CHICAGO_TIME), "2025-12"),
    ],
)
def test_a_snapshot_counts_up_to_the_start_of_its_month_where_the_department_is(as_of, starts, last_month):
    assert cutoff(as_of, CHICAGO_TIME) == starts
    assert period_end(as_of, CHICAGO_TIME) == last_month


# --- what each case held before the cutoff --------------------------------------------------------------------


def case_from(district: str, *events: tuple) -> tuple[CaseAsOf, Tally]:
    case, tally = CaseAsOf(district=district), Tally()
    for kind, at, facts in events:
        fold(case, Event(kind, at, facts), tally, CHICAGO_TIME)
    tally.cases.append(case)
    return case, tally


def test_a_case_holds_its_filed_facts_and_what_later_events_changed():
    case, _ = case_from(
        "010",
        ("case_filed", utc(2026, 1, 5), {"occurred_at": "2026-01-04T20:00:00-06:00", "agencies": ["ICE"]}),
        ("supervisor_identification_recorded", utc(2026, 1, 6), {"agency": "CBP"}),
        ("violation_report_recorded", utc(2026, 1, 7), {"statutes": [BATTERY]}),
        ("stage_changed", utc(2026, 1, 8), {"stage": "legal_review"}),
        ("tasks_reopened", utc(2026, 1, 9), {"stage": "investigation"}),
    )
    assert (case.occurred_at, case.agencies, case.supervisor_agency, case.statutes, case.stage) == (
        datetime.fromisoformat("2026-01-04T20:00:00-06:00"),
        ["ICE"],
        "CBP",
        [BATTERY],
        "investigation",
    )
    fold(case, Event("case_closed", utc(2026, 1, 10), {}), Tally(), CHICAGO_TIME)
    assert case.stage == "closed"


def test_a_supplement_adds_agencies_and_its_corrections_replace_what_they_correct():
    case, _ = case_from(
        "010",
        ("case_filed", utc(2026, 1, 5), {"occurred_at": "2026-01-04T20:00:00Z", "agencies": ["ICE", "DEA"]}),
        (
            "supplement_filed",
            utc(2026, 1, 6),
            {
                "agencies": ["CBP"],
                "corrected": [
                    {"field": "occurred_at", "old": "2026-01-04T20:00:00Z", "new": "2025-12-31T23:00:00Z"},
                    {"field": "federal_personnel[1].agency", "old": "DEA", "new": "FBI"},
                    {"field": "federal_personnel[9].agency", "old": "x", "new": "ATF"},  # no such person: ignored
                ],
            },
        ),
    )
    assert case.agencies == ["ICE", "FBI", "CBP"]
    assert case.occurred_at == utc(2025, 12, 31, 23)


def test_referrals_decisions_and_outcomes_count_in_the_month_they_belong_to():
    _, tally = case_from(
        "010",
        ("referral_acknowledged", utc(2026, 2, 1, 3), {}),  # still 31 January in Chicago
        ("charging_decided", utc(2026, 3, 2), {"decision": "charged", "decided_at": "2026-02-27T10:00:00-06:00"}),
        ("charging_decided", utc(2026, 3, 3), {"decision": "grand_jury", "decided_at": None}),  # when recorded
        ("prosecution_outcome_recorded", utc(2026, 5, 1), {"outcome": "plea", "decided_on": "2026-04-30"}),
    )
    assert dict(tally.referrals) == {"2026-01": 1}
    assert dict(tally.charging) == {("2026-02", "charged"): 1, ("2026-03", "grand_jury"): 1}
    assert dict(tally.outcomes) == {("2026-04", "plea"): 1}


# --- the tables -----------------------------------------------------------------------------------------------


def figures_of(*cases: tuple[str, list[tuple]], last_month: str = "2026-03") -> dict:
    tally = Tally()
    for district, events in cases:
        case = CaseAsOf(district=district)
        for kind, at, facts in events:
            fold(case, Event(kind, at, facts), tally, CHICAGO_TIME)
        tally.cases.append(case)
    raw = tables(
        tally,
        last_month=last_month,
        zone=CHICAGO_TIME,
        districts=DISTRICTS,
        statutes=STATUTES,
        agencies=AGENCIES,
        district_word="district",
    )
    return {t.name: t for t in raw}


def filed_in(district: str, occurred: str, agencies=(), statutes=(), supervisor=None) -> tuple[str, list]:
    events = [("case_filed", utc(2026, 1, 1), {"occurred_at": occurred, "agencies": list(agencies)})]
    if statutes:
        events.append(("violation_report_recorded", utc(2026, 1, 2), {"statutes": list(statutes)}))
    if supervisor:
        events.append(("supervisor_identification_recorded", utc(2026, 1, 2), {"agency": supervisor}))
    return district, events


def test_cases_by_month_run_from_the_first_through_the_last_month_counted_zeros_included():
    found = figures_of(
        filed_in("010", "2025-12-01T03:00:00Z"),  # 30 November in Chicago
        filed_in("010", "2026-02-10T12:00:00Z"),
    )["cases_by_incident_month"]
    assert [c for c, _ in found.categories] == ["2025-11", "2025-12", "2026-01", "2026-02", "2026-03"]
    assert [label for _, label in found.categories][0] == "November 2025"
    assert (found.counts, found.total, found.additive) == ([1, 0, 0, 1, 0], 2, True)


def test_a_district_the_policy_no_longer_lists_is_counted_as_other():
    found = figures_of(filed_in("010", "2026-01-01T12:00:00Z"), filed_in("013", "2026-01-01T12:00:00Z"))
    by_district = found["cases_by_district"]
    assert by_district.categories == [
        ("010", "010 Ogden"),
        ("012", "012 Near West"),
        ("other", "District not listed in the policy"),
    ]
    assert by_district.counts == [1, 0, 1]
    only_listed = figures_of(filed_in("010", "2026-01-01T12:00:00Z"))["cases_by_district"]
    assert [c for c, _ in only_listed.categories] == ["010", "012"]


def test_offences_count_each_case_once_per_statute_and_need_not_add_up():
    found = figures_of(
        filed_in("010", "2026-01-01T12:00:00Z", statutes=[BATTERY, "720 ILCS 5/12-1"]),
        filed_in("010", "2026-01-01T12:00:00Z", statutes=[BATTERY, "an old statute"]),
    )["cases_by_offence"]
    assert [c for c, _ in found.categories] == [BATTERY, "720 ILCS 5/12-1", "other"]
    assert (found.counts, found.total, found.additive) == ([2, 1, 1], 2, False)


def test_agencies_are_matched_however_they_were_typed_and_counted_once_a_case():
    found = figures_of(
        filed_in("010", "2026-01-01T12:00:00Z", agencies=["ICE", " ice ", "", "Border Patrol"], supervisor="cbp"),
        filed_in("010", "2026-01-01T12:00:00Z", agencies=["ICE"]),
        filed_in("010", "2026-01-01T12:00:00Z"),
    )["cases_by_federal_agency"]
    assert [c for c, _ in found.categories] == ["ICE", "CBP", "other"]
    assert (found.counts, found.total) == ([2, 1, 1], 3)


def test_every_stage_is_a_category():
    found = figures_of(filed_in("010", "2026-01-01T12:00:00Z"))["cases_by_stage"]
    assert [c for c, _ in found.categories] == [
        "investigation",
        "legal_review",
        "command_approval",
        "referral",
        "prosecution",
        "closed",
    ]
    assert found.counts == [1, 0, 0, 0, 0, 0]


def test_decisions_and_outcomes_are_counted_by_month_and_by_kind_with_one_total():
    events = [
        ("charging_decided", utc(2026, 2, 2), {"decision": "charged", "decided_at": "2026-02-02T10:00:00Z"}),
        ("charging_decided", utc(2026, 3, 2), {"decision": "declined", "decided_at": "2026-03-02T10:00:00Z"}),
    ]
    found = figures_of(("010", events))
    by_month, by_kind = found["charging_decisions_by_month"], found["charging_decisions_by_kind"]
    assert (by_month.counts, by_month.total) == ([1, 1], 2)
    assert [c for c, _ in by_kind.categories] == ["charged", "declined", "grand_jury", "further_investigation"]
    assert (by_kind.counts, by_kind.total) == ([1, 1, 0, 0], 2)
    assert by_month.total_of == by_kind.total_of == "charging_decisions"
    assert found["outcomes_by_month"].categories == [] and found["outcomes_by_kind"].total == 0


# --- suppression: what the random tables of test_publication_suppression.py do not pin down --------------------


def raw(name: str, counts: list[int]) -> RawTable:
    return RawTable(name, name, name, "x", [(f"k{i}", f"c{i}") for i in range(len(counts))], counts, sum(counts))


def test_a_count_at_the_threshold_is_shown_and_one_below_it_is_not():
    assert suppress_cells([10, 20, 30], 60, 10, additive=True) == [10, 20, 30]
    assert suppress_cells([9, 20, 30], 59, 10, additive=True) == [None, None, 30]  # the next smallest withheld too


def test_a_table_of_zeros_is_shown_as_zeros():
    (table,) = suppress([raw("empty", [0, 0, 0])], 10)
    assert ([c.value for c in table.cells], table.total) == ([0, 0, 0], 0)


def test_a_small_total_withholds_every_cell_but_the_zeros():
    (table,) = suppress([raw("small", [0, 3, 0])], 10)
    assert ([c.value for c in table.cells], table.total) == ([0, None, 0], None)


def test_a_table_that_need_not_add_up_still_withholds_a_second_cell():
    values = suppress_cells([3, 50, 40], 60, 10, additive=False)
    assert values[0] is None and values.count(None) == 2
    assert not any(found.pinned for found in audit(values, 60, 10, False) if found)


def test_a_published_table_reads_back_as_it_was_published():
    (table,) = suppress([raw("by_district", [120, 3, 40, 0, 25])], 10)
    assert Table.from_json(table.as_json()) == table
    shown = table.as_json()
    assert shown["total"] == 188 and not shown["total_suppressed"]
    assert [c["suppressed"] for c in shown["cells"]] == [False, True, False, False, True]
    assert [c["label"] for c in shown["cells"]] == ["c0", "c1", "c2", "c3", "c4"]  # labels and order kept
    figures = Figures("2026-02", 10, CHICAGO.jurisdiction, CHICAGO.department, [table])
    assert Figures.from_json(figures.as_json()) == figures
