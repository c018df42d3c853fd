"""Dates in order, everywhere (issue 30, item 5): each date a step records against what it follows, refused naming
the field and both dates as people read them, in the department's time zone (referrals/domain/chronology.py).

The scenario's clock (tests/support/builders.py): the incident at 07:03 on Monday 2 March 2026 in Chicago, the
command's approval at 09:00 (NOW), the acknowledgement at 17:00 (ACK), the charging decision at 18:00 (DECIDED),
the arraignment on Wednesday 4 March. Rules this file does not repeat: an arraignment (with the decision or later)
and a grand jury not before the decision, a removal's outcome not before its notice (test_prosecution_steps.py), a
Touhy answer not before its request (test_review_steps.py), and the clock's own rules on arrival
(test_arrival_checks.py)."""

from datetime import UTC, date, datetime, timedelta
from typing import Any, get_args

import pytest
from pydantic import AwareDatetime, BaseModel, ValidationError

from referrals.domain import messages
from referrals.domain.chronology import before, out_of_order, shown
from referrals.domain.errors import RejectionKind
from referrals.domain.jurisdiction import order_problems
from referrals.domain.messages import FilingRequest, IncidentFiling, clock_problems
from referrals.domain.messages.arrival import _field_marks
from referrals.domain.messages.clock import _NotFuture, _NotFutureDay, _NotPast
from referrals.domain.steps import (
    ADD_EVIDENCE,
    ADD_PERSON,
    ARRAIGNMENT,
    CHARGING_DECISION,
    FILE_SUPPLEMENT,
    LEGAL_REVIEW,
    PROSECUTION_OUTCOME,
    REFERRAL_ACKNOWLEDGEMENT,
    REMOVAL_NOTICE,
    REMOVAL_OUTCOME,
)
from tests.support.builders import (
    ACK,
    BATTERY,
    CAMERA_1,
    CHARGED,
    CHARGED_NOT_YET_ARRAIGNED,
    CHICAGO,
    DISMISSED,
    GRAND_JURY,
    HOSPITAL_RECORD,
    LIAISON,
    NOW,
    OFFICER,
    PHOTO,
    PROVED,
    REFER,
    REMANDED,
    REMOVAL,
    REVIEWER,
    STATEMENT,
    SUBJECT,
    WITNESS,
    at,
    filed,
    filing,
)

CHICAGO_ZONE = CHICAGO.zone
INCIDENT = "the incident (Mon 02 Mar 2026, 07:03 CST)"


def minutes(n: float) -> str:
    """A moment `n` minutes after NOW (the command's approval in the scenario)."""
    return (NOW + timedelta(minutes=n)).isoformat()


def approved():
    return filed().investigated().reviewed().approved()


def in_prosecution():
    return filed().in_prosecution()


def refused(case, spec, who, body) -> tuple[RejectionKind, str | None, str]:
    refusal = case.refusal(spec, who, body)
    return refusal.kind, refusal.field, refusal.message


# --- how dates are compared and shown -------------------------------------------------------------------------


def test_a_time_is_shown_in_the_department_s_zone_and_a_day_as_a_day():
    assert shown(NOW, CHICAGO_ZONE) == "Mon 02 Mar 2026, 09:00 CST"
    assert shown(datetime(2026, 7, 1, 12, tzinfo=UTC), CHICAGO_ZONE) == "Wed 01 Jul 2026, 07:00 CDT"
    assert shown(date(2026, 3, 4)) == "Wed 04 Mar 2026"


def test_times_are_compared_to_the_minute_as_people_type_them():
    approval = NOW + timedelta(seconds=30)  # recorded 09:00:30
    assert not before(NOW, approval)  # typed 09:00
    assert before(NOW - timedelta(minutes=1), approval)  # typed 08:59


def test_a_day_is_compared_with_the_day_a_time_fell_on_in_the_department_s_zone():
    evening = datetime(2026, 3, 3, 5, 30, tzinfo=UTC)  # Monday 2 March, 23:30 in Chicago; already Tuesday in UTC
    assert not before(date(2026, 3, 2), evening, CHICAGO_ZONE)
    assert before(date(2026, 3, 1), evening, CHICAGO_ZONE)
    assert out_of_order(date(2026, 3, 1), evening, "the charging decision", CHICAGO_ZONE) == (
        "must not be before the charging decision (Mon 02 Mar 2026, 23:30 CST); it is dated Sun 01 Mar 2026"
    )


# --- the referral and the prosecution ------------------------------------------------------------------------


def test_an_acknowledgement_cannot_precede_the_command_s_approval():
    assert refused(approved(), REFERRAL_ACKNOWLEDGEMENT, LIAISON, {**ACK, "received_at": minutes(-1)}) == (
        RejectionKind.INVALID,
        "received_at",
        "must not be before the command's approval (Mon 02 Mar 2026, 09:00 CST); it is dated Mon 02 Mar 2026, 08:59 CST",
    )
    case = approved()
    case.step(REFERRAL_ACKNOWLEDGEMENT, LIAISON, {**ACK, "received_at": minutes(0)})  # the same minute
    assert case.state.acknowledgement is not None


def test_a_charging_decision_cannot_precede_the_acknowledgement():
    case = in_prosecution()  # acknowledged at 17:00
    body = {**CHARGED, "decided_at": minutes(8 * 60 - 1)}
    assert refused(case, CHARGING_DECISION, LIAISON, body) == (
        RejectionKind.INVALID,
        "decided_at",
        "must not be before the prosecutor's acknowledgement (Mon 02 Mar 2026, 17:00 CST); it is dated "
        "Mon 02 Mar 2026, 16:59 CST",
    )
    case.step(CHARGING_DECISION, LIAISON, {**body, "decided_at": minutes(8 * 60)})


def test_a_true_bill_cannot_precede_the_decision_that_sent_the_case_to_the_grand_jury():
    case = in_prosecution()
    case.step(CHARGING_DECISION, LIAISON, GRAND_JURY)  # decided 18:00
    body = {**CHARGED, "decided_at": minutes(8 * 60 + 30)}
    assert refused(case, CHARGING_DECISION, LIAISON, body) == (
        RejectionKind.INVALID,
        "decided_at",
        "must not be before the prosecutor's earlier decision (Mon 02 Mar 2026, 18:00 CST); it is dated "
        "Mon 02 Mar 2026, 17:30 CST",
    )


def test_an_arraignment_cannot_precede_the_charging_decision():
    with_it = refused(in_prosecution(), CHARGING_DECISION, LIAISON, {**CHARGED, "arraignment_date": "2026-03-01"})
    case = in_prosecution()
    case.step(CHARGING_DECISION, LIAISON, CHARGED_NOT_YET_ARRAIGNED)
    later = refused(case, ARRAIGNMENT, LIAISON, {"arraignment_date": "2026-03-01"})
    said = "must not be before the charging decision (Mon 02 Mar 2026, 18:00 CST); it is dated Sun 01 Mar 2026"
    assert with_it == later == (RejectionKind.INVALID, "arraignment_date", said)
    case.step(ARRAIGNMENT, LIAISON, {"arraignment_date": "2026-03-02"})  # the day of the decision, in Chicago


def test_a_grand_jury_cannot_sit_before_the_decision_that_sends_the_case_to_it():
    assert refused(in_prosecution(), CHARGING_DECISION, LIAISON, {**GRAND_JURY, "grand_jury_date": "2026-03-01"}) == (
        RejectionKind.INVALID,
        "grand_jury_date",
        "must not be before the charging decision (Mon 02 Mar 2026, 18:00 CST); it is dated Sun 01 Mar 2026",
    )


def test_a_notice_of_removal_cannot_precede_the_charges_but_may_precede_the_arraignment():
    case = in_prosecution()
    case.step(CHARGING_DECISION, LIAISON, CHARGED_NOT_YET_ARRAIGNED)
    assert refused(case, REMOVAL_NOTICE, LIAISON, {**REMOVAL, "filed_on": "2026-03-01"}) == (
        RejectionKind.INVALID,
        "filed_on",
        "must not be before the charging decision (Mon 02 Mar 2026, 18:00 CST); it is dated Sun 01 Mar 2026",
    )
    case.step(REMOVAL_NOTICE, LIAISON, {**REMOVAL, "filed_on": "2026-03-03"})  # § 1455(b)(1): before trial


def test_a_removal_s_outcome_cannot_precede_its_notice():
    case = in_prosecution()
    case.step(CHARGING_DECISION, LIAISON, CHARGED)
    case.step(REMOVAL_NOTICE, LIAISON, REMOVAL)  # filed 10 March
    assert refused(case, REMOVAL_OUTCOME, LIAISON, {**REMANDED, "decided_on": "2026-03-09"}) == (
        RejectionKind.INVALID,
        "decided_on",
        "must not be before the notice of removal (Tue 10 Mar 2026); it is dated Mon 09 Mar 2026",
    )


@pytest.mark.parametrize(
    ("before_it", "decided_on", "what"),
    [
        ("decision", "2026-03-01", "the charging decision (Mon 02 Mar 2026, 18:00 CST)"),
        ("arraignment", "2026-03-03", "the arraignment (Wed 04 Mar 2026)"),
        ("notice", "2026-03-09", "the notice of removal (Tue 10 Mar 2026)"),
        ("remand", "2026-03-19", "the federal court's decision (Fri 20 Mar 2026)"),
    ],
)
def test_an_outcome_cannot_precede_what_led_to_it(before_it, decided_on, what):
    case = in_prosecution()
    case.step(CHARGING_DECISION, LIAISON, CHARGED_NOT_YET_ARRAIGNED if before_it == "decision" else CHARGED)
    if before_it in ("notice", "remand"):
        case.step(REMOVAL_NOTICE, LIAISON, REMOVAL)  # 10 March
    if before_it == "remand":
        case.step(REMOVAL_OUTCOME, LIAISON, REMANDED)  # 20 March
    body = {**DISMISSED, "decided_on": decided_on}
    day = date.fromisoformat(decided_on)
    assert refused(case, PROSECUTION_OUTCOME, LIAISON, body) == (
        RejectionKind.INVALID,
        "decided_on",
        f"must not be before {what}; it is dated {shown(day)}",
    )
    case.step(PROSECUTION_OUTCOME, LIAISON, {**body, "decided_on": (day + timedelta(days=1)).isoformat()})


# --- the incident and what follows it -------------------------------------------------------------------------

EARLY = at(2)  # 07:02, a minute before the incident
EARLY_SAID = f"must not be before {INCIDENT}; it is dated Mon 02 Mar 2026, 07:02 CST"


def test_a_statement_cannot_precede_the_incident_at_filing():
    body = filing(people=[{**WITNESS, "statements": [STATEMENT, {**STATEMENT, "taken_at": EARLY}]}])
    assert order_problems(FilingRequest.model_validate(body), CHICAGO) == [
        {"field": "people[0].statements[1].taken_at", "message": EARLY_SAID}
    ]
    assert order_problems(FilingRequest.model_validate(filing(people=[WITNESS])), CHICAGO) == []
    assert order_problems(IncidentFiling.model_validate(filing()), CHICAGO) == []  # a filing without people


def test_a_statement_cannot_precede_the_incident_when_a_person_is_added():
    body = {**WITNESS, "statements": [{**STATEMENT, "taken_at": EARLY}]}
    assert refused(filed(), ADD_PERSON, OFFICER, body) == (RejectionKind.INVALID, "statements[0].taken_at", EARLY_SAID)


@pytest.mark.parametrize(
    ("supplement", "field"),
    [
        ({"statements": [{**STATEMENT, "person_id": "P1", "taken_at": EARLY}]}, "statements[0].taken_at"),
        (
            {"people": [{**WITNESS, "statements": [{**STATEMENT, "taken_at": EARLY}]}]},
            "people[0].statements[0].taken_at",
        ),
    ],
)
def test_a_statement_cannot_precede_the_incident_in_a_supplement(supplement, field):
    assert refused(filed(people=[WITNESS]), FILE_SUPPLEMENT, OFFICER, supplement) == (
        RejectionKind.INVALID,
        field,
        EARLY_SAID,
    )


def test_a_supplement_s_statement_follows_the_incident_as_its_corrections_leave_it():
    moved = {"field": "occurred_at", "value": at(1), "reason": "the dispatch log"}
    statement = {**STATEMENT, "person_id": "P1", "taken_at": EARLY}
    filed(people=[WITNESS]).step(FILE_SUPPLEMENT, OFFICER, {"corrections": [moved], "statements": [statement]})


@pytest.mark.parametrize("item", [PHOTO, HOSPITAL_RECORD])
def test_evidence_cannot_be_collected_before_the_incident(item):
    assert refused(filed(), ADD_EVIDENCE, OFFICER, {**item, "collected_at": EARLY}) == (
        RejectionKind.INVALID,
        "collected_at",
        EARLY_SAID,
    )


def test_the_incident_cannot_be_corrected_to_after_a_statement_taken():
    case = filed(people=[WITNESS])  # the statement at 07:25
    body = {"corrections": [{"field": "occurred_at", "value": at(26), "reason": "the dispatch log"}]}
    assert refused(case, FILE_SUPPLEMENT, OFFICER, body) == (
        RejectionKind.INVALID,
        "corrections[0].value",
        "must not be after P1's statement 1 (Mon 02 Mar 2026, 07:25 CST); it is dated Mon 02 Mar 2026, 07:26 CST",
    )
    case.step(FILE_SUPPLEMENT, OFFICER, {"corrections": [{**body["corrections"][0], "value": at(25)}]})


def test_the_incident_cannot_be_corrected_to_after_evidence_collected():
    case = filed()
    case.step(ADD_EVIDENCE, OFFICER, PHOTO)  # collected at 08:00
    body = {"corrections": [{"field": "occurred_at", "value": at(61), "reason": "the dispatch log"}]}
    assert refused(case, FILE_SUPPLEMENT, OFFICER, body) == (
        RejectionKind.INVALID,
        "corrections[0].value",
        "must not be after the collection of evidence item C1 (Mon 02 Mar 2026, 08:00 CST); it is dated "
        "Mon 02 Mar 2026, 08:01 CST",
    )


def test_a_recording_cannot_end_before_it_starts():
    body = filing()
    body["recordings"][0]["ended_at"] = "2026-03-02T06:59:00-06:00"
    with pytest.raises(ValidationError) as refusal:
        IncidentFiling.model_validate(body)
    error = refusal.value.errors()[0]
    assert error["loc"] == ("recordings", 0, "ended_at")
    assert error["msg"] == (
        "Value error, must not be before the recording's start (Mon 02 Mar 2026, 07:00 UTC-06:00); it is dated "
        "Mon 02 Mar 2026, 06:59 UTC-06:00"
    )


def test_a_moment_cited_in_a_recording_lies_within_it():
    proved = [dict(p) for p in PROVED]
    proved[0]["exhibits"] = [{"recording": CAMERA_1, "at": at(39)}]
    review = {**REFER, "subjects": [{**SUBJECT, "charges": [{"statute": BATTERY, "elements": proved}]}]}
    kind, field, message = refused(filed().investigated(), LEGAL_REVIEW, REVIEWER, review)
    assert (kind, field) == (RejectionKind.INVALID, "subjects[0].charges[0].elements[0].exhibits[0].at")
    assert message == (
        f"must be within camera {CAMERA_1}'s recording (Mon 02 Mar 2026, 07:00 CST to Mon 02 Mar 2026, 07:38 CST); "
        "it is dated Mon 02 Mar 2026, 07:39 CST"
    )


# --- nothing that happened in the future ----------------------------------------------------------------------

# The dates a request may give ahead of today, each for its reason; every other is a day or a time that has come.
AHEAD = {
    ("Hold", "retained_until"): "how long the footage is kept",
    ("Held", "review_by"): "the day a held subject is reviewed again",
    ("ChargingDecision", "grand_jury_date"): "the day a grand jury will sit",
    ("Exhibit", "at"): "a moment inside a recording, itself not in the future",
}


def _is_dated(annotation: Any) -> bool:
    if annotation is AwareDatetime or (isinstance(annotation, type) and issubclass(annotation, date)):
        return True
    return any(_is_dated(arg) for arg in get_args(annotation))


def _request_models() -> list[type[BaseModel]]:
    return [
        model
        for name in messages.__all__
        if isinstance(model := getattr(messages, name), type) and issubclass(model, BaseModel)
    ]


def test_every_date_a_request_records_is_checked_against_the_clock_on_arrival():
    seen = set()
    for model in _request_models():
        for name, field in model.model_fields.items():
            if not _is_dated(field.annotation):
                continue
            seen.add((model.__name__, name))
            marks = {type(mark) for mark, _, _ in _field_marks(field)}
            if (model.__name__, name) in AHEAD:
                assert _NotFuture not in marks and _NotFutureDay not in marks, (model.__name__, name)
            else:
                assert marks & {_NotFuture, _NotFutureDay}, f"{model.__name__}.{name} may be dated in the future"
    assert {
        ("RecordingIn", "ended_at"),
        ("StatementIn", "taken_at"),
        ("ReferralAcknowledgement", "received_at"),
    } <= seen
    assert set(AHEAD) <= seen
    assert _NotPast in {type(m) for m, _, _ in _field_marks(messages.Hold.model_fields["retained_until"])}


def test_an_acknowledgement_dated_tomorrow_is_refused_on_arrival_not_by_its_order():
    tomorrow = messages.ReferralAcknowledgement.model_validate({**ACK, "received_at": minutes(24 * 60)})
    assert [p["field"] for p in clock_problems(tomorrow, NOW)] == ["received_at"]
