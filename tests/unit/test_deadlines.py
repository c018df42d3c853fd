"""Deadlines and their arithmetic: when a recording is purged and its hold falls due, each task's due time, the
escalation ladders (which step fires next, the level a late clock catches up to, who is told), and the removal
window over weekends, court holidays and the changes of daylight saving time."""

from datetime import UTC, date, datetime, timedelta

import pytest

from referrals.domain.case import footage_hold_due, open_task, purge_at, removal_window
from referrals.domain.enums import Role, Task, TaskStatus
from referrals.domain.escalation import Due, next_escalation, reached_level, roles_between
from referrals.domain.policy import Prosecution, load_policy
from referrals.domain.steps import FOOTAGE_HOLD, LEGAL_REVIEW, TOUHY_RESPONSE, VIOLATION_REPORT
from tests.support.builders import (
    CAMERA_1,
    CHICAGO,
    CUSTODIAN,
    HOLD_1,
    LIAISON,
    NEW_CAMERA,
    NOW,
    OFFICER,
    POLICIES,
    RETURN,
    REVIEWER,
    VIOLATIONS,
    answer,
    asking,
    filed,
    filing,
)

HOUR, DAY = timedelta(hours=1), timedelta(days=1)


def recording(started: datetime, camera_id: str = CAMERA_1) -> dict:
    """An unflagged recording (kept 90 days) that started at `started`."""
    moment = started.isoformat()
    return {**NEW_CAMERA, "camera_id": camera_id, "started_at": moment, "ended_at": moment, "flag_reasons": []}


def recorded(started: datetime) -> dict:
    return filing(recordings=[recording(started)])


# --- recordings: purge dates and warnings ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flags", "days"),
    [([], 90), (["use_of_force"], 730), (["use_of_force", "complaint"], 730), (["not_in_the_policy"], 90)],
)
def test_a_recording_is_purged_after_the_longest_retention_of_its_flags(flags, days):
    assert purge_at(NOW, flags, CHICAGO) == NOW + timedelta(days=days)


@pytest.mark.parametrize(
    ("age", "warning"),
    [
        (timedelta(days=100), "purged"),
        (timedelta(days=90), "purged"),  # purged the moment it was filed
        (timedelta(days=90) - timedelta(seconds=1), "inside_margin"),
        (timedelta(days=83), "inside_margin"),  # exactly the 7-day margin before its purge
        (timedelta(days=83) - timedelta(seconds=1), None),
        (timedelta(days=1), None),
    ],
)
def test_footage_purged_or_too_close_to_its_purge_date_is_reported_at_filing(age, warning):
    case = filed(recorded(NOW - age))
    found = [(w.camera_id, w.status, w.purge_at) for w in case.state.purge_warnings]
    assert found == ([(CAMERA_1, warning, NOW - age + timedelta(days=90))] if warning else [])


def test_the_hold_is_due_within_a_day_unless_a_purge_comes_sooner():
    fresh = filed()
    assert fresh.state.tasks["footage_hold"].due_at == NOW + DAY
    old = filed(recorded(NOW - 83 * DAY + 12 * HOUR))  # purged in 7 days and a half: due 7 days before that
    assert old.state.tasks["footage_hold"].due_at == NOW + 12 * HOUR
    gone = filed(recorded(NOW - timedelta(days=95)))  # due already: the ladder starts at once
    assert gone.state.tasks["footage_hold"].due_at == NOW - 12 * DAY


def test_a_held_recording_no_longer_brings_the_hold_forward():
    old = recording(NOW - 83 * DAY + 12 * HOUR, camera_id="OLD")
    case = filed(filing(recordings=[*filing()["recordings"], old]))
    assert case.state.tasks["footage_hold"].due_at == NOW + 12 * HOUR
    case.step(FOOTAGE_HOLD, CUSTODIAN, {"holds": [{**HOLD_1, "camera_id": "OLD", "retained_until": "2030-01-01"}]})
    assert footage_hold_due(case.state, NOW, CHICAGO) == NOW + DAY


# --- tasks' due times -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("task", "due"),
    [
        (Task.SUPERVISOR_IDENTIFICATION, 3 * DAY),
        (Task.VIOLATION_REPORT, 7 * DAY),
        (Task.LEGAL_REVIEW, 14 * DAY),
        (Task.COMMAND_APPROVAL, 5 * DAY),
        (Task.REFERRAL_ACKNOWLEDGEMENT, 10 * DAY),
        (Task.CHARGING_DECISION, 60 * DAY),
    ],
)
def test_a_task_opened_is_due_after_the_policy_s_time(task, due):
    state = filed().state
    later = NOW + 2 * HOUR
    open_task(state, task, later, CHICAGO)
    entry = state.tasks[task]
    assert (entry.status, entry.opened_at, entry.due_at, entry.escalation_level) == (
        TaskStatus.OPEN,
        later,
        later + due,
        0,
    )


def test_a_task_opened_again_starts_its_ladder_afresh():
    state = filed().state
    entry = state.tasks[Task.VIOLATION_REPORT]
    entry.escalation_level, entry.status = 2, TaskStatus.DONE
    open_task(state, Task.VIOLATION_REPORT, NOW + 10 * DAY, CHICAGO)
    assert (entry.status, entry.escalation_level, entry.completed_by, entry.due_at) == (
        TaskStatus.OPEN,
        0,
        None,
        NOW + 17 * DAY,
    )


def test_the_charging_decision_opens_the_prosecution_s_record():
    state = filed().state
    assert state.prosecution is None
    open_task(state, Task.CHARGING_DECISION, NOW, CHICAGO)
    assert state.prosecution is not None and state.prosecution.decisions == []


def test_the_case_s_next_deadline_is_its_earliest_open_task_s():
    state = filed().state
    assert state.next_deadline() == NOW + DAY
    state.tasks[Task.FOOTAGE_HOLD].status = TaskStatus.DONE
    assert state.next_deadline() == NOW + 3 * DAY
    state.tasks[Task.VIOLATION_REPORT].escalation_level = 2
    assert state.escalation_level() == 2


# --- escalation ladders ---------------------------------------------------------------------------------------


def test_the_next_escalation_is_the_earliest_step_among_the_open_tasks():
    state = filed().state
    assert next_escalation(state, CHICAGO) == Due(NOW + DAY, Task.FOOTAGE_HOLD)
    state.tasks[Task.FOOTAGE_HOLD].escalation_level = 1  # its second step fires a day after it fell due
    assert next_escalation(state, CHICAGO) == Due(NOW + 2 * DAY, Task.FOOTAGE_HOLD)
    state.tasks[Task.FOOTAGE_HOLD].escalation_level = 3  # its whole ladder fired
    assert next_escalation(state, CHICAGO) == Due(NOW + 3 * DAY, Task.SUPERVISOR_IDENTIFICATION)


def test_a_done_task_escalates_no_more_and_a_closed_case_not_at_all():
    case = filed(filing(recordings=[]))
    case.state.tasks[Task.SUPERVISOR_IDENTIFICATION].status = TaskStatus.DONE
    assert next_escalation(case.state, CHICAGO) == Due(NOW + 7 * DAY, Task.VIOLATION_REPORT)
    assert next_escalation(case.withdrawn().state, CHICAGO) is None


def test_steps_falling_at_once_are_taken_in_the_tasks_order_by_name():
    state = filed(filing(recordings=[])).state
    for task in (Task.SUPERVISOR_IDENTIFICATION, Task.VIOLATION_REPORT):
        state.tasks[task].due_at = NOW
    assert next_escalation(state, CHICAGO).task == Task.SUPERVISOR_IDENTIFICATION


@pytest.mark.parametrize(
    ("late", "level"),
    [
        (-timedelta(seconds=1), 0),
        (timedelta(0), 1),  # at the due time exactly: the first step
        (DAY - timedelta(seconds=1), 1),
        (DAY, 2),
        (3 * DAY, 3),
        (300 * DAY, 3),  # never past the top of the ladder
    ],
)
def test_a_late_clock_catches_up_to_the_level_reached_in_one_firing(late, level):
    state = filed().state
    assert reached_level(state, Task.FOOTAGE_HOLD, NOW + DAY + late, CHICAGO) == level


def test_the_level_reached_counts_on_from_the_level_fired():
    state = filed().state
    state.tasks[Task.FOOTAGE_HOLD].escalation_level = 2
    assert reached_level(state, Task.FOOTAGE_HOLD, NOW, CHICAGO) == 2


@pytest.mark.parametrize("task", list(Task))
def test_every_task_s_ladder_fires_step_by_step_telling_each_step_s_roles(task):
    """Chicago's ladder of each task: level N is reached when step N's time comes, and firing it tells its roles."""
    case = filed()
    entry = case.state.tasks[task]
    entry.status, entry.due_at = TaskStatus.OPEN, NOW
    ladder = CHICAGO.tasks[task].escalation
    for index, step in enumerate(ladder):
        moment = NOW + step.after
        assert reached_level(case.state, task, moment - timedelta(seconds=1), CHICAGO) == index
        assert reached_level(case.state, task, moment, CHICAGO) == index + 1
        assert roles_between(task, index, index + 1, CHICAGO) == step.notify
        entry.escalation_level = index + 1
    assert reached_level(case.state, task, NOW + 1000 * DAY, CHICAGO) == len(ladder)


@pytest.mark.parametrize(
    ("low", "high", "roles"),
    [
        (0, 1, [Role.EVIDENCE_CUSTODIAN, Role.SUPERVISOR]),
        (0, 3, [Role.EVIDENCE_CUSTODIAN, Role.SUPERVISOR, Role.COMMAND, Role.ADMIN]),  # command told once
        (1, 3, [Role.COMMAND, Role.ADMIN]),
        (2, 2, []),
    ],
)
def test_those_told_are_everyone_on_the_steps_fired_in_ladder_order(low, high, roles):
    assert roles_between(Task.FOOTAGE_HOLD, low, high, CHICAGO) == roles


def asked_twice():
    """T1 (ICE) asked now, T2 (CBP) ten days later; then referred (the charging decision due in 70 days)."""
    case = filed().investigated()
    case.step(LEGAL_REVIEW, REVIEWER, asking("ICE", review={**RETURN, "return_tasks": ["violation_report"]}))
    case.later(days=10).step(VIOLATION_REPORT, OFFICER, VIOLATIONS)
    case.step(LEGAL_REVIEW, REVIEWER, asking("CBP"))
    return case.approved().acknowledged()


def test_each_touhy_request_runs_the_ladder_from_its_own_due_time():
    case = asked_twice()
    t1, t2 = case.state.touhy_requests
    assert next_escalation(case.state, CHICAGO) == Due(NOW + 45 * DAY, Task.TOUHY_RESPONSE, "T1")
    t1.escalation_level = 1  # T1's follow-up fired; its next step is 30 days on, after T2 falls due
    assert next_escalation(case.state, CHICAGO) == Due(NOW + 55 * DAY, Task.TOUHY_RESPONSE, "T2")
    later = NOW + 80 * DAY
    assert reached_level(case.state, Task.TOUHY_RESPONSE, later, CHICAGO, "T1") == 2
    assert reached_level(case.state, Task.TOUHY_RESPONSE, later, CHICAGO, "T2") == 1
    assert t2.due_at == NOW + 55 * DAY
    assert case.state.tasks[Task.CHARGING_DECISION].due_at == NOW + 70 * DAY


def test_an_answered_request_escalates_no_more():
    case = asked_twice()
    case.step(TOUHY_RESPONSE, LIAISON, answer("T1"))
    upcoming = next_escalation(case.state, CHICAGO)
    assert (upcoming.task, upcoming.item) == (Task.TOUHY_RESPONSE, "T2")


# --- the removal window ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arraigned", "last_day", "ends"),
    [
        (date(2026, 3, 4), date(2026, 4, 3), datetime(2026, 4, 4, 5, tzinfo=UTC)),  # a Friday: as it falls
        (date(2026, 3, 5), date(2026, 4, 6), datetime(2026, 4, 7, 5, tzinfo=UTC)),  # a Saturday: to Monday
        (date(2026, 3, 6), date(2026, 4, 6), datetime(2026, 4, 7, 5, tzinfo=UTC)),  # a Sunday: to Monday
        (date(2025, 12, 20), date(2026, 1, 20), datetime(2026, 1, 21, 6, tzinfo=UTC)),  # MLK Day: to Tuesday
        (date(2026, 6, 3), date(2026, 7, 6), datetime(2026, 7, 7, 5, tzinfo=UTC)),  # holiday Friday, weekend
        (date(2026, 1, 15), date(2026, 2, 17), datetime(2026, 2, 18, 6, tzinfo=UTC)),  # weekend, then a holiday
        (date(2026, 11, 25), date(2026, 12, 28), datetime(2026, 12, 29, 6, tzinfo=UTC)),  # Christmas on a Friday
        (date(2026, 10, 27), date(2026, 11, 27), datetime(2026, 11, 28, 6, tzinfo=UTC)),  # Thanksgiving: Friday
        # Daylight saving time: the day ends at midnight in Chicago, whichever offset that is.
        (date(2026, 2, 5), date(2026, 3, 9), datetime(2026, 3, 10, 5, tzinfo=UTC)),  # Sat 7 March, across DST
        (date(2026, 2, 6), date(2026, 3, 9), datetime(2026, 3, 10, 5, tzinfo=UTC)),  # Sun 8 March: DST begins
        (date(2026, 2, 4), date(2026, 3, 6), datetime(2026, 3, 7, 6, tzinfo=UTC)),  # Fri 6 March: still CST
        (date(2026, 9, 30), date(2026, 10, 30), datetime(2026, 10, 31, 5, tzinfo=UTC)),  # Fri 30 Oct: CDT
        (date(2026, 10, 2), date(2026, 11, 2), datetime(2026, 11, 3, 6, tzinfo=UTC)),  # Sun 1 Nov: DST ends
    ],
)
def test_the_removal_window_runs_thirty_days_to_the_next_court_day(arraigned, last_day, ends):
    assert removal_window(arraigned, CHICAGO) == (last_day, ends)


def test_the_removal_window_ends_at_midnight_in_the_department_s_own_zone():
    new_york = load_policy(POLICIES / "new_york_city.toml")
    assert removal_window(date(2026, 3, 4), new_york) == (date(2026, 4, 3), datetime(2026, 4, 4, 4, tzinfo=UTC))


def test_without_the_holiday_the_window_ends_on_it():
    plain = CHICAGO.model_copy(update={"prosecution": Prosecution(court_holidays=[])})
    assert removal_window(date(2026, 6, 3), plain)[0] == date(2026, 7, 3)


def test_a_policy_may_set_another_window():
    shorter = CHICAGO.model_copy(update={"prosecution": Prosecution(removal_window_days=10)})
    assert removal_window(date(2026, 3, 4), shorter)[0] == date(2026, 3, 16)  # Sat 14 March: to Monday
