"""The request models: what each body must hold before any rule of the case is asked, refused with the field's
location and a message a person can act on (the API turns `loc` into `recordings[0].ended_at`)."""

from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from referrals.domain.enums import ImmunityFinding, ProngFinding
from referrals.domain.messages import (
    REFER_NEEDS,
    Arraignment,
    ChargingDecision,
    CommandApproval,
    Contact,
    EvidenceItem,
    EvidenceMetadata,
    EvidenceRemoval,
    FilingRequest,
    FootageHold,
    IncidentFiling,
    LegalReview,
    LegalReviewIn,
    NewUser,
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
    overall_finding,
)
from tests.support.builders import (
    ACK,
    CHARGED,
    DECLINED,
    FILING,
    FURTHER,
    GRAND_JURY,
    HOLD_1,
    HOSPITAL_RECORD,
    IDENTIFIED,
    NEW_CAMERA,
    PHOTO,
    PROVED,
    REFER,
    REMANDED,
    REMOVAL,
    RETURN,
    STATEMENT,
    SUBJECT,
    VIOLATIONS,
    WITNESS,
    asking,
    filing,
)

RECORDING = FILING["recordings"][0]


def errors(model: type[BaseModel], body: Any) -> list[tuple[tuple, str]]:
    with pytest.raises(ValidationError) as refused:
        model.model_validate(body)
    return [(tuple(e["loc"]), e["msg"]) for e in refused.value.errors()]


def refused_at(model: type[BaseModel], body: Any, loc: tuple, says: str) -> None:
    found = errors(model, body)
    assert any(where == loc and says in message for where, message in found), found


def recording(**changes: Any) -> dict:
    return {**RECORDING, **changes}


def subject(**changes: Any) -> dict:
    return {**SUBJECT, **changes}


# --- the filing -----------------------------------------------------------------------------------------------

FILING_REFUSALS = [
    (filing(officers=[]), ("officers",), "List should have at least 1 item"),
    (filing(officers=[{"name": "P.O. X", "star": str(i)} for i in range(51)]), ("officers",), "at most 50 items"),
    (filing(officers=[{"name": "P.O. Ana\x00Ruiz", "star": "1"}]), ("officers", 0, "name"), "NUL"),
    (filing(officers=[{"name": "   ", "star": "1"}]), ("officers", 0, "name"), "at least 1 character"),
    (filing(summary="x" * 501), ("summary",), "at most 500 characters"),
    (filing(narrative="x" * 20_001), ("narrative",), "at most 20000 characters"),
    (filing(event_number="x" * 65), ("event_number",), "at most 64 characters"),
    (filing(district="0 1 0; drop"), ("district",), "should match pattern"),
    (filing(district="01234567890"), ("district",), "should match pattern"),
    (filing(injuries="yes"), ("injuries",), "valid boolean"),
    (filing(injuries=1), ("injuries",), "valid boolean"),
    (filing(ems_called="true"), ("ems_called",), "valid boolean"),
    (filing(occurred_at="2026-03-02T13:03:00"), ("occurred_at",), "timezone"),
    (filing(occurred_at="2026-03-02T13:03:00 CST"), ("occurred_at",), "valid datetime"),
    (filing(occurred_at="2026-13-02T13:03:00Z"), ("occurred_at",), "valid datetime"),
    (filing(occurred_at="0000-01-10T10:00:00Z"), ("occurred_at",), "valid datetime"),
    (filing(occurred_at="10000-01-01T00:00:00Z"), ("occurred_at",), "valid datetime"),
    (filing(occurred_at=1772456580), ("occurred_at",), "must be an ISO-8601 time with its offset, not a number"),
    (filing(occurred_at=1772456580.5), ("occurred_at",), "not a number"),
    (filing(occurred_at="1899-12-31T23:59:59Z"), ("occurred_at",), "must not be before 1900"),
    (filing(occurred_at="1900-01-01T00:30:00+01:00"), ("occurred_at",), "must not be before 1900"),
    (
        filing(recordings=[recording(ended_at="2026-03-02T12:59:59Z")]),
        ("recordings", 0, "ended_at"),
        "must not be before the recording's start",
    ),
    (filing(recordings=[RECORDING, RECORDING]), ("recordings",), "camera_id 'X6031234' appears more than once"),
    (filing(recordings=[recording(camera_id=f"C{i}") for i in range(201)]), ("recordings",), "at most 200 items"),
    (filing(recordings=[recording(flag_reasons=["Use_Of_Force"])]), ("recordings", 0, "flag_reasons", 0), "pattern"),
    (filing(recordings=[recording(flag_reasons=["use_of_force"] * 8)]), ("recordings", 0, "flag_reasons"), "at most 7"),
    (
        filing(recordings=[recording(started_at="2026-02-30T10:00:00-06:00")]),
        ("recordings", 0, "started_at"),
        "datetime",
    ),
    (filing(recordings=[recording(ended_at="2026-03-02T10:00:00+25:00")]), ("recordings", 0, "ended_at"), "datetime"),
    (filing(federal_personnel=[{"agency": "ICE"}] * 101), ("federal_personnel",), "at most 100 items"),
    (filing(federal_personnel=[{"name": "J. Doe"}]), ("federal_personnel", 0, "agency"), "Field required"),
    (filing(federal_personnel=[{"agency": "ICE", "vest": "grey"}]), ("federal_personnel", 0, "vest"), "Extra inputs"),
    (filing(unit="Gang Enforcement"), ("unit",), "Extra inputs are not permitted"),
    ({k: v for k, v in FILING.items() if k != "location"}, ("location",), "Field required"),
]


@pytest.mark.parametrize(("body", "loc", "says"), FILING_REFUSALS, ids=[str(r[1]) for r in FILING_REFUSALS])
def test_a_bad_filing_is_refused_naming_the_field(body, loc, says):
    refused_at(IncidentFiling, body, loc, says)


# The same kinds of refusal in fields of a filing or a supplement beside those above.
MORE_FIELD_REFUSALS = [
    (IncidentFiling, filing(recordings=[recording(camera_id="X603\x001234")]), ("recordings", 0, "camera_id"), "NUL"),
    (
        IncidentFiling,
        filing(federal_personnel=[{"agency": "ICE", "description": "vest\x00"}]),
        ("federal_personnel", 0, "description"),
        "must not contain NUL characters",
    ),
    (
        IncidentFiling,
        filing(recordings=[recording(started_at="2026-03-02T13:00:00")]),
        ("recordings", 0, "started_at"),
        "timezone",
    ),
    (SupplementIn, {"narrative": "x" * 20_001}, ("narrative",), "at most 20000 characters"),
]


@pytest.mark.parametrize(
    ("model", "body", "loc", "says"),
    MORE_FIELD_REFUSALS,
    ids=[f"{r[0].__name__}{r[2]}" for r in MORE_FIELD_REFUSALS],
)
def test_each_field_of_its_kind_refuses_the_same(model, body, loc, says):
    refused_at(model, body, loc, says)


def test_text_is_trimmed_and_the_scenario_filing_is_valid():
    filed = IncidentFiling.model_validate(filing(location="  W 26th St  "))
    assert filed.location == "W 26th St" and filed.injuries is True
    assert IncidentFiling.model_validate(filing(recordings=[recording(ended_at=RECORDING["started_at"])]))


def test_a_filing_s_statement_names_one_of_its_recordings():
    body = {**filing(), "people": [{**WITNESS, "statements": [{**STATEMENT, "camera_id": "X0000000"}]}]}
    refused_at(
        FilingRequest,
        body,
        ("people",),
        "people[0].statements[0].camera_id: camera 'X0000000' is not among this filing's recordings",
    )
    ok = {**filing(), "people": [{**WITNESS, "statements": [{**STATEMENT, "camera_id": "X6039999"}]}]}
    assert FilingRequest.model_validate(ok).people[0].statements[0].camera_id == "X6039999"


def test_a_filing_names_at_most_a_hundred_people():
    refused_at(FilingRequest, {**filing(), "people": [WITNESS] * 101}, ("people",), "at most 100 items")


# --- people ---------------------------------------------------------------------------------------------------

PERSON_REFUSALS = [
    ({"part": "witness"}, ("name_withheld",), "give the person's name, or say why there is none: declined or unknown"),
    ({"part": "witness", "name": "A. Person", "name_withheld": "unknown"}, ("name_withheld",), "only for a person"),
    ({"part": "suspect", "name": "A. Person"}, ("part",), "Input should be 'victim', 'witness'"),
    ({**WITNESS, "name_withheld": "refused"}, ("name_withheld",), "'declined' or 'unknown'"),
    ({**WITNESS, "contact": {}}, ("contact",), "give a phone, an e-mail or an address, or leave contact out"),
    ({**WITNESS, "contact": {"phone": "call me"}}, ("contact", "phone"), "should match pattern"),
    ({**WITNESS, "contact": {"phone": "555"}}, ("contact", "phone"), "should match pattern"),
    ({**WITNESS, "contact": {"email": "not-an-address"}}, ("contact", "email"), "is not an e-mail address"),
    ({**WITNESS, "contact": {"email": "a@b"}}, ("contact", "email"), "is not an e-mail address"),
    ({**WITNESS, "contact": {"phone": "312-555-0100", "fax": "1"}}, ("contact", "fax"), "Extra inputs"),
    ({**WITNESS, "language": "Spanish language"}, ("language",), "should match pattern"),
    ({**WITNESS, "interpreter": "no"}, ("interpreter",), "valid boolean"),
    ({**WITNESS, "injuries": {"ems_treated": True}}, ("injuries", "description"), "Field required"),
    ({**WITNESS, "statements": [{**STATEMENT, "text": "x" * 20_001}]}, ("statements", 0, "text"), "at most 20000"),
    ({**WITNESS, "statements": [{**STATEMENT, "taken_at": "yesterday"}]}, ("statements", 0, "taken_at"), "datetime"),
    ({**WITNESS, "statements": [STATEMENT] * 51}, ("statements",), "at most 50 items"),
    ({**WITNESS, "hair": "brown"}, ("hair",), "Extra inputs are not permitted"),
]


@pytest.mark.parametrize(("body", "loc", "says"), PERSON_REFUSALS, ids=[str(r[1]) for r in PERSON_REFUSALS])
def test_a_bad_person_is_refused_naming_the_field(body, loc, says):
    refused_at(PersonIn, body, loc, says)


@pytest.mark.parametrize(
    "phone", ["312-555-0100", "+1 (312) 555-0100", "312.555.0100", "+1 312 555 0100 ext. 12", "3125550100x7"]
)
def test_the_usual_ways_of_writing_a_phone_number_are_taken(phone):
    assert Contact(phone=phone).phone == phone


def test_an_e_mail_address_is_kept_in_lower_case():
    assert Contact(email="  Jane.Roe@Example.ORG ").email == "jane.roe@example.org"


# --- the investigation's steps --------------------------------------------------------------------------------

STEP_REFUSALS = [
    (FootageHold, {"holds": []}, ("holds",), "at least 1 item"),
    (FootageHold, {"holds": [HOLD_1, HOLD_1]}, ("holds",), "camera_id 'X6031234' appears more than once"),
    (FootageHold, {"holds": [{**HOLD_1, "retained_until": "soon"}]}, ("holds", 0, "retained_until"), "valid date"),
    (FootageHold, {"holds": [{**HOLD_1, "retained_until": "2027-13-01"}]}, ("holds", 0, "retained_until"), "date"),
    (FootageHold, {"holds": [{**HOLD_1, "retained_until": "0000-01-01"}]}, ("holds", 0, "retained_until"), "year 0"),
    (FootageHold, {"holds": [{**HOLD_1, "retained_until": 20270101}]}, ("holds", 0, "retained_until"), "not a number"),
    (FootageHold, {"holds": [{**HOLD_1, "hold_reference": "AXON\x00"}]}, ("holds", 0, "hold_reference"), "NUL"),
    (FootageHold, {"holds": [{**HOLD_1, "camera_id": f"C{i}"} for i in range(201)]}, ("holds",), "at most 200"),
    (SupervisorIdentification, {**IDENTIFIED, "badge": None}, ("badge",), "is required when the outcome is identified"),
    (SupervisorIdentification, {**IDENTIFIED, "name": None}, ("name",), "is required when the outcome is identified"),
    (SupervisorIdentification, {**IDENTIFIED, "agency": None}, ("agency",), "required when the outcome is identified"),
    (SupervisorIdentification, {**IDENTIFIED, "camera_id": None}, ("camera_id",), "outcome is identified"),
    (
        SupervisorIdentification,
        {"outcome": "refused"},
        ("camera_id",),
        "is required when the outcome is refused: the camera that recorded the refusal",
    ),
    (SupervisorIdentification, {**IDENTIFIED, "name": "J.\x00Doe"}, ("name",), "must not contain NUL characters"),
    (SupervisorIdentification, {**IDENTIFIED, "verification": "trust"}, ("verification",), "'credential_viewed'"),
    (SupervisorIdentification, {**IDENTIFIED, "outcome": "maybe"}, ("outcome",), "'identified', 'refused'"),
    (ViolationReport, {"allegations": [], "narrative": "x"}, ("allegations",), "at least 1 item"),
    (ViolationReport, {**VIOLATIONS, "allegations": VIOLATIONS["allegations"] * 101}, ("allegations",), "at most 100"),
    (ViolationReport, {**VIOLATIONS, "narrative": ""}, ("narrative",), "at least 1 character"),
    (
        ViolationReport,
        {**VIOLATIONS, "allegations": [{**VIOLATIONS["allegations"][0], "facts": "struck\x00"}]},
        ("allegations", 0, "facts"),
        "must not contain NUL characters",
    ),
]


@pytest.mark.parametrize(
    ("model", "body", "loc", "says"), STEP_REFUSALS, ids=[f"{r[0].__name__}{r[2]}" for r in STEP_REFUSALS]
)
def test_a_bad_investigation_step_is_refused_naming_the_field(model, body, loc, says):
    refused_at(model, body, loc, says)


@pytest.mark.parametrize("outcome", ["not_present", "unknown"])
def test_without_a_supervisor_on_scene_nothing_more_is_needed(outcome):
    assert SupervisorIdentification.model_validate({"outcome": outcome}).name is None


# --- the legal review -----------------------------------------------------------------------------------------

REVIEW_REFUSALS = [
    ({"decision": "refer", "rationale": "x"}, ("subjects",), REFER_NEEDS),
    ({**REFER, "subjects": [subject(charges=[])]}, ("subjects",), REFER_NEEDS),
    (
        {
            **REFER,
            "subjects": [
                subject(
                    authority={**SUBJECT["authority"], "finding": "met"},
                    necessary_and_proper={**SUBJECT["necessary_and_proper"], "finding": "met"},
                    finding="immune",
                )
            ],
        },
        ("subjects",),
        REFER_NEEDS,
    ),
    (
        {**REFER, "subjects": [subject(finding="immune")]},
        ("subjects", 0, "finding"),
        "with prong 1 not met and prong 2 not met the overall finding is not immune",
    ),
    ({**REFER, "subjects": [SUBJECT, SUBJECT]}, ("subjects",), "subject 'unidentified agent in grey vest' appears"),
    ({**REFER, "subjects": [SUBJECT] * 51}, ("subjects",), "at most 50 items"),
    (
        {**REFER, "subjects": [subject(charges=[SUBJECT["charges"][0]] * 2)]},
        ("subjects", 0, "charges"),
        "statute '720 ILCS 5/12-3' appears more than once",
    ),
    (
        {**REFER, "subjects": [subject(charges=[{"statute": "720 ILCS 5/12-3", "elements": [PROVED[0]] * 2}])]},
        ("subjects", 0, "charges", 0, "elements"),
        "element '1' appears more than once",
    ),
    (
        {
            **REFER,
            "subjects": [subject(charges=[{"statute": "720 ILCS 5/12-3", "elements": [{"element": 0, "facts": "x"}]}])],
        },
        ("subjects", 0, "charges", 0, "elements", 0, "element"),
        "greater than or equal to 1",
    ),
    (
        {
            **REFER,
            "subjects": [
                subject(charges=[{"statute": "720 ILCS 5/12-3", "elements": [{"element": 21, "facts": "x"}]}])
            ],
        },
        ("subjects", 0, "charges", 0, "elements", 0, "element"),
        "less than or equal to 20",
    ),
    (
        {**REFER, "subjects": [subject(authority={**SUBJECT["authority"], "legal_basis": "hunch"})]},
        ("subjects", 0, "authority", "legal_basis"),
        "'judicial_warrant', 'administrative_warrant', 'statute' or 'none_known'",
    ),
    (
        {**REFER, "subjects": [subject(disputed_facts=["x"] * 51)]},
        ("subjects", 0, "disputed_facts"),
        "at most 50 items",
    ),
    ({"decision": "return", "rationale": "x"}, ("return_tasks",), "the decision return needs the investigation tasks"),
    (
        {**RETURN, "return_tasks": ["legal_review"]},
        ("return_tasks",),
        "may name investigation tasks only, not legal review",
    ),
    (
        {**RETURN, "return_tasks": ["violation_report", "violation_report"]},
        ("return_tasks",),
        "task 'violation_report' appears more than once",
    ),
    ({**REFER, "return_tasks": ["violation_report"]}, ("return_tasks",), "applies only when the decision is return"),
    ({**REFER, "decision": "maybe"}, ("decision",), "'refer', 'decline' or 'return'"),
    (asking("ICE", "ice"), ("federal_evidence",), "agency 'ice' appears more than once"),
    (
        {**REFER, "federal_evidence": [{"agency": "ICE", "records": []}]},
        ("federal_evidence", 0, "records"),
        "at least 1 item",
    ),
    (
        {**REFER, "federal_evidence": [{"agency": "ICE", "records": [{"kind": "gossip", "description": "x"}]}]},
        ("federal_evidence", 0, "records", 0, "kind"),
        "'body_camera'",
    ),
    (asking(*[f"A{i}" for i in range(11)]), ("federal_evidence",), "at most 10 items"),
    # The form taken before the per-subject analysis: its review-level fields are unknown now.
    ({**REFER, "charges": ["720 ILCS 5/12-3"]}, ("charges",), "Extra inputs are not permitted"),
    ({**REFER, "immunity": {"finding": "not_immune"}}, ("immunity",), "Extra inputs are not permitted"),
]


@pytest.mark.parametrize(("body", "loc", "says"), REVIEW_REFUSALS, ids=[str(r[1]) for r in REVIEW_REFUSALS])
def test_a_bad_legal_review_is_refused_naming_the_field(body, loc, says):
    refused_at(LegalReviewIn, body, loc, says)


def test_the_review_the_workflow_keeps_holds_to_the_same_rule_as_a_whole():
    refused_at(LegalReview, {"decision": "refer", "rationale": "x"}, (), REFER_NEEDS)
    assert LegalReview.model_validate(REFER).all_charges() == ["720 ILCS 5/12-3"]


@pytest.mark.parametrize(
    ("authority", "necessary", "overall"),
    [
        ("met", "met", "immune"),
        ("met", "disputed", "disputed"),
        ("disputed", "met", "disputed"),
        ("disputed", "disputed", "disputed"),
        ("not_met", "met", "not_immune"),
        ("met", "not_met", "not_immune"),
        ("not_met", "disputed", "not_immune"),
        ("disputed", "not_met", "not_immune"),
        ("not_met", "not_met", "not_immune"),
    ],
)
def test_immune_only_when_both_prongs_are_met(authority, necessary, overall):
    assert overall_finding(ProngFinding(authority), ProngFinding(necessary)) == ImmunityFinding(overall)
    body = subject(
        subject="agent in blue cap",
        authority={**SUBJECT["authority"], "finding": authority},
        necessary_and_proper={**SUBJECT["necessary_and_proper"], "finding": necessary},
        finding=overall,
    )
    review = {**REFER, "subjects": [body, SUBJECT]}  # (the second keeps a referral chargeable)
    assert LegalReviewIn.model_validate(review).subjects[0].finding == overall


def test_the_subjects_a_review_would_refer_are_those_charged_and_not_immune():
    immune = subject(
        subject="agent in blue cap",
        authority={**SUBJECT["authority"], "finding": "met"},
        necessary_and_proper={**SUBJECT["necessary_and_proper"], "finding": "met"},
        finding="immune",
    )
    uncharged = subject(subject="the driver", charges=[])
    review = LegalReviewIn.model_validate({**REFER, "subjects": [immune, SUBJECT, uncharged]})
    assert [s.subject for s in review.charged_subjects()] == ["unidentified agent in grey vest"]


# --- approval, acknowledgement, withdrawal --------------------------------------------------------------------

OTHER_REFUSALS = [
    (CommandApproval, {"decision": "approve", "approved_by": "someone else"}, ("approved_by",), "Extra inputs"),
    (CommandApproval, {"decision": "approved"}, ("decision",), "'approve' or 'reject'"),
    (ReferralAcknowledgement, {**ACK, "received_at": "2026-02-10T09:00:00"}, ("received_at",), "timezone"),
    (ReferralAcknowledgement, {**ACK, "received_at": "2026-02-10T09:00:00+99:00"}, ("received_at",), "datetime"),
    (ReferralAcknowledgement, {**ACK, "received_at": "1066-10-14T09:00:00Z"}, ("received_at",), "before 1900"),
    (ReferralAcknowledgement, {**ACK, "prosecutor_case_number": ""}, ("prosecutor_case_number",), "at least 1"),
    (Withdrawal, {"reason": ""}, ("reason",), "at least 1 character"),
    (Withdrawal, {"reason": "   "}, ("reason",), "at least 1 character"),
    (Withdrawal, {"reason": "bad\x00byte"}, ("reason",), "must not contain NUL characters"),
    (Withdrawal, {}, ("reason",), "Field required"),
]


@pytest.mark.parametrize(
    ("model", "body", "loc", "says"), OTHER_REFUSALS, ids=[f"{r[0].__name__}{r[2]}" for r in OTHER_REFUSALS]
)
def test_a_bad_approval_acknowledgement_or_withdrawal_is_refused(model, body, loc, says):
    refused_at(model, body, loc, says)


# --- the prosecution ------------------------------------------------------------------------------------------

PROSECUTION_REFUSALS = [
    (
        ChargingDecision,
        {**CHARGED, "court_case_number": None},
        ("court_case_number",),
        "required when the decision is charged",
    ),
    (ChargingDecision, {**CHARGED, "charges": []}, ("charges",), "is required when the decision is charged"),
    (
        ChargingDecision,
        {**CHARGED, "charges": [{"subject": "x", "statutes": []}]},
        ("charges", 0, "statutes"),
        "at least 1 item",
    ),
    (ChargingDecision, {**DECLINED, "reason": None}, ("reason",), "the reason the prosecutor gave"),
    (
        ChargingDecision,
        {**DECLINED, "court_case_number": "26-CR-1"},
        ("court_case_number",),
        "applies only when the decision is charged",
    ),
    (
        ChargingDecision,
        {**DECLINED, "arraignment_date": "2026-03-04"},
        ("arraignment_date",),
        "applies only when the decision is charged",
    ),
    (
        ChargingDecision,
        {**DECLINED, "grand_jury_date": "2026-04-15"},
        ("grand_jury_date",),
        "applies only when the decision is grand jury",
    ),
    (
        ChargingDecision,
        {**GRAND_JURY, "grand_jury_date": None},
        ("grand_jury_date",),
        "is required when the decision is grand jury",
    ),
    (
        ChargingDecision,
        {**FURTHER, "requested": None},
        ("requested",),
        "is required when the decision is further investigation: what the prosecutor asks",
    ),
    (
        ChargingDecision,
        {**FURTHER, "return_tasks": []},
        ("return_tasks",),
        "the decision further investigation needs the investigation tasks to reopen",
    ),
    (
        ChargingDecision,
        {**FURTHER, "return_tasks": ["charging_decision"]},
        ("return_tasks",),
        "may name investigation tasks only, not charging decision",
    ),
    (
        ChargingDecision,
        {**CHARGED, "return_tasks": ["violation_report"]},
        ("return_tasks",),
        "applies only when the decision is further investigation",
    ),
    (ChargingDecision, {**CHARGED, "arraignment_date": "1899-12-31"}, ("arraignment_date",), "before 1900"),
    (ChargingDecision, {**CHARGED, "decided_at": "2026-03-01"}, ("decided_at",), "timezone"),
    (ChargingDecision, {**CHARGED, "decision": "indicted"}, ("decision",), "'charged', 'declined'"),
    (Arraignment, {"arraignment_date": "next week"}, ("arraignment_date",), "valid date"),
    (RemovalNotice, {**REMOVAL, "federal_case_number": ""}, ("federal_case_number",), "at least 1 character"),
    (RemovalNotice, {**REMOVAL, "filed_on": 20260310}, ("filed_on",), "not a number"),
    (RemovalOutcome, {**REMANDED, "result": "vanished"}, ("result",), "'remanded' or 'retained'"),
    (ProsecutionOutcomeIn, {"outcome": "convicted"}, ("decided_on",), "Field required"),
    (ProsecutionOutcomeIn, {"outcome": "hung", "decided_on": "2026-03-25"}, ("outcome",), "'convicted'"),
    (
        TouhyAnswer,
        {"outcome": "refused", "received_on": "2026-03-02"},
        ("ground",),
        "is required when the answer is refused: the ground the agency stated",
    ),
    (TouhyAnswer, {"outcome": "ignored", "received_on": "2026-03-02"}, ("outcome",), "'produced'"),
    (TouhyAnswer, {"outcome": "produced", "received_on": "2026-03-02", "request_id": "T1"}, ("request_id",), "Extra"),
]


@pytest.mark.parametrize(
    ("model", "body", "loc", "says"),
    PROSECUTION_REFUSALS,
    ids=[f"{r[0].__name__}{r[2]}" for r in PROSECUTION_REFUSALS],
)
def test_a_bad_prosecution_step_is_refused_naming_the_field(model, body, loc, says):
    refused_at(model, body, loc, says)


@pytest.mark.parametrize("body", [CHARGED, DECLINED, GRAND_JURY, FURTHER, {**CHARGED, "arraignment_date": None}])
def test_each_kind_of_charging_decision_with_what_it_needs_is_taken(body):
    assert ChargingDecision.model_validate(body).decision == body["decision"]


def test_the_models_take_any_real_date_and_leave_the_future_to_the_arrival_check():
    """The model takes any real date; whether a date lies in the future is the clock's rule, checked on arrival."""
    assert ChargingDecision.model_validate({**GRAND_JURY, "grand_jury_date": "2099-01-01"})
    assert ProsecutionOutcomeIn.model_validate({"outcome": "plea", "decided_on": "2099-01-01"})


# --- evidence, supplements, a new user ------------------------------------------------------------------------

MORE_REFUSALS = [
    (
        EvidenceItem,
        {**PHOTO, "held_elsewhere": HOSPITAL_RECORD["held_elsewhere"]},
        (),
        "either a file here or a reference",
    ),
    (EvidenceItem, {k: v for k, v in PHOTO.items() if k != "sha256"}, (), "either a file here or a reference"),
    (EvidenceItem, {**PHOTO, "sha256": "AB" * 32}, ("sha256",), "should match pattern"),
    (EvidenceItem, {**PHOTO, "sha256": "ab" * 31}, ("sha256",), "should match pattern"),
    (EvidenceItem, {**PHOTO, "size": 0}, ("size",), "greater than or equal to 1"),
    (EvidenceItem, {**PHOTO, "kind": "rumour"}, ("kind",), "'photo', 'video'"),
    (EvidenceItem, {**PHOTO, "source": "twitter"}, ("source",), "'cpd', 'civilian'"),
    (EvidenceMetadata, {**HOSPITAL_RECORD, "id": "e-9"}, ("id",), "Extra inputs are not permitted"),
    (
        EvidenceMetadata,
        {**HOSPITAL_RECORD, "held_elsewhere": {"system": "Axon"}},
        ("held_elsewhere", "reference"),
        "Field required",
    ),
    (EvidenceRemoval, {"evidence_id": "e-1"}, ("reason",), "Field required"),
    (SupplementIn, {}, (), "a supplement needs at least one of narrative, recordings, people, statements"),
    (SupplementIn, {"narrative": ""}, ("narrative",), "at least 1 character"),
    (SupplementIn, {"recordings": [NEW_CAMERA, NEW_CAMERA]}, ("recordings",), "appears more than once"),
    (
        SupplementIn,
        {"corrections": [{"field": "officers[0]star", "value": "1", "reason": "r"}]},
        ("corrections", 0, "field"),
        "should match pattern",
    ),
    (
        SupplementIn,
        {"corrections": [{"field": "location", "value": "x", "reason": ""}]},
        ("corrections", 0, "reason"),
        "at least 1 character",
    ),
    (SupplementIn, {"statements": [STATEMENT]}, ("statements", 0, "person_id"), "Field required"),
    (SupplementIn, {"corrections": [{"field": "location", "reason": "r"}] * 51}, ("corrections",), "at most 50"),
    (NewUser, {"name": "Sgt. Kim", "email": "kim@test.invalid", "roles": []}, ("roles",), "at least 1 item"),
    (NewUser, {"name": "Sgt. Kim", "email": "kim", "roles": ["auditor"]}, ("email",), "is not an e-mail address"),
    (NewUser, {"name": "Sgt. Kim", "email": "k@t.io", "roles": ["janitor"]}, ("roles", 0), "'officer'"),
    (
        NewUser,
        {"name": "Sgt. Kim", "email": "k@t.io", "roles": ["auditor"], "token_valid_days": 0},
        ("token_valid_days",),
        "greater than or equal to 1",
    ),
    (
        NewUser,
        {"name": "Sgt. Kim", "email": "k@t.io", "roles": ["auditor"], "token_valid_days": 3651},
        ("token_valid_days",),
        "less than or equal to 3650",
    ),
    (NewUser, {"name": "Sgt. \u202eKim", "email": "k@t.io", "roles": ["auditor"]}, ("name",), "right-to-left override"),
    (NewUser, {"name": "Sgt. Kim", "email": "k@t.io", "roles": ["auditor"], "star": "1\u20662"}, ("star",), "U+2066"),
]


@pytest.mark.parametrize(
    ("model", "body", "loc", "says"), MORE_REFUSALS, ids=[f"{r[0].__name__}{r[2]}" for r in MORE_REFUSALS]
)
def test_bad_evidence_supplements_and_users_are_refused_naming_the_field(model, body, loc, says):
    refused_at(model, body, loc, says)


def test_a_correction_may_name_a_field_in_any_of_its_three_forms():
    corrections = [
        {"field": "location", "value": "x", "reason": "r"},
        {"field": "officers[0].star", "value": "1", "reason": "r"},
        {"field": "people[P1].name", "value": "A", "reason": "r"},
    ]
    assert len(SupplementIn.model_validate({"corrections": corrections}).corrections) == 3


def test_a_request_cannot_be_changed_once_made():
    withdrawal = Withdrawal(reason="Filed in error.")
    with pytest.raises(ValidationError, match="frozen"):
        withdrawal.reason = "Something else."


def test_a_new_user_s_e_mail_is_kept_in_lower_case():
    assert NewUser(name="Sgt. Kim", email=" Kim@Test.Invalid ", roles=["auditor"]).email == "kim@test.invalid"
