"""A disposition for each federal subject (referred, held back until a day, not charged), a held subject's later
review, and element proofs that cite any exhibit of the case; and how the packet's cover, timelines and exhibits
print them."""

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from referrals.documents import packet
from referrals.documents.render import FOLDER, render
from referrals.domain import steps
from referrals.domain.enums import DocumentKind, Task, TaskStatus
from referrals.domain.errors import RejectionKind
from referrals.domain.events import Letterhead
from referrals.domain.messages import REFER_NEEDS, LegalReviewIn
from referrals.domain.steps import CHARGING_DECISION, HELD_SUBJECT_REVIEW, LEGAL_REVIEW
from referrals.store.tables import CaseEventRow
from tests.support.builders import (
    BATTERY,
    CAMERA_1,
    CHARGED,
    HOSPITAL_RECORD,
    LIAISON,
    NOW,
    OFFICER,
    PROVED,
    REFER,
    REVIEWER,
    STATEMENT,
    SUBJECT,
    WITNESS,
    at,
    filed,
)
from tests.support.documents import all_text, log_after, open_docx

HELD = {
    **SUBJECT,
    "subject": "agent in black jacket",
    "agency": "CBP",
    "disposition": "held",
    "held": {"awaiting": "CBP's answer to Touhy request T1: its agents' recordings", "review_by": "2026-04-20"},
}
REFER_ONE_HOLD_ONE = {**REFER, "subjects": [SUBJECT, HELD]}


def reviewed(review: dict = REFER_ONE_HOLD_ONE):
    case = filed(people=[WITNESS]).investigated()
    case.step(LEGAL_REVIEW, REVIEWER, review)
    return case


def packet_text(case, version: int = 1, events: list | None = None) -> str:
    ctx = packet.referral_packet(case.state, Letterhead.of(case.policy), case.now, events or [], version, {})
    return all_text(open_docx(render(FOLDER / "referral_packet.docx", ctx)))


# --- dispositions -----------------------------------------------------------------------------------------------


def test_a_held_subject_is_not_referred_and_their_review_day_is_a_deadline():
    case = reviewed()
    assert case.state.referred_subjects() == [SUBJECT["subject"]]
    assert [s.subject for s in case.state.held_subjects()] == ["agent in black jacket"]
    task = case.state.tasks[Task.HELD_SUBJECT_REVIEW]
    # The end of 20 April 2026 in Chicago (CDT, UTC-5).
    assert (task.status, task.due_at) == (TaskStatus.OPEN, datetime(2026, 4, 21, 5, 0, tzinfo=UTC))


def test_the_charging_decision_offers_only_referred_subjects():
    case = reviewed().approved().acknowledged()
    body = {**CHARGED, "charges": [{"subject": "agent in black jacket", "statutes": [BATTERY]}]}
    refused = case.refusal(CHARGING_DECISION, LIAISON, body)
    assert refused.kind == RejectionKind.INVALID and "agent in black jacket" in refused.message


def test_refer_needs_a_referred_subject_not_only_held_ones():
    with pytest.raises(ValidationError) as refused:
        LegalReviewIn.model_validate({**REFER, "subjects": [HELD]})
    assert REFER_NEEDS in str(refused.value)


@pytest.mark.parametrize(
    ("subject", "where", "says"),
    [
        ({**HELD, "held": None}, ("subjects", 1, "held"), "is required when the disposition is held"),
        ({**SUBJECT, "held": HELD["held"]}, ("subjects", 1, "held"), "applies only when the disposition is held"),
        ({**SUBJECT, "charges": [], "disposition": "referred"}, ("subjects", 1, "disposition"), "at least one charge"),
    ],
)
def test_a_disposition_is_refused_naming_its_field(subject, where, says):
    with pytest.raises(ValidationError) as refused:
        LegalReviewIn.model_validate({**REFER, "subjects": [SUBJECT, subject]})
    error = refused.value.errors()[0]
    assert error["loc"] == where and says in error["msg"]


def test_a_decline_holds_or_refers_no_one():
    with pytest.raises(ValidationError) as refused:
        LegalReviewIn.model_validate({"decision": "decline", "rationale": "No.", "subjects": [HELD]})
    assert "the disposition held applies only when the decision is refer" in str(refused.value)


def test_a_held_subject_referred_later_joins_the_referral_and_makes_its_next_version():
    case = reviewed().approved()
    case.make_documents()
    case.later(days=10)
    case.step(
        HELD_SUBJECT_REVIEW,
        REVIEWER,
        {"subject": "agent in black jacket", "disposition": "referred", "rationale": "CBP's video shows the blow."},
    )
    assert case.state.referred_subjects() == [SUBJECT["subject"], "agent in black jacket"]
    assert case.state.tasks[Task.HELD_SUBJECT_REVIEW].status == TaskStatus.DONE
    assert case.state.documents_pending == [DocumentKind.REFERRAL_PACKET]
    text = packet_text(case, version=2)
    assert "This version 2 supersedes version 1 of March 2, 2026. What changed since:" in text
    assert "agent in black jacket, held back from the earlier version, reviewed by" in text
    assert "now referred" in text


def test_only_a_held_subject_is_reviewed_again():
    refused = reviewed().refusal(
        HELD_SUBJECT_REVIEW, REVIEWER, {"subject": SUBJECT["subject"], "disposition": "not_charged", "rationale": "x"}
    )
    assert (refused.field, refused.message) == (
        "subject",
        f"'{SUBJECT['subject']}' is not a held subject of this case (agent in black jacket)",
    )


def test_a_subject_held_again_moves_the_deadline_and_starts_its_ladder_afresh():
    case = reviewed()
    case.state.tasks[Task.HELD_SUBJECT_REVIEW].escalation_level = 1
    held = {"awaiting": "the laboratory's report", "review_by": "2026-05-29"}
    case.step(
        HELD_SUBJECT_REVIEW,
        REVIEWER,
        {"subject": "agent in black jacket", "disposition": "held", "held": held, "rationale": "Still waiting."},
    )
    task = case.state.tasks[Task.HELD_SUBJECT_REVIEW]
    assert (task.due_at, task.escalation_level) == (datetime(2026, 5, 30, 5, 0, tzinfo=UTC), 0)


# --- exhibits ---------------------------------------------------------------------------------------------------


def citing(*exhibits: dict, element: int = 0) -> dict:
    proved = [dict(p) for p in PROVED]
    proved[element]["exhibits"] = list(exhibits)
    return {**REFER, "subjects": [{**SUBJECT, "charges": [{"statute": BATTERY, "elements": proved}]}]}


@pytest.mark.parametrize(
    ("exhibit", "field", "message"),
    [
        ({"recording": "X0000000"}, "recording", "no recording from camera X0000000 on this case"),
        ({"recording": CAMERA_1, "at": at(90)}, "at", f"must be within camera {CAMERA_1}'s recording"),
        ({"statement": {"person": 9, "number": 1}}, "statement.person", "no person P9 on this case"),
        ({"statement": {"person": 1, "number": 2}}, "statement.number", "P1 has 1 statement(s) on this case"),
        ({"touhy": "T2"}, "touhy", "no Touhy request T2 on this case"),
    ],
)
def test_an_exhibit_not_in_the_case_is_refused_naming_the_field(exhibit, field, message):
    refused = filed(people=[WITNESS]).investigated().refusal(LEGAL_REVIEW, REVIEWER, citing(exhibit))
    assert refused.field == f"subjects[0].charges[0].elements[0].exhibits[0].{field}"
    assert refused.message.startswith(message)


def test_an_element_proved_by_a_recording_at_a_time_prints_its_exhibit_and_time():
    case = filed(people=[WITNESS]).investigated()
    case.step(steps.ADD_EVIDENCE, OFFICER, HOSPITAL_RECORD)
    review = citing(
        {"recording": CAMERA_1, "at": at(9)},
        {"evidence": 1},
        {"statement": {"person": 1, "number": 1}},
        {"touhy": "T1"},
    )
    review["federal_evidence"] = [
        {"agency": "ICE", "records": [{"kind": "body_camera", "description": "Recordings", "relevance": "The blow."}]}
    ]
    case.step(LEGAL_REVIEW, REVIEWER, review)
    case.approved().make_documents()
    # 13:09 UTC is 07:09 in Chicago (CST): the recording's exhibit, the moment, then the others.
    doc = open_docx(render(FOLDER / "referral_packet.docx", _ctx(case)))
    element_tables = [
        t for t in doc.tables if [c.text for c in t.rows[0].cells] == ["No.", "Element", "Facts", "Exhibits"]
    ]
    cells = [[c.text for c in row.cells] for row in element_tables[0].rows]
    assert cells[1][3] == "A1 at 07:09:00; C1; S1.1; T1"
    assert cells[2][3] == "No exhibit cited"
    packet_doc = open_docx(render(FOLDER / "referral_packet.docx", _ctx(case)))
    listed = [row[0] for row in log_after(packet_doc, "Exhibits", by=False)]
    assert {"A1", "A2", "B1", "C1", "S1.1", "T1"} <= set(listed)


def _ctx(case):
    return packet.referral_packet(case.state, Letterhead.of(case.policy), case.now, [], 1, {})


# --- the cover memo, the timelines ------------------------------------------------------------------------------


def test_the_cover_names_who_is_referred_for_what_and_who_is_held_back():
    case = reviewed().approved()
    text = packet_text(case)
    cover = text[: text.index("2. Incident summary", text.index("1. Cover memo") + 20)]
    assert "Referred for charging review:" in cover
    assert f"{SUBJECT['subject']} (ICE): 720 ILCS 5/12-3 (Battery). Immunity finding: not immune." in cover
    assert "Held back, not referred in this version:" in cover
    assert "agent in black jacket (CBP): held back from the referral, awaiting CBP's answer" in cover
    assert "to be reviewed again by April 20, 2026" in cover
    assert "Approved by" in cover and "\u201cApproved for referral.\u201d" in cover
    assert "No Touhy request was made" in cover
    assert "Charges the legal reviewer supports" not in text


def test_a_later_version_says_what_changed_not_a_stock_sentence():
    case = reviewed(REFER).approved()
    case.make_documents()
    case.later(days=3)
    case.step(steps.ADD_EVIDENCE, OFFICER, HOSPITAL_RECORD)
    case.step(steps.FILE_SUPPLEMENT, OFFICER, {"statements": [{**STATEMENT, "person_id": "P1"}]})
    text = packet_text(case, version=2)
    assert "Evidence added: C1, Medical record: ER notes." in text
    assert "Statement of P1 added (S1.2)." in text
    assert "supplementary reports below found or corrected" not in text


def test_the_incident_timeline_is_the_incident_and_the_history_an_appendix():
    case = reviewed(REFER).approved()
    events = [
        CaseEventRow(
            case_id="c-1",
            seq=n,
            kind=kind,
            actor_name="Someone",
            at=NOW + timedelta(minutes=n),
            data=data,
            prev_hash="",
            hash="",
        )
        for n, (kind, data) in enumerate(
            [
                ("case_filed", {}),
                ("document_generated", {"kind": "preservation_request", "version": 1}),
                ("legal_review_decided", {"decision": "refer"}),
            ],
            1,
        )
    ]
    doc = open_docx(
        render(
            FOLDER / "referral_packet.docx",
            packet.referral_packet(case.state, Letterhead.of(case.policy), case.now, events, 1, {}),
        )
    )
    timeline = log_after(doc, "Incident timeline", by=False)
    # In time order: the two cameras started recording before the blow.
    assert [row[1].split(" ")[0:2] for row in timeline[0:3]] == [
        ["Camera", CAMERA_1],
        ["Camera", "X6039999"],
        ["The", "incident,"],
    ]
    assert timeline[0][1] == f"Camera {CAMERA_1} (P.O. Ana Ruiz) records until 07:38 (A1)"
    assert timeline[2][1].startswith("The incident, at W 26th St & S Pulaski Rd: Federal agents detained")
    assert any(row[1].startswith("Statement of P1 (witness) taken by P.O. Ana Ruiz") for row in timeline)
    assert all("Document generated" not in row[1] for row in timeline)
    history = log_after(doc, "Appendix: processing history")
    assert [row[1] for row in history] == ["Report filed", "Legal review decided: Refer to the prosecutor"]
    assert "Entries recording a document's generation (1) are left out" in all_text(doc)


@pytest.mark.parametrize(
    ("exhibit", "says"),
    [
        ({"evidence": 1, "touhy": "T1"}, "must name one exhibit"),
        ({}, "must name one exhibit"),
        ({"evidence": 1, "at": "2026-03-02T13:09:00+00:00"}, "'at' is a moment in a recording"),
    ],
)
def test_an_exhibit_names_one_thing(exhibit, says):
    with pytest.raises(ValidationError) as refused:
        LegalReviewIn.model_validate(citing(exhibit))
    error = refused.value.errors()[0]
    assert error["loc"] == ("subjects", 0, "charges", 0, "elements", 0, "exhibits", 0) and says in error["msg"]
