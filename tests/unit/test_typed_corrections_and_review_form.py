"""Typed corrections (a correctable field's label, control and a value in words: referrals/domain/corrections.py,
`describe`, used by the desk and the documents alike), the supervisor chosen from the federal personnel, and the
legal review's form: subjects prefilled from the federal personnel, the overall finding the prongs determine, and an
element's exhibits ticked by key (referrals/web/prefill.py)."""

import copy
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from referrals.api.errors import ApiError
from referrals.documents import changes, exhibits
from referrals.documents.packet import _corrections
from referrals.documents.text import Clock
from referrals.domain import corrections
from referrals.domain.corrections import Kind, describe
from referrals.domain.messages import FederalPerson, LegalReviewIn
from referrals.domain.messages.review import SubjectAnalysis
from referrals.domain.steps import ADD_PERSON, FILE_SUPPLEMENT, LEGAL_REVIEW
from referrals.web import prefill, review_form
from referrals.web.forms import nest, yes_no
from tests.support.builders import (
    CHICAGO,
    OFFICER,
    REFER,
    SEALED,
    STATEMENT,
    SUBJECT,
    VICTIM,
    filed,
)

CHICAGO_TIME = ZoneInfo("America/Chicago")
TERMS = CHICAGO.words.terms()


# --- a correctable field: its label, its control, a value in words


@pytest.mark.parametrize(
    ("path", "value", "label", "kind", "shown"),
    [
        ("occurred_at", "2026-12-05T20:10:00Z", "When it happened", Kind.TIME, "Sat 05 Dec 2026, 14:10 CST"),
        ("occurred_at", "2026-07-04T12:00:00-05:00", "When it happened", Kind.TIME, "Sat 04 Jul 2026, 12:00 CDT"),
        ("ems_called", True, "EMS was called", Kind.YES_NO, "Yes"),
        ("injuries", False, "Someone was injured", Kind.YES_NO, "No"),
        ("location", "W 26th St & S Karlov Ave", "Location", Kind.TEXT, "W 26th St & S Karlov Ave"),
        ("event_number", "2603104513", "OEMC event number", Kind.TEXT, "2603104513"),
        ("narrative", "What happened.", "Narrative", Kind.LONG_TEXT, "What happened."),
        ("officers[0].star", "12346", "Officer 1: star", Kind.TEXT, "12346"),
        ("federal_personnel[1].agency", "CBP", "Federal person 2: agency", Kind.AGENCY, "CBP"),
        ("federal_personnel[0].badge", None, "Federal person 1: badge", Kind.TEXT, "not given"),
        ("people[P1].name", "Janet Roe", "P1: name", Kind.TEXT, "Janet Roe"),
        ("people[P1].part", "complainant", "P1: part in the incident", Kind.CHOICE, "Complainant"),
        ("people[P2].language", "es", "P2: preferred language", Kind.CHOICE, "Spanish"),
        ("people[P2].language", "es-MX", "P2: preferred language", Kind.CHOICE, "Spanish (MX)"),
        ("people[P1].interpreter", True, "P1: an interpreter was used", Kind.YES_NO, "Yes"),
    ],
)
def test_a_correctable_field_has_its_label_its_control_and_its_value_in_words(path, value, label, kind, shown):
    described = describe(path, value, CHICAGO_TIME, TERMS)
    assert (described.label, described.kind, described.shown) == (label, kind, shown)
    assert corrections.words(path, TERMS) == label


def test_a_list_s_choices_are_its_values_by_their_words():
    assert describe("people[P1].part").choices[0] == ("victim", "Victim")
    assert ("es", "Spanish") in describe("people[P1].language").choices
    assert describe("location").choices == ()


def test_a_time_reads_as_the_page_reads_it_and_a_path_not_understood_as_written():
    moment = datetime(2026, 1, 31, 19, 5, tzinfo=UTC)
    assert describe("occurred_at", moment, CHICAGO_TIME).shown == "Sat 31 Jan 2026, 13:05 CST"
    assert describe("occurred_at", "not a time", CHICAGO_TIME).shown == "not a time"
    assert describe("whatever[").label == "whatever["


def test_every_path_the_desk_offers_has_a_label_of_its_own():
    for path in corrections.correctable():
        assert "_" not in describe(path.replace("[i]", "[0]"), terms=TERMS).label, path


def test_the_documents_print_a_correction_as_the_desk_does():
    case = filed(people=[VICTIM]).later(days=1)
    case.step(
        FILE_SUPPLEMENT,
        OFFICER,
        {
            "corrections": [
                {"field": "occurred_at", "value": "2026-03-02T06:50:00-06:00", "reason": "the dispatch log"},
                {"field": "ems_called", "value": False, "reason": "EMS was not called"},
                {"field": "people[P1].part", "value": "complainant", "reason": "she complained"},
            ]
        },
    )
    clock = Clock.in_zone("America/Chicago")
    rows = _corrections(case.state, clock, TERMS)
    assert [(r["field"], r["old"], r["new"]) for r in rows] == [
        ("When it happened", "Mon 02 Mar 2026, 07:03 CST", "Mon 02 Mar 2026, 06:50 CST"),
        ("EMS was called", "Yes", "No"),
        ("P1: part in the incident", "Victim", "Complainant"),
    ]
    lines = changes.since(case.state, datetime(2026, 3, 1, tzinfo=UTC), clock, TERMS)
    assert "Corrected: When it happened, now Mon 02 Mar 2026, 06:50 CST (the dispatch log)." in lines
    assert "Corrected: EMS was called, now No (EMS was not called)." in lines


def test_a_typed_time_is_read_in_the_department_s_zone_and_a_yes_no_as_a_yes_or_no():
    sent = [
        ("corrections[0].field", "occurred_at"),
        ("corrections[0].value", "2026-03-02T06:50"),
        ("corrections[1].field", "ems_called"),
        ("corrections[1].value", "false"),
    ]
    body = yes_no(nest(sent, CHICAGO_TIME))
    assert body["corrections"][0]["value"] == "2026-03-02T06:50:00-06:00"
    assert body["corrections"][1]["value"] is False


def test_the_correction_form_offers_each_field_with_its_control():
    options, controls = prefill.correctable(
        [("occurred_at", "When it happened"), ("people[P1].part", "P1"), ("people[P1].language", "P1")],
        CHICAGO_TIME,
        TERMS,
    )
    assert [control for _, _, control in options] == ["time", "choice-part", "language"]
    assert set(controls) == {"time", "choice-part", "language"}


# --- the supervisor, chosen from the federal personnel

PERSONNEL = [
    FederalPerson(agency="ICE", name="J. Doe", badge="4411"),
    FederalPerson(agency="CBP", description="driver of the grey SUV"),
]


def test_the_supervisor_form_offers_the_federal_personnel_recorded():
    assert prefill.person_choices(PERSONNEL) == [
        ("0", "ICE: J. Doe, badge 4411", {"name": "J. Doe", "agency": "ICE", "badge": "4411"}),
        ("1", "CBP: driver of the grey SUV", {"name": "", "agency": "CBP", "badge": ""}),
    ]


def test_a_person_chosen_fills_what_was_left_blank_and_is_not_sent_to_the_api():
    sent = prefill.supervisor(
        [("outcome", "identified"), ("federal_person", "0"), ("name", ""), ("agency", ""), ("badge", "4412")],
        PERSONNEL,
    )
    assert sorted(sent) == [("agency", "ICE"), ("badge", "4412"), ("name", "J. Doe"), ("outcome", "identified")]
    assert prefill.supervisor([("outcome", "refused"), ("federal_person", "")], PERSONNEL) == [("outcome", "refused")]
    with pytest.raises(ApiError) as refused:
        prefill.supervisor([("federal_person", "7")], PERSONNEL)
    assert refused.value.details[0]["field"] == "federal_person"


def test_fill_in_shows_the_person_s_details_in_the_form():
    values = prefill.supervisor_values({"outcome": "identified", "federal_person": "0", "name": "x"}, PERSONNEL)
    assert (values["name"], values["agency"], values["badge"]) == ("J. Doe", "ICE", "4411")


# --- the legal review's form


def test_the_review_opens_with_one_subject_per_federal_person():
    assert prefill.review_subjects(PERSONNEL) == {
        "subjects[0].subject": "J. Doe, badge 4411",
        "subjects[0].agency": "ICE",
        "subjects[1].subject": "driver of the grey SUV",
        "subjects[1].agency": "CBP",
    }
    assert prefill.subject_words(FederalPerson(agency="FBI")) == "unidentified FBI agent"


def test_the_form_shows_the_finding_the_prongs_determine():
    assert prefill.finding_words("met", "met") == "Immune"
    assert prefill.finding_words("met", "not_met") == "Not immune"
    assert prefill.finding_words("disputed", "met") == "Disputed"
    assert prefill.finding_words("met", "") == ""
    assert len(prefill.findings()) == 9


def test_the_api_derives_the_overall_finding_when_it_is_left_out_and_refuses_one_that_contradicts():
    left_out = {k: v for k, v in SUBJECT.items() if k != "finding"}
    assert SubjectAnalysis.model_validate(left_out).finding == "not_immune"
    met = {
        **left_out,
        "authority": {**SUBJECT["authority"], "finding": "met"},
        "necessary_and_proper": {**SUBJECT["necessary_and_proper"], "finding": "met"},
    }
    assert SubjectAnalysis.model_validate(met).finding == "immune"
    assert SubjectAnalysis.model_validate(met).model_dump(mode="json")["finding"] == "immune"  # kept as before
    with pytest.raises(ValidationError) as refused:
        SubjectAnalysis.model_validate({**met, "finding": "not_immune"})
    assert "the overall finding is immune" in str(refused.value)
    # A prong missing is named alone: the finding it would determine adds no error of its own.
    with pytest.raises(ValidationError) as missing:
        SubjectAnalysis.model_validate({**left_out, "authority": {}})
    assert all(error["loc"][0] == "authority" for error in missing.value.errors())
    assert "finding" not in SubjectAnalysis.model_json_schema()["required"]


def test_the_case_s_citable_exhibits_by_key():
    case = filed(people=[VICTIM])
    case.step(
        ADD_PERSON,
        OFFICER,
        {"part": "witness", "name_withheld": "declined", "contact": SEALED, "statements": [STATEMENT]},
    )
    assert exhibits.citable(case.state) == {
        "A1": {"recording": case.state.recordings[0].camera_id},
        "A2": {"recording": case.state.recordings[1].camera_id},
        "S2.1": {"statement": {"person": 2, "number": 1}},
    }


def test_an_element_s_exhibits_ticked_by_key_are_sent_as_the_api_takes_them():
    citable = {
        "A1": {"recording": "X6031234"},
        "C2": {"evidence": 2},
        "S2.1": {"statement": {"person": 2, "number": 1}},
    }
    element = "subjects[0].charges[0].elements[1]"
    fields = [
        ("subjects[0].charges[0].statute", "720 ILCS 5/12-3"),
        (f"{element}.facts", "Abrasions to both palms."),
        (f"{element}.exhibits", "A1"),
        (f"{element}.exhibits", "S2.1"),
        ("subjects[0].charges[0].elements[0].exhibits", "C2"),  # an exhibit without facts: numbered, refused for them
    ]
    sent = review_form.legal_review(prefill.cite_exhibits(fields, citable))
    body = nest(sent, CHICAGO_TIME)
    proofs = body["subjects"][0]["charges"][0]["elements"]
    assert proofs[1] == {
        "facts": "Abrasions to both palms.",
        "element": "2",
        "exhibits": [{"recording": "X6031234"}, {"statement": {"person": "2", "number": "1"}}],
    }
    assert proofs[0] == {"element": "1", "exhibits": [{"evidence": "2"}]}
    with pytest.raises(ApiError) as refused:
        prefill.cite_exhibits([(f"{element}.exhibits", "B1")], citable)
    assert refused.value.details[0]["field"] == f"{element}.exhibits"
    # A refusal naming one exhibit lands beside the element's boxes.
    assert review_form.in_form(f"{element}.exhibits[1].statement.number", sent) == f"{element}.exhibits"


def test_a_review_from_the_desk_cites_exhibits_and_needs_no_finding():
    case = filed(people=[VICTIM])
    subject = copy.deepcopy({k: v for k, v in SUBJECT.items() if k != "finding"})
    subject["charges"][0]["elements"][0]["exhibits"] = [{"recording": case.state.recordings[0].camera_id}]
    review = LegalReviewIn.model_validate({**REFER, "subjects": [subject]})
    assert review.subjects[0].finding == "not_immune" and review.charged_subjects()
    # A subject section holding only what was prefilled is left out, as a blank one is.
    assert LEGAL_REVIEW.rows == (("subjects", frozenset({"subject", "agency"})),)
