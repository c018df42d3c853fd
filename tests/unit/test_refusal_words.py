"""A refusal in words (referrals/domain/refusal_words.py): the field by its label and its row counted from 1, what
would be accepted in the form's words, never a field path or an enum value; and the API's details carrying them."""

import re

import pytest
from pydantic import ValidationError

from referrals.api.errors import field_problems, problem, worded
from referrals.domain.messages import ChargingDecision, FilingRequest, SupervisorIdentification
from referrals.domain.refusal_words import moved, place, plain, pydantic_text, text_of, where

# What must never reach a person: a field path (`[0]`, `a.b`), an enum value (`not_met`).
MACHINE = re.compile(r"\[\d+\]|\b[a-z]+_[a-z_]+\b|\b[a-z_]+\.[a-z_]+\b")


def in_words(text: str) -> bool:
    return MACHINE.search(text) is None


@pytest.mark.parametrize(
    ("path", "rows", "field"),
    [
        ("court_case_number", "", "Court case number"),
        ("people[1].statements[0].taken_at", "Person 2, statement 1", "When it was taken"),
        ("recordings[0].ended_at", "Recording 1", "Ended at"),
        ("subjects[0]", "Subject 1", ""),
        ("subjects[2].authority.finding", "Subject 3", "Prong 1 finding"),
        ("subjects[0].necessary_and_proper.finding", "Subject 1", "Prong 2 finding"),
        ("injuries.description", "", "Injuries"),
        ("statements[1].camera_id", "Statement 2", "Recorded on"),
        ("holds[1].retained_until", "Recording hold 2", "Retained until"),
        ("corrections[0].value", "Correction 1", "Correct value"),
        ("federal_evidence[0].records[2].kind", "Federally held evidence 1, record 3", "Record"),
        ("people[P1].name", "Person P1", "Name"),
        ("some_new_field", "", "Some new field"),
    ],
)
def test_a_path_is_named_by_its_rows_and_its_label(path, rows, field):
    assert place(path) == (rows, field)


@pytest.mark.parametrize(
    ("path", "kind", "ctx", "says"),
    [
        ("people[1].statements[0].taken_at", "missing", None, "Person 2, statement 1: when it was taken is required"),
        ("recordings[0].ended_at", "datetime_parsing", None, "Recording 1: ended at must be a date and time"),
        (
            "outcome",
            "enum",
            {"expected": "'identified', 'refused' or 'not_present'"},
            "Outcome must be one of: Identified, Refused, Not present",
        ),
        ("occurred_at", "timezone_aware", None, "When it happened must be a date and time with its time zone"),
        ("received_on", "date_from_datetime_parsing", {"error": "x"}, "Received on must be a date"),
        ("injuries.ems_treated", "bool_parsing", None, "Treated by EMS must be yes or no"),
        ("summary", "string_too_long", {"max_length": 200}, "Summary must be at most 200 characters"),
        ("location", "string_too_short", {"min_length": 1}, "Location must not be blank"),
        ("officers", "too_short", {"min_length": 1}, "Officers on scene needs at least one"),
        ("extra", "extra_forbidden", None, "Extra is not a field of this form"),
        ("count", "greater_than_equal", {"ge": 0}, "Count must be at least 0"),
    ],
)
def test_pydantic_s_error_types_in_words(path, kind, ctx, says):
    text = pydantic_text(path, kind, ctx, "the library's message")
    assert text == says
    assert in_words(text)


@pytest.mark.parametrize(
    ("path", "message", "says"),
    [
        (
            "court_case_number",
            "is required when the decision is 'charged'",
            "Court case number is required when the decision is charged",
        ),
        (
            "subjects[0].finding",
            "with prong 1 'not_met' and prong 2 'not_met' the overall finding is 'not_immune'",
            "Subject 1, immunity finding for this subject: with prong 1 not met and prong 2 not met the overall "
            "finding is not immune",
        ),
        (
            "people",
            "people[0].statements[1].camera_id: camera 'BWC-1' is not among this filing's recordings",
            "Person 1, statement 2, recorded on: camera 'BWC-1' is not among this filing's recordings",
        ),
        (None, "the case is closed", "The case is closed"),
        ("body", "not readable as JSON", "Not readable as JSON"),
    ],
)
def test_a_domain_message_is_said_of_its_field_without_enum_values_or_paths(path, message, says):
    assert text_of(path, message) == says


def test_a_quoted_value_that_is_not_an_enum_value_is_left_as_typed():
    assert (
        plain("camera 'bwc' is not among this case's recordings") == "camera 'bwc' is not among this case's recordings"
    )
    assert plain("the decision is 'further_investigation'") == "the decision is further investigation"


def test_a_row_renumbered_for_the_form_renames_its_words():
    text = pydantic_text("statements[0].taken_at", "missing", None, "")
    assert (
        moved(text, "statements[0].taken_at", "statements[2].taken_at") == "Statement 3: when it was taken is required"
    )
    assert where("statements[2].taken_at") == "Statement 3: when it was taken"


def _errors(model, body) -> list[dict]:
    with pytest.raises(ValidationError) as refused:
        model.model_validate(body)
    return field_problems([{**e, "loc": ("body", *e["loc"])} for e in refused.value.errors()])


def test_the_api_s_details_keep_field_and_message_and_add_text_and_code():
    details = _errors(ChargingDecision, {"decision": "charged", "decided_at": "2026-03-02T10:00:00Z"})
    by_field = {d["field"]: d for d in details}
    court = by_field["court_case_number"]
    assert court["message"] == "is required when the decision is charged"
    assert court["code"] == "value_error"
    assert court["text"] == "Court case number is required when the decision is charged"
    assert all(set(d) == {"field", "message", "text", "code"} for d in details)


def test_an_enum_refusal_lists_the_form_s_words():
    [detail] = _errors(SupervisorIdentification, {"outcome": "maybe"})[:1]
    assert detail["code"] == "enum" and detail["field"] == "outcome"
    assert detail["text"] == "Outcome must be one of: Identified, Refused, Not present, Unknown"


def test_a_filing_s_statement_without_its_time_names_the_person_and_the_statement():
    body = {
        "occurred_at": "2026-03-02T10:00:00Z",
        "district": "010",
        "location": "x",
        "event_number": "1",
        "summary": "s",
        "narrative": "n",
        "officers": [{"name": "A", "star": "1"}],
        "people": [
            {"part": "victim", "name": "A"},
            {"part": "witness", "name": "B", "statements": [{"text": "t", "taken_by": "me"}]},
        ],
    }
    texts = {d["field"]: d["text"] for d in _errors(FilingRequest, body)}
    assert texts["people[1].statements[0].taken_at"] == "Person 2, statement 1: when it was taken is required"
    assert all(in_words(text) for text in texts.values()), texts


def test_details_built_anywhere_get_their_words():
    assert problem("district", "'10' is not a district", "policy") == {
        "field": "district",
        "message": "'10' is not a district",
        "text": "District: '10' is not a district",
        "code": "policy",
    }
    [detail] = worded([{"field": "q", "message": "NUL character"}])
    assert detail["text"] == "Q: NUL character" and detail["code"] == "invalid"
    assert worded({"field": "Idempotency-Key"}) == {"field": "Idempotency-Key"}


def test_a_step_s_form_may_label_a_field_its_own_way():
    assert place("outcome", "touhy_response") == ("", "Answer")
    assert moved("Outcome is required", "outcome", "outcome", "touhy_response") == "Answer is required"
    said = text_of("name", "is required when the outcome is identified")
    assert moved(said, "name", "name", "supervisor_identification") == (
        "Supervisor's name is required when the outcome is identified"
    )
    said = text_of("subjects[0].finding", "with prong 1 not met")
    assert moved(said, "subjects[0].finding", "subjects[2].finding") == (
        "Subject 3, immunity finding for this subject: with prong 1 not met"
    )


def test_a_refusal_naming_no_field_names_tasks_and_stages_in_words():
    assert text_of(None, "legal_review is not open: the case is in stage command_approval") == (
        "Legal review is not open: the case is in stage command approval"
    )
    assert plain("must not be before started_at") == "must not be before started at"
