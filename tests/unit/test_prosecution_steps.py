"""After the referral: the charging decision (charged, declined, a grand jury, further investigation), the
arraignment and the removal window it opens, a notice of removal and its outcome, the prosecution's outcome."""

from datetime import UTC, date, datetime

import pytest

from referrals.domain.enums import Disposition, Role, Stage, Task, TaskStatus
from referrals.domain.errors import RejectionKind
from referrals.domain.steps import (
    ARRAIGNMENT,
    CHARGING_DECISION,
    PROSECUTION_OUTCOME,
    REMOVAL_NOTICE,
    REMOVAL_OUTCOME,
    VIOLATION_REPORT,
)
from tests.support.builders import (
    ARRAIGNED,
    BATTERY,
    CHARGED,
    CHARGED_NOT_YET_ARRAIGNED,
    COMMANDER,
    CONVICTED,
    DECLINED,
    DISMISSED,
    FURTHER,
    GRAND_JURY,
    LIAISON,
    OFFICER,
    REMANDED,
    REMOVAL,
    SUBJECT,
    VIOLATIONS,
    actor,
    filed,
)

PROSECUTION_STEPS = [
    (CHARGING_DECISION, CHARGED),
    (ARRAIGNMENT, {"arraignment_date": "2026-03-04"}),
    (REMOVAL_NOTICE, REMOVAL),
    (REMOVAL_OUTCOME, REMANDED),
    (PROSECUTION_OUTCOME, DISMISSED),
]


def in_prosecution():
    return filed().in_prosecution()


@pytest.mark.parametrize(("spec", "body"), PROSECUTION_STEPS, ids=[s.name for s, _ in PROSECUTION_STEPS])
@pytest.mark.parametrize("role", [Role.OFFICER, Role.LEGAL_REVIEWER, Role.ADMIN, Role.AUDITOR])
def test_only_the_liaison_or_command_records_what_the_courts_did(spec, body, role):
    refused = filed().charged().refusal(spec, actor(role), body)
    assert (refused.kind, refused.message) == (
        RejectionKind.FORBIDDEN,
        f"{spec.name} needs the role command or prosecutor_liaison",
    )


# --- charging_decision ----------------------------------------------------------------------------------------


def test_no_charging_decision_before_the_prosecutor_acknowledges_the_referral():
    case = filed().investigated().reviewed().approved()
    refused = case.refusal(CHARGING_DECISION, LIAISON, CHARGED)
    assert (refused.kind, refused.message) == (
        RejectionKind.CONFLICT,
        "charging_decision is not open: the case is in stage referral",
    )


def test_charges_name_the_subjects_the_review_referred():
    stranger = {**CHARGED, "charges": [CHARGED["charges"][0], {"subject": "Agent Smith", "statutes": [BATTERY]}]}
    refused = in_prosecution().refusal(CHARGING_DECISION, LIAISON, stranger)
    assert (refused.kind, refused.field, refused.message) == (
        RejectionKind.INVALID,
        "charges[1].subject",
        "'Agent Smith' is not among the subjects the legal review referred (unidentified agent in grey vest)",
    )


def test_charges_cite_statutes_of_the_catalogue_even_ones_not_alleged():
    unknown = {**CHARGED, "charges": [{"subject": SUBJECT["subject"], "statutes": [BATTERY, "18 U.S.C. 242"]}]}
    refused = in_prosecution().refusal(CHARGING_DECISION, LIAISON, unknown)
    assert (refused.kind, refused.field, refused.message) == (
        RejectionKind.INVALID,
        "charges[0].statutes[1]",
        "'18 U.S.C. 242' is not in the statute catalogue",
    )
    other = {**CHARGED, "charges": [{"subject": SUBJECT["subject"], "statutes": ["720 ILCS 5/33-3"]}]}
    case = in_prosecution()
    case.step(CHARGING_DECISION, LIAISON, other)  # the prosecutor may charge what the review did not analyse
    assert case.state.prosecution.charged


@pytest.mark.parametrize(("day", "accepted"), [("2026-03-01", False), ("2026-03-02", True), ("2026-03-03", True)])
def test_the_arraignment_is_not_before_the_decision(day, accepted):
    """Decided 3 March 00:00 UTC: 2 March, 18:00 in Chicago, whose day counts."""
    case = in_prosecution()
    body = {**CHARGED, "arraignment_date": day}
    if accepted:
        case.step(CHARGING_DECISION, LIAISON, body)
        assert case.state.prosecution.arraignment_date.isoformat() == day
    else:
        refused = case.refusal(CHARGING_DECISION, LIAISON, body)
        assert (refused.kind, refused.field, refused.message) == (
            RejectionKind.INVALID,
            "arraignment_date",
            "must not be before the charging decision (Mon 02 Mar 2026, 18:00 CST); it is dated Sun 01 Mar 2026",
        )


@pytest.mark.parametrize(
    ("day", "refusal"),
    [
        (
            "2026-03-01",
            "must not be before the charging decision (Mon 02 Mar 2026, 18:00 CST); it is dated Sun 01 Mar 2026",
        ),
        ("2026-03-02", None),
        ("2028-03-01", None),
        (
            "2028-03-02",
            "must be within 730 days of the charging decision (by Wed 01 Mar 2028); it is dated Thu 02 Mar 2028",
        ),
    ],
)
def test_a_grand_jury_sits_on_or_after_the_decision_and_within_two_years(day, refusal):
    case = in_prosecution()
    body = {**GRAND_JURY, "grand_jury_date": day}
    if refusal is None:
        case.step(CHARGING_DECISION, LIAISON, body)
    else:
        refused = case.refusal(CHARGING_DECISION, LIAISON, body)
        assert (refused.kind, refused.field, refused.message) == (RejectionKind.INVALID, "grand_jury_date", refusal)


def test_charges_with_an_arraignment_open_the_removal_window():
    case = in_prosecution()
    data = case.step(CHARGING_DECISION, COMMANDER, CHARGED)
    assert data["removal_deadline"] == "2026-04-03"  # 4 March + 30 days: a Friday
    prosecution = case.state.prosecution
    assert (prosecution.arraignment_date, prosecution.removal_deadline) == (ARRAIGNED, date(2026, 4, 3))
    assert prosecution.removal_due_at == datetime(2026, 4, 4, 5, 0, tzinfo=UTC)  # midnight in Chicago (CDT)
    assert prosecution.removal_window_open and prosecution.charged
    assert case.state.tasks["charging_decision"].status == TaskStatus.DONE
    assert case.state.stage == Stage.PROSECUTION  # charged: until the outcome


def test_charges_before_the_arraignment_leave_the_window_unopened():
    case = in_prosecution()
    data = case.step(CHARGING_DECISION, LIAISON, CHARGED_NOT_YET_ARRAIGNED)
    assert "removal_deadline" not in data
    assert case.state.prosecution.removal_deadline is None and not case.state.prosecution.removal_window_open


def test_a_declination_closes_the_case_as_referred():
    case = in_prosecution()
    case.step(CHARGING_DECISION, LIAISON, DECLINED)
    assert (case.state.stage, case.state.disposition) == (Stage.CLOSED, Disposition.REFERRED)
    assert case.state.prosecution.decision.reason == "Insufficient evidence."


def test_a_grand_jury_keeps_the_decision_open_until_after_it_sits():
    case = in_prosecution()
    case.state.tasks["charging_decision"].escalation_level = 2  # overdue already
    data = case.step(CHARGING_DECISION, LIAISON, GRAND_JURY)
    task = case.state.tasks["charging_decision"]
    # The end of 15 April in Chicago (05:00 UTC on the 16th, CDT), plus the policy's 30 days.
    assert task.due_at == datetime(2026, 5, 16, 5, 0, tzinfo=UTC)
    assert data["due_at"] == "2026-05-16T05:00:00+00:00"
    assert (task.status, task.escalation_level) == (TaskStatus.OPEN, 0)
    assert not case.state.prosecution.charged
    case.later(days=45).step(CHARGING_DECISION, LIAISON, CHARGED)  # a true bill
    assert [d.payload.decision for d in case.state.prosecution.decisions] == ["grand_jury", "charged"]
    assert case.state.tasks["charging_decision"].status == TaskStatus.DONE


def test_further_investigation_sends_the_case_back_and_it_returns_through_review():
    case = in_prosecution()
    case.step(CHARGING_DECISION, LIAISON, FURTHER)
    assert (case.state.stage, case.state.investigation_round) == (Stage.INVESTIGATION, 2)
    assert case.state.open_tasks() == [Task.VIOLATION_REPORT]
    case.step(VIOLATION_REPORT, OFFICER, VIOLATIONS)
    case.reviewed().approved().acknowledged()
    assert case.state.tasks["charging_decision"].status == TaskStatus.OPEN
    case.step(CHARGING_DECISION, LIAISON, CHARGED)
    assert [d.payload.decision for d in case.state.prosecution.decisions] == ["further_investigation", "charged"]


def test_a_charging_decision_is_recorded_once():
    case = filed().charged(CHARGED_NOT_YET_ARRAIGNED)
    refused = case.refusal(CHARGING_DECISION, LIAISON, DECLINED)
    assert (refused.kind, refused.message) == (RejectionKind.CONFLICT, "charging_decision is already done")


# --- arraignment ----------------------------------------------------------------------------------------------


def test_an_arraignment_comes_after_the_acknowledgement():
    refused = filed().refusal(ARRAIGNMENT, LIAISON, {"arraignment_date": "2026-03-04"})
    assert (refused.kind, refused.message) == (
        RejectionKind.CONFLICT,
        "the arraignment comes after the prosecutor's acknowledgement: the case is in stage investigation",
    )


@pytest.mark.parametrize("decision", [None, GRAND_JURY])
def test_an_arraignment_needs_charges(decision):
    case = in_prosecution()
    if decision:
        case.step(CHARGING_DECISION, LIAISON, decision)
    refused = case.refusal(ARRAIGNMENT, LIAISON, {"arraignment_date": "2026-03-04"})
    assert (refused.kind, refused.message) == (
        RejectionKind.CONFLICT,
        "the arraignment needs a charging decision to charge first",
    )


def test_an_arraignment_is_recorded_once():
    refused = filed().charged().refusal(ARRAIGNMENT, LIAISON, {"arraignment_date": "2026-03-05"})
    assert (refused.kind, refused.field, refused.message) == (
        RejectionKind.CONFLICT,
        "arraignment_date",
        "the arraignment is already recorded (2026-03-04)",
    )


def test_an_arraignment_is_not_before_the_charges():
    refused = (
        filed().charged(CHARGED_NOT_YET_ARRAIGNED).refusal(ARRAIGNMENT, LIAISON, {"arraignment_date": "2026-02-27"})
    )
    assert (refused.kind, refused.field, refused.message) == (
        RejectionKind.INVALID,
        "arraignment_date",
        "must not be before the charging decision (Mon 02 Mar 2026, 18:00 CST); it is dated Fri 27 Feb 2026",
    )


def test_an_arraignment_recorded_later_opens_the_removal_window():
    case = filed().charged(CHARGED_NOT_YET_ARRAIGNED)
    assert ARRAIGNMENT.offered_now(case.state)
    data = case.step(ARRAIGNMENT, COMMANDER, {"arraignment_date": "2026-03-06"})
    assert data == {"arraignment_date": "2026-03-06", "removal_deadline": "2026-04-06"}  # 5 April is a Sunday
    prosecution = case.state.prosecution
    assert prosecution.arraignment.by.id == COMMANDER.user_id
    assert prosecution.removal_due_at == datetime(2026, 4, 7, 5, 0, tzinfo=UTC)
    assert not ARRAIGNMENT.offered_now(case.state)


# --- removal_notice -------------------------------------------------------------------------------------------


def test_a_notice_of_removal_comes_after_the_acknowledgement_and_needs_charges():
    refused = filed().refusal(REMOVAL_NOTICE, LIAISON, REMOVAL)
    assert refused.message == (
        "a notice of removal comes after the prosecutor's acknowledgement: the case is in stage investigation"
    )
    refused = in_prosecution().refusal(REMOVAL_NOTICE, LIAISON, REMOVAL)
    assert (refused.kind, refused.message) == (
        RejectionKind.CONFLICT,
        "a notice of removal needs a charging decision to charge first",
    )


def test_a_notice_of_removal_closes_the_window_on_time():
    case = filed().charged()
    data = case.step(REMOVAL_NOTICE, LIAISON, REMOVAL)
    assert data["late"] is False
    prosecution = case.state.prosecution
    assert prosecution.removal_notice.payload.federal_case_number == "1:26-cr-00077"
    assert prosecution.removal_pending and not prosecution.removal_window_open
    assert not REMOVAL_NOTICE.offered_now(case.state) and REMOVAL_OUTCOME.offered_now(case.state)


@pytest.mark.parametrize(("filed_on", "late"), [("2026-04-03", False), ("2026-04-04", True)])
def test_a_notice_after_the_last_day_is_recorded_as_late(filed_on, late):
    case = filed().charged()
    assert case.step(REMOVAL_NOTICE, LIAISON, {**REMOVAL, "filed_on": filed_on})["late"] is late


def test_a_notice_with_no_window_opened_is_not_late():
    case = filed().charged(CHARGED_NOT_YET_ARRAIGNED)
    assert case.step(REMOVAL_NOTICE, LIAISON, {**REMOVAL, "filed_on": "2027-01-01"})["late"] is False


def test_a_notice_of_removal_is_recorded_once():
    case = filed().charged()
    case.step(REMOVAL_NOTICE, LIAISON, REMOVAL)
    refused = case.refusal(REMOVAL_NOTICE, COMMANDER, {**REMOVAL, "federal_case_number": "1:26-cr-00078"})
    assert (refused.kind, refused.message) == (
        RejectionKind.CONFLICT,
        "a notice of removal is already recorded (1:26-cr-00077)",
    )


def test_no_notice_of_removal_once_the_outcome_is_in():
    """The moment between the outcome's record and the case's closing (a step queued behind it)."""
    case = filed().charged()
    case.step(PROSECUTION_OUTCOME, LIAISON, DISMISSED, move_on=False)
    refused = case.refusal(REMOVAL_NOTICE, LIAISON, REMOVAL)
    assert (refused.kind, refused.message) == (RejectionKind.CONFLICT, "the prosecution's outcome is already recorded")


# --- removal_outcome ------------------------------------------------------------------------------------------


def test_a_removal_outcome_needs_a_notice():
    refused = filed().charged().refusal(REMOVAL_OUTCOME, LIAISON, REMANDED)
    assert (refused.kind, refused.message) == (RejectionKind.CONFLICT, "no notice of removal is recorded")


@pytest.mark.parametrize(("decided_on", "accepted"), [("2026-03-09", False), ("2026-03-10", True)])
def test_the_federal_court_decides_on_or_after_the_notice(decided_on, accepted):
    case = filed().charged()
    case.step(REMOVAL_NOTICE, LIAISON, REMOVAL)
    body = {**REMANDED, "decided_on": decided_on}
    if accepted:
        case.step(REMOVAL_OUTCOME, LIAISON, body)
        assert not case.state.prosecution.removal_pending
    else:
        refused = case.refusal(REMOVAL_OUTCOME, LIAISON, body)
        assert (refused.kind, refused.field, refused.message) == (
            RejectionKind.INVALID,
            "decided_on",
            "must not be before the notice of removal (Tue 10 Mar 2026); it is dated Mon 09 Mar 2026",
        )


def test_a_removal_outcome_is_recorded_once():
    case = filed().charged()
    case.step(REMOVAL_NOTICE, LIAISON, REMOVAL)
    case.step(REMOVAL_OUTCOME, LIAISON, REMANDED)
    refused = case.refusal(REMOVAL_OUTCOME, LIAISON, {**REMANDED, "result": "retained"})
    assert (refused.kind, refused.message) == (
        RejectionKind.CONFLICT,
        "the removal's outcome is already recorded (remanded)",
    )


# --- prosecution_outcome --------------------------------------------------------------------------------------


def test_an_outcome_needs_charges():
    refused = in_prosecution().refusal(PROSECUTION_OUTCOME, LIAISON, DISMISSED)
    assert (refused.kind, refused.message) == (
        RejectionKind.CONFLICT,
        "the prosecution's outcome needs a charging decision to charge first",
    )


@pytest.mark.parametrize("outcome", ["convicted", "plea"])
def test_no_conviction_while_a_removal_is_pending(outcome):
    case = filed().charged()
    case.step(REMOVAL_NOTICE, LIAISON, REMOVAL)
    refused = case.refusal(PROSECUTION_OUTCOME, LIAISON, {**CONVICTED, "outcome": outcome})
    assert (refused.kind, refused.field) == (RejectionKind.CONFLICT, "outcome")
    assert refused.message.startswith("a notice of removal is pending: the state court may not enter a judgment")
    assert "(28 U.S.C. § 1455(b)(3))" in refused.message and refused.message.endswith(
        "record the removal's outcome first"
    )


@pytest.mark.parametrize("outcome", ["dismissed", "acquitted", "nolle"])
def test_a_pending_removal_does_not_stop_an_end_other_than_conviction(outcome):
    case = filed().charged()
    case.step(REMOVAL_NOTICE, LIAISON, REMOVAL)
    case.step(PROSECUTION_OUTCOME, LIAISON, {**DISMISSED, "outcome": outcome})
    assert case.state.prosecution.outcome.payload.outcome == outcome


@pytest.mark.parametrize("result", ["remanded", "retained"])
def test_once_the_federal_court_has_decided_a_conviction_may_be_recorded(result):
    case = filed().charged()
    case.step(REMOVAL_NOTICE, LIAISON, REMOVAL)
    case.step(REMOVAL_OUTCOME, LIAISON, {**REMANDED, "result": result})
    case.step(PROSECUTION_OUTCOME, LIAISON, CONVICTED)
    assert (case.state.stage, case.state.disposition) == (Stage.CLOSED, Disposition.REFERRED)
    assert case.state.prosecution.outcome.by.id == LIAISON.user_id


def test_two_outcomes_queued_at_once_record_one():
    case = filed().charged()
    case.step(PROSECUTION_OUTCOME, LIAISON, DISMISSED, move_on=False)
    refused = case.refusal(PROSECUTION_OUTCOME, COMMANDER, {**DISMISSED, "outcome": "nolle"})
    assert (refused.kind, refused.message) == (
        RejectionKind.CONFLICT,
        "the prosecution's outcome is already recorded (dismissed)",
    )


@pytest.mark.parametrize(("spec", "body"), PROSECUTION_STEPS[1:], ids=[s.name for s, _ in PROSECUTION_STEPS[1:]])
def test_a_closed_case_records_nothing_more_of_its_prosecution(spec, body):
    case = filed().charged(CHARGED_NOT_YET_ARRAIGNED)
    case.step(PROSECUTION_OUTCOME, LIAISON, DISMISSED)
    refused = case.refusal(spec, LIAISON, body)
    assert refused.kind == RejectionKind.CONFLICT
    assert refused.message.startswith("the case is closed (referred); ")
    assert not spec.offered_now(case.state)


def test_the_desk_offers_the_steps_after_charges_only_to_a_charged_case():
    in_turn = in_prosecution()
    assert [s.offered_now(in_turn.state) for s in (ARRAIGNMENT, REMOVAL_NOTICE, PROSECUTION_OUTCOME)] == [False] * 3
    charged = filed().charged(CHARGED_NOT_YET_ARRAIGNED)
    assert [s.offered_now(charged.state) for s in (ARRAIGNMENT, REMOVAL_NOTICE, PROSECUTION_OUTCOME)] == [True] * 3
    assert not REMOVAL_OUTCOME.offered_now(charged.state)
