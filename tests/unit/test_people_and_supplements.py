"""Steps taken at any open stage: a person involved added; a supplementary report filed (new recordings, people,
statements, federal personnel, and corrections of filed facts that keep the old value beside the new)."""

from datetime import timedelta

import pytest

from referrals.domain.enums import DocumentKind, Role, Stage, TaskStatus
from referrals.domain.errors import RejectionKind
from referrals.domain.messages import Step
from referrals.domain.steps import ADD_PERSON, FILE_SUPPLEMENT, FOOTAGE_HOLD
from tests.support.builders import (
    CAMERA_1,
    CUSTODIAN,
    FILING,
    HOLD_1,
    HOLD_2,
    NEW_CAMERA,
    NOW,
    OFFICER,
    RECORDED,
    REVIEWER,
    SEALED,
    STATEMENT,
    SUPERVISOR,
    VICTIM,
    WITNESS,
    actor,
    filed,
)


def with_victim():
    return filed(people=[VICTIM])


def correction(field: str, value, reason: str = "typed wrong at filing") -> dict:
    return {"corrections": [{"field": field, "value": value, "reason": reason}]}


# --- add_person -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", [OFFICER, SUPERVISOR, REVIEWER])
def test_those_who_take_statements_add_a_person(who):
    case = with_victim()
    case.step(ADD_PERSON, who, {**WITNESS, "contact": SEALED})
    added = case.state.people[-1]
    assert (added.id, added.part, added.name_withheld, added.added_by.id, added.added_at) == (
        "P2",
        "witness",
        "declined",
        who.user_id,
        NOW,
    )
    assert added.contact.key_id == "k1"  # sealed as it came
    assert case.state.stage == Stage.INVESTIGATION  # adding a person completes no task
    assert ADD_PERSON.documents(case.state) == []


@pytest.mark.parametrize("role", [Role.EVIDENCE_CUSTODIAN, Role.COMMAND, Role.PROSECUTOR_LIAISON, Role.AUDITOR])
def test_no_one_else_adds_a_person(role):
    refused = with_victim().refusal(ADD_PERSON, actor(role), WITNESS)
    assert (refused.kind, refused.message) == (
        RejectionKind.FORBIDDEN,
        "add_person needs the role legal_reviewer or officer or supervisor",
    )


def test_people_are_numbered_in_the_order_they_were_added():
    case = filed()
    for body in (VICTIM, WITNESS, {"part": "bystander", "name_withheld": "unknown"}):
        case.step(ADD_PERSON, OFFICER, body)
    assert [p.id for p in case.state.people] == ["P1", "P2", "P3"]


def test_a_statement_names_a_camera_of_the_case():
    recorded = {**STATEMENT, "camera_id": CAMERA_1}
    body = {**WITNESS, "statements": [recorded, {**STATEMENT, "camera_id": "X0000000"}]}
    refused = with_victim().refusal(ADD_PERSON, OFFICER, body)
    assert (refused.kind, refused.field, refused.message) == (
        RejectionKind.INVALID,
        "statements[1].camera_id",
        "camera 'X0000000' is not among this case's recordings",
    )


def test_a_person_may_be_added_in_the_prosecution_too():
    case = with_victim().in_prosecution()
    case.step(ADD_PERSON, REVIEWER, WITNESS)
    assert len(case.state.people) == 2


# --- file_supplement: who and when ----------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.EVIDENCE_CUSTODIAN, Role.LEGAL_REVIEWER, Role.COMMAND, Role.AUDITOR])
def test_only_an_officer_or_supervisor_files_a_supplement(role):
    refused = with_victim().refusal(FILE_SUPPLEMENT, actor(role), {"narrative": "x"})
    assert (refused.kind, refused.message) == (
        RejectionKind.FORBIDDEN,
        "file_supplement needs the role officer or supervisor",
    )


@pytest.mark.parametrize(
    ("name", "says"), [("add_person", "nobody can be added"), ("file_supplement", "it takes no supplement")]
)
def test_a_closed_case_takes_no_one_and_nothing_new(name, says):
    spec = ADD_PERSON if name == "add_person" else FILE_SUPPLEMENT
    body = WITNESS if name == "add_person" else {"narrative": "late"}
    refused = with_victim().withdrawn().refusal(spec, OFFICER, body)
    assert (refused.kind, refused.message) == (RejectionKind.CONFLICT, f"the case is closed (withdrawn); {says}")


def test_supplements_are_numbered_and_keep_who_filed_them():
    case = with_victim()
    assert case.step(FILE_SUPPLEMENT, OFFICER, {"narrative": "Canvass done."}) == {
        "narrative": "Canvass done.",
        "recordings": [],
        "statements": [],
        "federal_personnel": [],
        "corrections": [],
        "people": [],
        "supplement": 1,
    }
    assert case.later(days=1).step(FILE_SUPPLEMENT, SUPERVISOR, {"narrative": "More."})["supplement"] == 2
    second = case.state.supplements[1]
    assert (second.by.id, second.at, second.payload.narrative) == (SUPERVISOR.user_id, NOW + timedelta(days=1), "More.")


# --- file_supplement: what it adds ----------------------------------------------------------------------------


def test_checking_a_supplement_changes_nothing_of_the_case_it_is_tried_on():
    """The check tries the supplement on a copy of what it changes (the rest of the case shared): every kind of
    change a supplement makes, tried, leaves the case as it was; taken, the case is what the trial was."""
    case = with_victim()
    case.step(FOOTAGE_HOLD, CUSTODIAN, {"holds": [HOLD_1, HOLD_2]})
    body = {
        "narrative": "A second camera; the victim's statement; the agents' driver; three facts corrected.",
        "recordings": [NEW_CAMERA],
        "people": [WITNESS],
        "statements": [{**STATEMENT, "person_id": "P1"}],
        "federal_personnel": [{"agency": "CBP", "description": "driver of the grey SUV"}],
        "corrections": [
            {"field": "location", "value": "W 26th St & S Karlov Ave", "reason": "the next block"},
            {"field": "officers[0].star", "value": "12346", "reason": "typed wrong at filing"},
            {"field": "people[P1].name", "value": "Janet Roe", "reason": "spelt from her ID"},
        ],
    }
    before = case.state.model_dump()
    step = Step(actor=OFFICER, payload=FILE_SUPPLEMENT.workflow_payload.model_validate(body))
    FILE_SUPPLEMENT.validate(case.state, step, case.policy)
    assert case.state.model_dump() == before
    case.step(FILE_SUPPLEMENT, OFFICER, body)
    assert case.state.details.location == "W 26th St & S Karlov Ave" and case.state.people[0].name == "Janet Roe"
    assert case.state.tasks["footage_hold"].status == TaskStatus.OPEN
    assert len(case.state.people[0].statements) == len(before["people"][0]["statements"]) + 1


def test_a_new_recording_reopens_the_hold_for_it_alone():
    case = with_victim()
    case.step(FOOTAGE_HOLD, CUSTODIAN, {"holds": [HOLD_1, HOLD_2]})
    assert case.state.tasks["footage_hold"].status == TaskStatus.DONE
    case.later(hours=5).step(FILE_SUPPLEMENT, OFFICER, {"recordings": [NEW_CAMERA]})
    new = case.state.recording("X6035555")
    assert new.purge_at == RECORDED + timedelta(minutes=1, days=730) and not new.held
    footage = case.state.tasks["footage_hold"]
    assert (footage.status, footage.opened_at, footage.due_at) == (
        TaskStatus.OPEN,
        case.now,
        case.now + timedelta(hours=24),
    )
    assert all(r.held for r in case.state.recordings if r.camera_id != "X6035555")
    case.step(FOOTAGE_HOLD, CUSTODIAN, {"holds": [{**HOLD_1, "camera_id": "X6035555"}]})
    assert footage.status == TaskStatus.DONE


def test_a_recording_near_its_purge_date_brings_the_open_hold_forward():
    case = with_victim()
    old = {**NEW_CAMERA, "started_at": (NOW - timedelta(days=85)).isoformat(), "flag_reasons": []}
    old["ended_at"] = old["started_at"]
    case.later(hours=2).step(FILE_SUPPLEMENT, OFFICER, {"recordings": [old]})
    # Unflagged, started 85 days before filing: purged 5 days after filing, so the hold was due 2 days before it.
    assert case.state.tasks["footage_hold"].due_at == NOW - timedelta(days=85) + timedelta(days=90 - 7)
    assert case.state.tasks["footage_hold"].opened_at == NOW  # still the filing's task


def test_a_recording_already_in_the_case_is_not_added_again():
    refused = with_victim().refusal(FILE_SUPPLEMENT, OFFICER, {"recordings": [{**NEW_CAMERA, "camera_id": CAMERA_1}]})
    assert (refused.kind, refused.field, refused.message) == (
        RejectionKind.INVALID,
        "recordings[0].camera_id",
        f"camera '{CAMERA_1}' is already in this case",
    )


def test_a_new_recording_s_flags_are_the_case_policy_s():
    body = {"recordings": [{**NEW_CAMERA, "flag_reasons": ["use_of_force", "looked_suspicious"]}]}
    refused = with_victim().refusal(FILE_SUPPLEMENT, OFFICER, body)
    assert (refused.kind, refused.field) == (RejectionKind.INVALID, "recordings[0].flag_reasons[1]")
    assert refused.message.startswith("'looked_suspicious' is not a recording flag of this policy (one of: complaint,")


def test_statements_of_people_already_in_the_case_are_added_to_theirs():
    case = with_victim()
    added = {**STATEMENT, "person_id": "P1", "camera_id": "X6035555", "text": "He did not say who he was."}
    case.step(FILE_SUPPLEMENT, OFFICER, {"recordings": [NEW_CAMERA], "statements": [added]})
    assert [s.text for s in case.state.people[0].statements] == ["He did not say who he was."]
    assert case.state.people[0].statements[0].camera_id == "X6035555"  # a camera the same supplement adds


def test_a_statement_names_a_person_of_the_case():
    refused = with_victim().refusal(FILE_SUPPLEMENT, OFFICER, {"statements": [{**STATEMENT, "person_id": "P7"}]})
    assert (refused.kind, refused.field, refused.message) == (
        RejectionKind.INVALID,
        "statements[0].person_id",
        "no person 'P7' in this case",
    )


def test_a_statement_names_a_camera_of_the_case_or_of_the_supplement():
    body = {"statements": [{**STATEMENT, "person_id": "P1", "camera_id": "X0000000"}]}
    refused = with_victim().refusal(FILE_SUPPLEMENT, OFFICER, body)
    assert (refused.field, refused.message) == (
        "statements[0].camera_id",
        "camera 'X0000000' is not among this case's recordings",
    )
    body = {"people": [WITNESS, {**WITNESS, "statements": [STATEMENT, {**STATEMENT, "camera_id": "X0000000"}]}]}
    refused = with_victim().refusal(FILE_SUPPLEMENT, OFFICER, body)
    assert refused.field == "people[1].statements[1].camera_id"


def test_new_people_and_federal_personnel_are_added():
    case = with_victim()
    body = {"people": [WITNESS], "federal_personnel": [{"agency": "CBP", "description": "driver of the grey SUV"}]}
    case.step(FILE_SUPPLEMENT, OFFICER, body)
    assert [(p.id, p.added_by.id) for p in case.state.people] == [("P1", OFFICER.user_id), ("P2", OFFICER.user_id)]
    assert [f.agency for f in case.state.details.federal_personnel] == ["ICE", "CBP"]


def test_a_supplement_cannot_take_the_case_past_what_a_filing_may_hold():
    refused = with_victim().refusal(FILE_SUPPLEMENT, OFFICER, {"federal_personnel": [{"agency": "ICE"}] * 100})
    assert (refused.kind, refused.field, refused.message) == (
        RejectionKind.INVALID,
        "federal_personnel",
        "the case would hold 101 of these; it may hold at most 100",
    )
    case = with_victim()
    case.step(FILE_SUPPLEMENT, OFFICER, {"federal_personnel": [{"agency": "ICE"}] * 99})
    assert len(case.state.details.federal_personnel) == 100


def test_a_person_s_statements_are_capped_as_at_filing():
    case = filed(people=[{**VICTIM, "statements": [STATEMENT] * 50}])
    refused = case.refusal(FILE_SUPPLEMENT, OFFICER, {"statements": [{**STATEMENT, "person_id": "P1"}]})
    assert (refused.field, refused.message) == ("statements", "the case would hold 51 of these; it may hold at most 50")


# --- file_supplement: corrections -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "old", "new"),
    [
        ("location", "W 26th St & S Karlov Ave", "W 26th St & S Pulaski Rd", "W 26th St & S Karlov Ave"),
        ("summary", "  Agents detained two people  ", FILING["summary"], "Agents detained two people"),
        ("occurred_at", "2026-03-02T07:00:00-06:00", "2026-03-02T13:03:00Z", "2026-03-02T07:00:00-06:00"),
        ("injuries", False, True, False),
        ("ems_called", False, True, False),
        ("event_number", "2603104513", "2603104512", "2603104513"),
        ("officers[0].star", "12346", "12345", "12346"),
        ("officers[0].name", "P.O. Anna Ruiz", "P.O. Ana Ruiz", "P.O. Anna Ruiz"),
        ("federal_personnel[0].agency", "CBP", "ICE", "CBP"),
        ("federal_personnel[0].badge", "77", None, "77"),
        ("people[P1].name", "Janet Roe", "Jane Roe", "Janet Roe"),
        ("people[P1].language", "pl", "es", "pl"),
        ("people[P1].part", "complainant", "victim", "complainant"),
    ],
)
def test_a_correction_shows_the_new_value_and_keeps_the_old(field, value, old, new):
    case = with_victim().later(days=3)
    data = case.step(FILE_SUPPLEMENT, SUPERVISOR, correction(field, value))
    assert data["corrected"] == [{"field": field, "old": old, "new": new}]
    (kept,) = case.state.corrections
    assert (kept.field, kept.old, kept.new, kept.reason, kept.by.id, kept.at, kept.supplement) == (
        field,
        old,
        new,
        "typed wrong at filing",
        SUPERVISOR.user_id,
        NOW + timedelta(days=3),
        1,
    )


def test_the_case_shows_the_corrected_facts():
    case = with_victim()
    body = {
        "corrections": [
            {"field": "location", "value": "W 26th St & S Karlov Ave", "reason": "the next block"},
            {"field": "officers[0].star", "value": "12346", "reason": "typed wrong"},
            {"field": "people[P1].name", "value": "Janet Roe", "reason": "spelt from her ID"},
        ]
    }
    case.step(FILE_SUPPLEMENT, OFFICER, body)
    assert case.state.details.location == "W 26th St & S Karlov Ave"
    assert case.state.details.officers[0].star == "12346"
    assert case.state.people[0].name == "Janet Roe"
    assert [c.field for c in case.state.corrections] == ["location", "officers[0].star", "people[P1].name"]


def test_corrections_of_one_field_apply_one_after_another():
    case = with_victim()
    body = {
        "corrections": [
            {"field": "location", "value": "first", "reason": "a"},
            {"field": "location", "value": "second", "reason": "b"},
        ]
    }
    data = case.step(FILE_SUPPLEMENT, OFFICER, body)
    assert [(c["old"], c["new"]) for c in data["corrected"]] == [
        ("W 26th St & S Pulaski Rd", "first"),
        ("first", "second"),
    ]


@pytest.mark.parametrize(
    ("field", "why"),
    [
        ("hair_colour", None),
        ("district", None),  # it decides who sees the case: withdraw and file again instead
        ("people[P1].contact", None),  # contact details travel sealed: add the person again
        ("officers[5].star", "officers has 1 entries"),
        ("officers[x].star", "officers has 1 entries"),
        ("federal_personnel[1].agency", "federal_personnel has 1 entries"),
        ("people[P9].name", "no person P9 in this case"),
        ("recordings[0].camera_id", None),
    ],
)
def test_a_field_that_cannot_be_corrected_is_named(field, why):
    refused = with_victim().refusal(FILE_SUPPLEMENT, OFFICER, correction(field, "x"))
    assert (refused.kind, refused.field) == (RejectionKind.INVALID, "corrections[0].field")
    if why:
        assert refused.message == f"'{field}' is not a field that can be corrected ({why})"
    else:
        assert refused.message.startswith(f"'{field}' is not a field that can be corrected; one of: occurred_at, ")
        assert "officers[i].star" in refused.message and "people[P1].name" in refused.message


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("officers[0].star", "", "String should have at least 1 character"),
        ("occurred_at", "yesterday", "Input should be a valid datetime"),
        ("occurred_at", "2026-03-02T07:00:00", "Input should have timezone info"),
        ("occurred_at", "1899-12-31T12:00:00Z", "must not be before 1900"),
        ("people[P1].name_withheld", "declined", "is only for a person without a name"),
        ("people[P1].name", None, "give the person's name, or say why there is none: declined or unknown"),
        ("people[P1].part", "suspect", "Input should be 'victim', 'witness', 'complainant', 'bystander' or 'other'"),
        ("injuries", "yes", "Input should be a valid boolean"),
        ("location", "x" * 501, "String should have at most 500 characters"),
        ("narrative", "bad\x00byte", "must not contain NUL characters"),
    ],
)
def test_a_correction_s_value_is_checked_as_the_field_it_corrects(field, value, says):
    refused = with_victim().refusal(FILE_SUPPLEMENT, OFFICER, correction(field, value))
    assert (refused.kind, refused.field) == (RejectionKind.INVALID, "corrections[0].value")
    assert refused.message.startswith("not a valid value: ") and says in refused.message


def test_a_bad_correction_after_good_ones_refuses_the_whole_supplement():
    case = with_victim()
    body = {
        "narrative": "Put right.",
        "corrections": [
            {"field": "location", "value": "W 26th St & S Karlov Ave", "reason": "a"},
            {"field": "officers[0].star", "value": "", "reason": "b"},
        ],
    }
    refused = case.refusal(FILE_SUPPLEMENT, OFFICER, body)  # (the case is checked unchanged by `refusal`)
    assert refused.field == "corrections[1].value"


# --- file_supplement: documents -------------------------------------------------------------------------------


def test_a_supplement_asks_for_a_preservation_request_when_it_adds_recordings():
    case = with_victim()
    case.make_documents()
    case.step(FILE_SUPPLEMENT, OFFICER, {"narrative": "Canvass done."})
    assert FILE_SUPPLEMENT.documents(case.state) == []
    case.step(FILE_SUPPLEMENT, OFFICER, {"recordings": [NEW_CAMERA]})
    assert FILE_SUPPLEMENT.documents(case.state) == [DocumentKind.PRESERVATION_REQUEST]


def test_once_a_packet_is_asked_for_or_made_a_supplement_asks_for_its_next_version():
    case = with_victim().investigated().reviewed().approved()
    assert DocumentKind.REFERRAL_PACKET in case.state.documents_pending  # asked for, not yet made
    case.step(FILE_SUPPLEMENT, OFFICER, {"narrative": "Medical records arrived."})
    assert FILE_SUPPLEMENT.documents(case.state) == [DocumentKind.REFERRAL_PACKET]
    made = case.make_documents()
    assert [(d.kind, d.version) for d in made if d.kind == DocumentKind.REFERRAL_PACKET] == [
        (DocumentKind.REFERRAL_PACKET, 1),
        (DocumentKind.REFERRAL_PACKET, 2),
    ]
    case.step(FILE_SUPPLEMENT, OFFICER, {"recordings": [NEW_CAMERA]})
    assert FILE_SUPPLEMENT.documents(case.state) == [DocumentKind.PRESERVATION_REQUEST, DocumentKind.REFERRAL_PACKET]


def test_before_any_packet_a_supplement_asks_for_none():
    case = with_victim().investigated().reviewed()
    case.step(FILE_SUPPLEMENT, OFFICER, correction("location", "W 26th St & S Karlov Ave"))
    assert DocumentKind.REFERRAL_PACKET not in FILE_SUPPLEMENT.documents(case.state)
