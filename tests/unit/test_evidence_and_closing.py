"""Evidence added to a case and taken off it (a tombstone stays), and a case withdrawn by command."""

import pytest

from referrals.domain.case import CaseState
from referrals.domain.enums import Disposition, DocumentKind, Role, Stage, Task, TaskStatus
from referrals.domain.errors import RejectionKind
from referrals.domain.steps import ADD_EVIDENCE, LEGAL_REVIEW, REMOVE_EVIDENCE, WITHDRAW, close
from tests.support.builders import (
    ADMIN,
    COMMANDER,
    CUSTODIAN,
    DECLINE,
    HOSPITAL_RECORD,
    NOW,
    OFFICER,
    PHOTO,
    REVIEWER,
    SUPERVISOR,
    VICTIM,
    WITHDRAWAL,
    actor,
    asking,
    filed,
)

REMOVAL_REQUEST = {"evidence_id": "e-1", "reason": "Attached to the wrong case."}


def with_photo():
    case = filed(people=[VICTIM])
    case.step(ADD_EVIDENCE, OFFICER, PHOTO)
    return case


# --- add_evidence ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", [OFFICER, SUPERVISOR, CUSTODIAN])
def test_those_who_collect_or_receive_evidence_add_it(who):
    case = filed()
    assert case.step(ADD_EVIDENCE, who, PHOTO)["number"] == 1
    entry = case.state.evidence_item("e-1")
    assert (entry.number, entry.added_by.id, entry.added_at, entry.removed) == (1, who.user_id, NOW, None)


@pytest.mark.parametrize("role", [Role.LEGAL_REVIEWER, Role.COMMAND, Role.PROSECUTOR_LIAISON, Role.ADMIN])
def test_no_one_else_adds_evidence(role):
    refused = filed().refusal(ADD_EVIDENCE, actor(role), PHOTO)
    assert (refused.kind, refused.message) == (
        RejectionKind.FORBIDDEN,
        "add_evidence needs the role evidence_custodian or officer or supervisor",
    )


def test_items_are_numbered_in_the_order_added():
    case = with_photo()
    assert case.step(ADD_EVIDENCE, CUSTODIAN, HOSPITAL_RECORD)["number"] == 2
    assert [(e.item.id, e.number) for e in case.state.evidence] == [("e-1", 1), ("e-2", 2)]


def test_an_item_is_added_once():
    refused = with_photo().refusal(ADD_EVIDENCE, OFFICER, {**PHOTO, "description": "again"})
    assert (refused.kind, refused.field, refused.message) == (
        RejectionKind.CONFLICT,
        "id",
        "evidence e-1 is already in this case",
    )


def test_an_item_concerns_a_person_of_the_case():
    case = filed(people=[VICTIM])
    refused = case.refusal(ADD_EVIDENCE, OFFICER, {**PHOTO, "person_id": "P9"})
    assert (refused.kind, refused.field, refused.message) == (
        RejectionKind.INVALID,
        "person_id",
        "no person 'P9' in this case",
    )
    case.step(ADD_EVIDENCE, OFFICER, {**PHOTO, "person_id": "P1"})


def test_what_an_agency_produced_is_tied_to_a_request_of_the_case():
    case = filed().investigated()
    refused = case.refusal(ADD_EVIDENCE, OFFICER, {**PHOTO, "source": "federal_agency", "touhy_request_id": "T1"})
    assert (refused.kind, refused.field, refused.message) == (
        RejectionKind.INVALID,
        "touhy_request_id",
        "no Touhy request T1 in this case",
    )
    case.step(LEGAL_REVIEW, REVIEWER, asking("ICE"))
    case.step(ADD_EVIDENCE, OFFICER, {**PHOTO, "source": "federal_agency", "touhy_request_id": "T1"})
    assert case.state.evidence_item("e-1").item.touhy_request_id == "T1"


def test_a_closed_case_takes_no_evidence():
    refused = filed().withdrawn().refusal(ADD_EVIDENCE, OFFICER, PHOTO)
    assert (refused.kind, refused.message) == (
        RejectionKind.CONFLICT,
        "the case is closed (withdrawn); no evidence can be added",
    )


def test_evidence_asks_for_the_packet_again_only_once_there_is_one():
    case = with_photo()
    assert ADD_EVIDENCE.documents(case.state) == []
    case.investigated().reviewed().approved()
    case.make_documents()
    case.step(ADD_EVIDENCE, OFFICER, HOSPITAL_RECORD)
    assert ADD_EVIDENCE.documents(case.state) == [DocumentKind.REFERRAL_PACKET]


# --- remove_evidence ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", [OFFICER, CUSTODIAN, COMMANDER, actor(Role.AUDITOR)])
def test_only_an_admin_removes_evidence(who):
    refused = with_photo().refusal(REMOVE_EVIDENCE, who, REMOVAL_REQUEST)
    assert (refused.kind, refused.message) == (RejectionKind.FORBIDDEN, "remove_evidence needs the role admin")


def test_a_removed_item_stays_as_a_tombstone():
    case = with_photo()
    data = case.step(REMOVE_EVIDENCE, ADMIN, REMOVAL_REQUEST)
    assert (data["number"], data["sha256"]) == (1, "ab" * 32)
    entry = case.state.evidence_item("e-1")
    assert (entry.removed.payload.reason, entry.removed.by.id, entry.removed.at) == (
        "Attached to the wrong case.",
        ADMIN.user_id,
        NOW,
    )
    assert len(case.state.evidence) == 1


def test_an_item_read_from_the_case_as_stored_is_the_cases_own():
    case = with_photo()
    case.step(ADD_EVIDENCE, CUSTODIAN, HOSPITAL_RECORD)
    case.step(REMOVE_EVIDENCE, ADMIN, REMOVAL_REQUEST)
    stored = case.state.model_dump(mode="json")
    for evidence_id in ("e-1", "e-2"):
        assert CaseState.stored_evidence_item(stored, evidence_id) == case.state.evidence_item(evidence_id) is not None
    assert CaseState.stored_evidence_item(stored, "e-3") is None
    assert CaseState.stored_evidence_item({}, "e-1") is None


def test_a_reference_held_elsewhere_is_removed_with_no_hash():
    case = filed()
    case.step(ADD_EVIDENCE, CUSTODIAN, HOSPITAL_RECORD)
    assert case.step(REMOVE_EVIDENCE, ADMIN, {**REMOVAL_REQUEST, "evidence_id": "e-2"})["sha256"] is None


def test_only_an_item_of_the_case_is_removed_and_only_once():
    case = with_photo()
    refused = case.refusal(REMOVE_EVIDENCE, ADMIN, {**REMOVAL_REQUEST, "evidence_id": "e-9"})
    assert (refused.kind, refused.field, refused.message) == (
        RejectionKind.INVALID,
        "evidence_id",
        "no evidence e-9 in this case",
    )
    case.step(REMOVE_EVIDENCE, ADMIN, REMOVAL_REQUEST)
    refused = case.refusal(REMOVE_EVIDENCE, ADMIN, REMOVAL_REQUEST)
    assert (refused.kind, refused.field, refused.message) == (
        RejectionKind.CONFLICT,
        "evidence_id",
        "evidence 1 was already removed",
    )


def test_a_removed_item_s_id_is_not_taken_again():
    case = with_photo()
    case.step(REMOVE_EVIDENCE, ADMIN, REMOVAL_REQUEST)
    refused = case.refusal(ADD_EVIDENCE, OFFICER, PHOTO)
    assert (refused.kind, refused.message) == (RejectionKind.CONFLICT, "evidence e-1 is already in this case")


def test_a_closed_case_keeps_its_evidence():
    refused = with_photo().withdrawn().refusal(REMOVE_EVIDENCE, ADMIN, REMOVAL_REQUEST)
    assert (refused.kind, refused.message) == (
        RejectionKind.CONFLICT,
        "the case is closed (withdrawn); its evidence stays as it is",
    )


def test_a_removal_asks_for_the_packet_again_once_there_is_one():
    case = with_photo()
    case.step(REMOVE_EVIDENCE, ADMIN, REMOVAL_REQUEST)
    assert REMOVE_EVIDENCE.documents(case.state) == []
    case.investigated().reviewed().approved()
    case.step(ADD_EVIDENCE, OFFICER, HOSPITAL_RECORD)
    case.step(REMOVE_EVIDENCE, ADMIN, {**REMOVAL_REQUEST, "evidence_id": "e-2"})
    assert REMOVE_EVIDENCE.documents(case.state) == [DocumentKind.REFERRAL_PACKET]


# --- withdraw, and what closing does --------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.OFFICER, Role.SUPERVISOR, Role.LEGAL_REVIEWER, Role.PROSECUTOR_LIAISON])
def test_only_command_or_an_admin_withdraws_a_case(role):
    refused = filed().refusal(WITHDRAW, actor(role), WITHDRAWAL)
    assert (refused.kind, refused.message) == (RejectionKind.FORBIDDEN, "withdraw needs the role admin or command")


@pytest.mark.parametrize("who", [COMMANDER, ADMIN])
def test_a_withdrawal_closes_the_case_and_cancels_what_was_left_to_do(who):
    case = filed()
    case.step(ADD_EVIDENCE, OFFICER, PHOTO)
    case.investigated()
    case.later(hours=3).step(WITHDRAW, who, WITHDRAWAL)
    state = case.state
    assert (state.stage, state.disposition, state.closed_at) == (Stage.CLOSED, Disposition.WITHDRAWN, case.now)
    assert (state.withdrawal.payload.reason, state.withdrawal.by.id) == ("Filed in error.", who.user_id)
    statuses = {task: entry.status for task, entry in state.tasks.items()}
    assert statuses[Task.FOOTAGE_HOLD] == statuses[Task.VIOLATION_REPORT] == TaskStatus.DONE  # done stays done
    assert statuses[Task.LEGAL_REVIEW] == TaskStatus.CANCELLED  # open
    assert statuses[Task.CHARGING_DECISION] == statuses[Task.TOUHY_RESPONSE] == TaskStatus.CANCELLED  # pending
    assert state.open_tasks() == [] and state.next_deadline() is None
    assert WITHDRAW.documents(state) == []


def test_a_case_may_be_withdrawn_in_its_prosecution():
    case = filed().charged()
    case.step(WITHDRAW, ADMIN, WITHDRAWAL)
    assert case.state.disposition == Disposition.WITHDRAWN


@pytest.mark.parametrize(("how", "disposition"), [("withdrawn", "withdrawn"), ("declined", "declined")])
def test_a_closed_case_is_not_withdrawn_again(how, disposition):
    case = filed().withdrawn() if how == "withdrawn" else filed().investigated().reviewed(DECLINE)
    refused = case.refusal(WITHDRAW, COMMANDER, WITHDRAWAL)
    assert (refused.kind, refused.message) == (RejectionKind.CONFLICT, f"the case is already closed ({disposition})")


def test_closing_a_case_just_filed_cancels_every_task():
    state = filed().state
    close(state, Disposition.DECLINED, NOW)
    assert state.closed and state.closed_at == NOW
    assert {entry.status for entry in state.tasks.values()} == {TaskStatus.CANCELLED}
