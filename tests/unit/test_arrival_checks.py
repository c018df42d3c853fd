"""The rules checked once, when a request arrives (never in a validator, which runs again on every replay): times
against the clock (not in the future beyond a little skew, a hold not ending in the past, a court's day that has
come) and, with them, the text rule. Bidirectional characters in filings are tests/test_text_characters.py's;
here, the clock, and the checks' reach into every step's body."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from referrals.domain.messages import (
    CLOCK_SKEW,
    Arraignment,
    ChargingDecision,
    EvidenceMetadata,
    FilingRequest,
    FootageHold,
    Hold,
    IncidentFiling,
    PersonIn,
    ProsecutionOutcomeIn,
    ReferralAcknowledgement,
    RemovalNotice,
    RemovalOutcome,
    SupervisorIdentification,
    SupplementIn,
    TouhyAnswer,
    ViolationReport,
    Withdrawal,
    clock_problems,
    clock_problems_in,
)
from referrals.domain.messages.clock import _NotFutureDay, _NotPast
from tests.support.builders import (
    ACK,
    CHARGED,
    GRAND_JURY,
    HOLD_1,
    HOLD_2,
    IDENTIFIED,
    NOW,
    REMANDED,
    REMOVAL,
    STATEMENT,
    VIOLATIONS,
    WITNESS,
    filing,
)

TODAY = NOW.date()
# The rule each refusal states (its words then name both times: `test_a_refusal_names_the_time_given_and_now`).
FUTURE_TIME = FUTURE_DAY = "must not be in the future"
PAST_DAY = "must not be in the past"


def problems(model, body: dict) -> list[tuple[str, str]]:
    return [(p["field"], p["message"].split(":")[0]) for p in clock_problems(model.model_validate(body), NOW)]


def test_a_refusal_names_the_time_given_and_now_as_the_department_reads_them():
    chicago = ZoneInfo("America/Chicago")
    now = datetime(2026, 12, 6, 19, 41, tzinfo=UTC).astimezone(chicago)
    item = {
        "kind": "photo",
        "description": "palm",
        "source": "cpd",
        "collected_by": "P.O. Rivera",
        "collected_at": "2026-12-07T19:41:00+00:00",
    }
    [found] = clock_problems(EvidenceMetadata.model_validate(item), now)
    assert found["message"] == (
        "must not be in the future: it is dated Mon 07 Dec 2026, 13:41 CST, and it is now Sun 06 Dec 2026, 13:41 CST"
    )
    assert _NotFutureDay().problem(date(2026, 12, 9), now) == (
        "must not be in the future: it is dated Wed 09 Dec 2026, and today is Sun 06 Dec 2026"
    )
    assert _NotPast().problem(date(2026, 12, 1), now) == (
        "must not be in the past: it is Tue 01 Dec 2026, and today is Sun 06 Dec 2026"
    )


def day(offset: int) -> str:
    return (TODAY + timedelta(days=offset)).isoformat()


@pytest.mark.parametrize(
    ("moment", "refused"),
    [
        (NOW, False),
        (NOW + CLOCK_SKEW, False),  # a device clock a little ahead
        (NOW + CLOCK_SKEW + timedelta(seconds=1), True),
        (NOW + timedelta(days=2), True),
        (NOW - timedelta(days=365 * 100), False),
    ],
)
def test_something_that_happened_is_not_in_the_future(moment, refused):
    found = problems(ReferralAcknowledgement, {**ACK, "received_at": moment.isoformat()})
    assert found == ([("received_at", FUTURE_TIME)] if refused else [])


def test_a_time_at_the_end_of_the_calendar_is_in_the_future_even_past_year_9999_in_utc():
    body = filing()
    body["recordings"][0] |= {"started_at": "9999-12-31T23:00:00-12:00", "ended_at": "9999-12-31T23:59:00-12:00"}
    assert problems(IncidentFiling, body) == [
        ("recordings[0].started_at", FUTURE_TIME),
        ("recordings[0].ended_at", FUTURE_TIME),
    ]


def test_a_time_is_judged_in_utc_whatever_its_offset():
    assert problems(ReferralAcknowledgement, {**ACK, "received_at": "2026-03-02T10:04:00-05:00"}) == []
    assert problems(ReferralAcknowledgement, {**ACK, "received_at": "2026-03-02T10:06:00-05:00"}) == [
        ("received_at", FUTURE_TIME)
    ]


@pytest.mark.parametrize(("offset", "refused"), [(-2, True), (-1, False), (0, False), (3650, False)])
def test_a_hold_does_not_end_in_the_past(offset, refused):
    """Yesterday in UTC is still today somewhere west of Greenwich."""
    found = problems(FootageHold, {"holds": [HOLD_1, {**HOLD_2, "retained_until": day(offset)}]})
    assert found == ([("holds[1].retained_until", PAST_DAY)] if refused else [])


@pytest.mark.parametrize(
    ("model", "body", "field"),
    [
        (RemovalNotice, REMOVAL, "filed_on"),
        (RemovalOutcome, REMANDED, "decided_on"),
        (ProsecutionOutcomeIn, {"outcome": "dismissed", "decided_on": "2026-03-01"}, "decided_on"),
        (TouhyAnswer, {"outcome": "produced", "received_on": "2026-03-01"}, "received_on"),
        (Arraignment, {"arraignment_date": "2026-03-01"}, "arraignment_date"),
        (ChargingDecision, {**CHARGED, "decided_at": NOW.isoformat()}, "arraignment_date"),
    ],
)
@pytest.mark.parametrize(("offset", "refused"), [(0, False), (1, False), (2, True)])
def test_a_court_s_day_that_is_recorded_has_come(model, body, field, offset, refused):
    """Tomorrow in UTC is already today somewhere east of Greenwich."""
    found = problems(model, {**body, field: day(offset)})
    assert found == ([(field, FUTURE_DAY)] if refused else [])


def test_a_grand_jury_date_may_lie_ahead():
    assert problems(ChargingDecision, {**GRAND_JURY, "decided_at": NOW.isoformat(), "grand_jury_date": day(400)}) == []
    assert problems(ChargingDecision, {**GRAND_JURY, "decided_at": (NOW + timedelta(days=1)).isoformat()}) == [
        ("decided_at", FUTURE_TIME)
    ]


def test_every_time_of_a_filing_is_checked_and_named_where_it_is():
    later = (NOW + timedelta(hours=1)).isoformat()
    body = filing(occurred_at=later)
    body["recordings"][1]["ended_at"] = later
    body["people"] = [{**WITNESS, "statements": [STATEMENT, {**STATEMENT, "taken_at": later}]}]
    assert problems(FilingRequest, body) == [
        ("occurred_at", FUTURE_TIME),
        ("recordings[1].ended_at", FUTURE_TIME),
        ("people[0].statements[1].taken_at", FUTURE_TIME),
    ]


def test_a_statement_or_an_item_collected_later_than_now_is_refused_in_a_step():
    later = (NOW + timedelta(hours=1)).isoformat()
    assert problems(PersonIn, {**WITNESS, "statements": [{**STATEMENT, "taken_at": later}]}) == [
        ("statements[0].taken_at", FUTURE_TIME)
    ]
    assert problems(SupplementIn, {"statements": [{**STATEMENT, "person_id": "P1", "taken_at": later}]}) == [
        ("statements[0].taken_at", FUTURE_TIME)
    ]
    item = {
        "kind": "photo",
        "description": "palm",
        "source": "cpd",
        "collected_by": "P.O. Rivera",
        "collected_at": later,
    }
    assert problems(EvidenceMetadata, item) == [("collected_at", FUTURE_TIME)]


def test_a_correction_is_held_to_the_clock_rule_of_the_field_it_corrects():
    later = (NOW + timedelta(days=1)).isoformat()
    body = {
        "corrections": [
            {"field": "location", "value": later, "reason": "a place that looks like a time is just text"},
            {"field": "occurred_at", "value": later, "reason": "moved into the future"},
            {"field": "occurred_at", "value": "2026-03-01T12:00:00Z", "reason": "fine"},
        ]
    }
    assert problems(SupplementIn, body) == [("corrections[1].value", FUTURE_TIME)]


def test_the_clock_and_the_text_rule_are_reported_together():
    body = {**VIOLATIONS, "allegations": [{**VIOLATIONS["allegations"][0], "facts": "struck \u202ehim"}]}
    assert [f for f, _ in problems(ViolationReport, body)] == ["allegations[0].facts"]
    assert problems(Withdrawal, {"reason": "filed \u2067in error"})[0][1].startswith(
        "contains a right-to-left isolate character (U+2067)"
    )


def test_a_name_in_a_step_is_held_to_the_text_rule():
    found = problems(SupervisorIdentification, {**IDENTIFIED, "name": "J. \u202eeoD"})
    assert [f for f, _ in found] == ["name"]
    assert found[0][1].startswith("contains a right-to-left override character (U+202E)")


def test_a_value_not_even_of_its_type_is_left_to_the_model():
    assert clock_problems_in(FootageHold, {"holds": [{**HOLD_1, "retained_until": "soon"}]}, NOW) == []
    assert clock_problems_in(IncidentFiling, {"occurred_at": 12}, NOW) == []
    assert clock_problems_in(IncidentFiling, ["not", "a", "body"], NOW) == []


def test_a_stored_hold_that_has_since_ended_still_reads_back():
    """The rule is never a validator: a case read years later holds what was valid when it arrived."""
    assert Hold.model_validate({**HOLD_1, "retained_until": "2001-01-01"}).retained_until == date(2001, 1, 1)
