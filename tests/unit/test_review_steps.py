"""After the investigation: the legal review (its analysis checked against the case and the catalogue, and the
Touhy requests it makes), the command's approval (separation of duties), the prosecutor's acknowledgement and the
federal agencies' answers."""

from datetime import timedelta

import pytest

from referrals.domain.enums import Disposition, DocumentKind, Role, Stage, Task, TaskStatus
from referrals.domain.errors import RejectionKind
from referrals.domain.steps import (
    ADD_EVIDENCE,
    COMMAND_APPROVAL,
    LEGAL_REVIEW,
    REFERRAL_ACKNOWLEDGEMENT,
    REMOVE_EVIDENCE,
    SUPERVISOR_IDENTIFICATION,
    TOUHY_RESPONSE,
    WITHDRAW,
)
from tests.support.builders import (
    ACK,
    ADMIN,
    APPROVE,
    BATTERY,
    COMMANDER,
    DECLINE,
    HOSPITAL_RECORD,
    IMMUNE,
    LIAISON,
    NOW,
    OFFICER,
    PROVED,
    REFER,
    REJECT,
    RETURN,
    REVIEWER,
    SUBJECT,
    WITHDRAWAL,
    actor,
    answer,
    asking,
    filed,
)


def investigated():
    return filed().investigated()


def with_charge(statute: str = BATTERY, elements: list | None = None, **subject) -> dict:
    return {**REFER, "subjects": [{**SUBJECT, **subject, "charges": [{"statute": statute, "elements": elements}]}]}


# --- legal_review ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.OFFICER, Role.COMMAND, Role.PROSECUTOR_LIAISON, Role.ADMIN])
def test_only_a_legal_reviewer_reviews(role):
    refused = investigated().refusal(LEGAL_REVIEW, actor(role), REFER)
    assert (refused.kind, refused.message) == (RejectionKind.FORBIDDEN, "legal_review needs the role legal_reviewer")


def test_no_review_before_the_investigation_is_done():
    refused = filed().refusal(LEGAL_REVIEW, REVIEWER, REFER)
    assert (refused.kind, refused.message) == (
        RejectionKind.CONFLICT,
        "legal_review is not open: the case is in stage investigation",
    )


def test_a_charge_must_be_among_the_statutes_alleged():
    refused = investigated().refusal(LEGAL_REVIEW, REVIEWER, with_charge("720 ILCS 5/10-1", []))
    assert (refused.kind, refused.field) == (RejectionKind.INVALID, "subjects[0].charges[0].statute")
    assert refused.message == "'720 ILCS 5/10-1' is not among the alleged statutes (720 ILCS 5/12-3)"


def test_to_refer_every_element_of_a_charge_is_addressed():
    refused = investigated().refusal(LEGAL_REVIEW, REVIEWER, with_charge(elements=PROVED[:1]))
    assert (refused.kind, refused.field) == (RejectionKind.INVALID, "subjects[0].charges[0].elements")
    assert refused.message.startswith(
        "to refer, every element of 720 ILCS 5/12-3 needs its facts: element 2 (caused bodily harm"
    )
    assert refused.message.endswith(") is not addressed")


def test_an_unproved_charge_is_named_by_its_first_missing_element():
    refused = investigated().refusal(LEGAL_REVIEW, REVIEWER, with_charge(elements=[]))
    assert "element 1, 2 (knowingly, without legal justification" in refused.message


def test_an_element_the_statute_does_not_have_is_refused():
    third = {"element": 3, "facts": "x"}
    refused = investigated().refusal(LEGAL_REVIEW, REVIEWER, with_charge(elements=[*PROVED, third]))
    assert (refused.kind, refused.field, refused.message) == (
        RejectionKind.INVALID,
        "subjects[0].charges[0].elements[2].element",
        "720 ILCS 5/12-3 has 2 elements in the catalogue",
    )


def test_a_subject_found_immune_need_not_prove_each_element():
    review = {**REFER, "subjects": [SUBJECT, {**IMMUNE, "charges": [{"statute": BATTERY, "elements": []}]}]}
    case = investigated()
    case.step(LEGAL_REVIEW, REVIEWER, review)
    assert case.state.referred_subjects() == [SUBJECT["subject"]]


def test_a_decline_need_not_prove_each_element():
    case = investigated()
    case.step(LEGAL_REVIEW, REVIEWER, {**DECLINE, "subjects": [{**IMMUNE, "charges": [{"statute": BATTERY}]}]})
    assert (case.state.stage, case.state.disposition) == (Stage.CLOSED, Disposition.DECLINED)


def test_evidence_cited_must_be_on_the_case():
    cited = [{**PROVED[0], "exhibits": [{"evidence": 9}]}, PROVED[1]]
    refused = investigated().refusal(LEGAL_REVIEW, REVIEWER, with_charge(elements=cited))
    assert (refused.kind, refused.field, refused.message) == (
        RejectionKind.INVALID,
        "subjects[0].charges[0].elements[0].exhibits[0].evidence",
        "no evidence item C9 on this case",
    )


def test_evidence_removed_from_the_case_can_no_longer_be_cited():
    case = investigated()
    case.step(ADD_EVIDENCE, OFFICER, HOSPITAL_RECORD)
    cited = [PROVED[0], {**PROVED[1], "exhibits": [{"evidence": 1}]}]
    case.step(REMOVE_EVIDENCE, ADMIN, {"evidence_id": "e-2", "reason": "Another patient's notes."})
    refused = case.refusal(LEGAL_REVIEW, REVIEWER, with_charge(elements=cited))
    assert (refused.field, refused.message) == (
        "subjects[0].charges[0].elements[1].exhibits[0].evidence",
        "evidence item C1 was removed from the case",
    )


def test_a_review_is_taken_once():
    case = investigated()
    case.step(LEGAL_REVIEW, REVIEWER, REFER)
    refused = case.refusal(LEGAL_REVIEW, REVIEWER, REFER)
    assert (refused.kind, refused.message) == (RejectionKind.CONFLICT, "legal_review is already done")


def test_a_review_citing_the_case_s_evidence_is_kept():
    case = investigated()
    case.step(ADD_EVIDENCE, OFFICER, HOSPITAL_RECORD)
    case.step(LEGAL_REVIEW, REVIEWER, with_charge(elements=[PROVED[0], {**PROVED[1], "exhibits": [{"evidence": 1}]}]))
    review = case.state.latest_review()
    assert (review.by.id, review.at, case.state.stage) == (REVIEWER.user_id, NOW, Stage.COMMAND_APPROVAL)
    assert case.state.tasks["legal_review"].status == TaskStatus.DONE


@pytest.mark.parametrize("agency", ["NSA", "Secret Service", "IC E"])
def test_federal_evidence_goes_to_an_agency_the_policy_knows(agency):
    refused = investigated().refusal(LEGAL_REVIEW, REVIEWER, asking("ICE", agency))
    assert (refused.kind, refused.field) == (RejectionKind.INVALID, "federal_evidence[1].agency")
    assert refused.message == (
        f"'{agency}' is not among the agencies Touhy requests go to (ICE, CBP, USCIS, FBI, DEA, ATF, USMS)"
    )


def test_each_agency_asked_becomes_a_touhy_request_due_on_its_own():
    case = investigated()
    data = case.step(LEGAL_REVIEW, REVIEWER, asking("ice", "FBI"))
    assert data["touhy_requests"] == ["T1", "T2"]
    t1, t2 = case.state.touhy_requests
    assert [(r.id, r.agency, r.review, r.requested_at, r.due_at) for r in (t1, t2)] == [
        ("T1", "ICE", 1, NOW, NOW + timedelta(days=45)),  # the agency as the policy spells it
        ("T2", "FBI", 1, NOW, NOW + timedelta(days=45)),
    ]
    task = case.state.tasks["touhy_response"]
    assert (task.status, task.due_at, task.owner_role) == (
        TaskStatus.OPEN,
        NOW + timedelta(days=45),
        Role.PROSECUTOR_LIAISON,
    )


def test_a_review_asking_for_nothing_makes_no_request():
    case = investigated()
    data = case.step(LEGAL_REVIEW, REVIEWER, REFER)
    assert "touhy_requests" not in data
    assert case.state.touhy_requests == [] and case.state.tasks["touhy_response"].status == TaskStatus.PENDING


def test_a_later_review_numbers_its_requests_on_and_the_task_stays_due_at_the_earliest():
    case = investigated()
    case.step(LEGAL_REVIEW, REVIEWER, asking("ICE", review=RETURN))
    case.later(days=10).step(SUPERVISOR_IDENTIFICATION, OFFICER, {"outcome": "not_present"})
    case.step(LEGAL_REVIEW, REVIEWER, asking("CBP"))
    t1, t2 = case.state.touhy_requests
    assert [(r.id, r.agency, r.review) for r in (t1, t2)] == [("T1", "ICE", 1), ("T2", "CBP", 2)]
    assert t2.due_at - t1.due_at == timedelta(days=10)
    assert case.state.tasks["touhy_response"].due_at == t1.due_at


def test_the_review_asks_for_its_memo_and_a_letter_per_agency():
    case = investigated()
    case.make_documents()  # the preservation requests of the holds
    case.step(LEGAL_REVIEW, REVIEWER, asking("ICE", "FBI", "ATF"))
    expected = [DocumentKind.LEGAL_REVIEW_MEMO] + [DocumentKind.TOUHY_REQUEST] * 3
    assert LEGAL_REVIEW.documents(case.state) == expected
    assert case.state.documents_pending == expected
    plain = investigated()
    plain.step(LEGAL_REVIEW, REVIEWER, REFER)
    assert LEGAL_REVIEW.documents(plain.state) == [DocumentKind.LEGAL_REVIEW_MEMO]


@pytest.mark.parametrize(
    ("return_tasks", "reopened"),
    [
        (["supervisor_identification"], {Task.SUPERVISOR_IDENTIFICATION}),
        (["footage_hold", "violation_report"], {Task.FOOTAGE_HOLD, Task.VIOLATION_REPORT}),
    ],
)
def test_a_return_reopens_only_the_tasks_it_names(return_tasks, reopened):
    case = investigated().later(days=1)
    case.step(LEGAL_REVIEW, REVIEWER, {**RETURN, "return_tasks": return_tasks})
    assert case.state.stage == Stage.INVESTIGATION and case.state.investigation_round == 2
    assert set(case.state.open_tasks()) == reopened
    for task in reopened:
        entry = case.state.tasks[task]
        assert (entry.opened_at, entry.escalation_level, entry.completed_by) == (case.now, 0, None)


# --- command_approval -----------------------------------------------------------------------------------------


def reviewed(by=REVIEWER, filer=OFFICER):
    case = filed(by=filer).investigated()
    case.step(LEGAL_REVIEW, by, REFER)
    return case


@pytest.mark.parametrize("role", [Role.LEGAL_REVIEWER, Role.PROSECUTOR_LIAISON, Role.ADMIN, Role.SUPERVISOR])
def test_only_command_approves(role):
    refused = reviewed().refusal(COMMAND_APPROVAL, actor(role), APPROVE)
    assert (refused.kind, refused.message) == (RejectionKind.FORBIDDEN, "command_approval needs the role command")


def test_the_filer_may_not_approve_their_own_referral():
    filer = actor(Role.OFFICER, Role.COMMAND, user_id="u-officer-commander", district="010")
    refused = reviewed(filer=filer).refusal(COMMAND_APPROVAL, filer, APPROVE)
    assert (refused.kind, refused.message) == (
        RejectionKind.FORBIDDEN,
        "separation of duties: the filer may not approve the referral",
    )


def test_the_legal_reviewer_may_not_approve_the_referral_they_made():
    both = actor(Role.LEGAL_REVIEWER, Role.COMMAND, user_id="u-reviewer-commander")
    case = reviewed(by=both)
    refused = case.refusal(COMMAND_APPROVAL, both, APPROVE)
    assert (refused.kind, refused.message) == (
        RejectionKind.FORBIDDEN,
        "separation of duties: the legal reviewer may not approve the referral",
    )
    case.step(COMMAND_APPROVAL, COMMANDER, APPROVE)  # another commander may
    assert case.state.stage == Stage.REFERRAL


def test_an_approval_asks_for_the_referral_packet():
    case = reviewed()
    case.step(COMMAND_APPROVAL, COMMANDER, APPROVE)
    decision = case.state.command_decisions[-1]
    assert (decision.payload.decision, decision.by.id) == ("approve", COMMANDER.user_id)
    assert COMMAND_APPROVAL.documents(case.state) == [DocumentKind.REFERRAL_PACKET]
    assert case.state.tasks["command_approval"].status == TaskStatus.DONE


def test_a_rejection_asks_for_no_packet_and_declines_the_case():
    case = reviewed()
    case.step(COMMAND_APPROVAL, COMMANDER, REJECT)
    assert COMMAND_APPROVAL.documents(case.state) == []
    assert (case.state.stage, case.state.disposition) == (Stage.CLOSED, Disposition.DECLINED)


def test_no_approval_before_the_review():
    refused = investigated().refusal(COMMAND_APPROVAL, COMMANDER, APPROVE)
    assert (refused.kind, refused.message) == (
        RejectionKind.CONFLICT,
        "command_approval is not open: the case is in stage legal_review",
    )


# --- referral_acknowledgement ---------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.COMMAND, Role.LEGAL_REVIEWER, Role.OFFICER])
def test_only_the_prosecutor_liaison_records_the_acknowledgement(role):
    case = reviewed()
    case.step(COMMAND_APPROVAL, COMMANDER, APPROVE)
    refused = case.refusal(REFERRAL_ACKNOWLEDGEMENT, actor(role), ACK)
    assert (refused.kind, refused.message) == (
        RejectionKind.FORBIDDEN,
        "referral_acknowledgement needs the role prosecutor_liaison",
    )


def test_the_acknowledgement_opens_the_prosecution_with_its_charging_decision():
    case = reviewed()
    case.step(COMMAND_APPROVAL, COMMANDER, APPROVE)
    case.later(days=2).step(REFERRAL_ACKNOWLEDGEMENT, LIAISON, ACK)
    assert case.state.acknowledgement.payload.prosecutor_case_number == "26-FR-0193"
    assert case.state.tasks["referral_acknowledgement"].status == TaskStatus.DONE
    assert case.state.stage == Stage.PROSECUTION and case.state.prosecution is not None
    charging = case.state.tasks["charging_decision"]
    assert (charging.status, charging.due_at) == (TaskStatus.OPEN, case.now + timedelta(days=60))


def test_no_acknowledgement_before_the_approval():
    refused = reviewed().refusal(REFERRAL_ACKNOWLEDGEMENT, LIAISON, ACK)
    assert refused.message == "referral_acknowledgement is not open: the case is in stage command_approval"


# --- touhy_response -------------------------------------------------------------------------------------------


def asked(*agencies: str):
    case = investigated()
    case.step(LEGAL_REVIEW, REVIEWER, asking(*agencies))
    return case


@pytest.mark.parametrize("who", [LIAISON, COMMANDER])
def test_the_liaison_or_command_records_an_agency_s_answer(who):
    case = asked("ICE")
    data = case.step(TOUHY_RESPONSE, who, answer("T1"))
    assert (data["request_id"], data["outcome"], data["agency"]) == ("T1", "produced", "ICE")
    assert case.state.touhy_request("T1").response.by.id == who.user_id


@pytest.mark.parametrize("role", [Role.OFFICER, Role.LEGAL_REVIEWER, Role.ADMIN])
def test_no_one_else_records_an_answer(role):
    refused = asked("ICE").refusal(TOUHY_RESPONSE, actor(role), answer("T1"))
    assert (refused.kind, refused.message) == (
        RejectionKind.FORBIDDEN,
        "touhy_response needs the role command or prosecutor_liaison",
    )


def test_an_answer_names_a_request_of_the_case():
    refused = asked("ICE").refusal(TOUHY_RESPONSE, LIAISON, answer("T9"))
    assert (refused.kind, refused.field, refused.message) == (
        RejectionKind.INVALID,
        "request_id",
        "no Touhy request T9 in this case",
    )


def test_a_case_with_no_request_takes_no_answer():
    refused = investigated().refusal(TOUHY_RESPONSE, LIAISON, answer("T1"))
    assert refused.message == "no Touhy request T1 in this case"


def test_a_request_is_answered_once():
    case = asked("ICE", "FBI")
    case.step(TOUHY_RESPONSE, LIAISON, answer("T1", outcome="partly_produced"))
    refused = case.refusal(TOUHY_RESPONSE, COMMANDER, answer("T1"))
    assert (refused.kind, refused.field, refused.message) == (
        RejectionKind.CONFLICT,
        None,
        "Touhy request T1 (ICE) already has its answer: partly_produced",
    )


def test_an_answer_cannot_come_before_the_request_was_made():
    case = asked("ICE")
    the_day_before = (NOW - timedelta(days=1)).date().isoformat()
    refused = case.refusal(TOUHY_RESPONSE, LIAISON, answer("T1", received_on=the_day_before))
    assert (refused.kind, refused.field, refused.message) == (
        RejectionKind.INVALID,
        "received_on",
        "must not be before Touhy request T1 was made (Mon 02 Mar 2026, 09:00 CST); it is dated Sun 01 Mar 2026",
    )
    # The day it was made, in the department's time zone.
    case.step(TOUHY_RESPONSE, LIAISON, answer("T1", received_on=NOW.date().isoformat()))


def test_the_task_follows_the_requests_still_awaited_and_ends_with_the_last_answer():
    case = asked("ICE", "FBI")
    t1, t2 = case.state.touhy_requests
    t2.due_at += timedelta(days=5)  # asked of the FBI later, say
    t2.escalation_level = 1
    case.later(days=3).step(TOUHY_RESPONSE, LIAISON, answer("T1"))
    task = case.state.tasks["touhy_response"]
    assert (task.status, task.due_at, task.escalation_level) == (TaskStatus.OPEN, t2.due_at, 1)
    case.step(TOUHY_RESPONSE, COMMANDER, answer("T2", outcome="refused", ground="28 CFR 16.26(b)(5)"))
    assert (task.status, task.completed_by.id) == (TaskStatus.DONE, COMMANDER.user_id)
    assert case.state.unanswered_touhy() == []


def test_an_answer_may_come_at_any_open_stage():
    case = asked("ICE")
    case.step(COMMAND_APPROVAL, COMMANDER, APPROVE)
    case.step(REFERRAL_ACKNOWLEDGEMENT, LIAISON, ACK)
    assert case.state.stage == Stage.PROSECUTION
    case.step(TOUHY_RESPONSE, LIAISON, answer("T1"))
    assert case.state.tasks["touhy_response"].status == TaskStatus.DONE


def test_a_closed_case_takes_no_answer():
    case = asked("ICE")
    case.step(WITHDRAW, COMMANDER, WITHDRAWAL)
    refused = case.refusal(TOUHY_RESPONSE, LIAISON, answer("T1"))
    assert (refused.kind, refused.message) == (
        RejectionKind.CONFLICT,
        "the case is closed (withdrawn); its Touhy requests stay as they are",
    )
