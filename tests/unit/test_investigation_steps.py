"""The investigation's three steps: the footage holds, the federal supervisor on scene, the violations alleged."""

from datetime import timedelta

import pytest

from referrals.domain.enums import DocumentKind, Role, Stage, TaskStatus
from referrals.domain.errors import RejectionKind
from referrals.domain.steps import FOOTAGE_HOLD, LEGAL_REVIEW, SUPERVISOR_IDENTIFICATION, VIOLATION_REPORT
from tests.support.builders import (
    CAMERA_1,
    CAMERA_2,
    CUSTODIAN,
    HOLD_1,
    HOLD_2,
    IDENTIFIED,
    KEEP_UNTIL,
    NOW,
    OFFICER,
    PURGE_DATE,
    RETURN,
    SUPERVISOR,
    VIOLATIONS,
    actor,
    filed,
    filing,
)

# --- footage_hold ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", [OFFICER, SUPERVISOR, actor(Role.COMMAND), actor(Role.ADMIN)])
def test_only_the_evidence_custodian_confirms_a_hold(who):
    refused = filed().refusal(FOOTAGE_HOLD, who, {"holds": [HOLD_1]})
    assert (refused.kind, refused.message, refused.field) == (
        RejectionKind.FORBIDDEN,
        "footage_hold needs the role evidence_custodian",
        None,
    )


def test_a_hold_names_a_camera_of_the_case():
    refused = filed().refusal(FOOTAGE_HOLD, CUSTODIAN, {"holds": [HOLD_1, {**HOLD_2, "camera_id": "NOPE"}]})
    assert (refused.kind, refused.field) == (RejectionKind.INVALID, "holds[1].camera_id")
    assert refused.message == "camera 'NOPE' is not among this case's recordings"


def test_a_hold_must_keep_the_recording_past_its_purge_date():
    case = filed()
    on_the_day = {**HOLD_1, "retained_until": PURGE_DATE.isoformat()}
    refused = case.refusal(FOOTAGE_HOLD, CUSTODIAN, {"holds": [on_the_day]})
    assert (refused.kind, refused.field) == (RejectionKind.INVALID, "holds[0].retained_until")
    assert refused.message == f"must be after the recording's purge date {PURGE_DATE.isoformat()}"
    day_after = {**HOLD_1, "retained_until": (PURGE_DATE + timedelta(days=1)).isoformat()}
    case.step(FOOTAGE_HOLD, CUSTODIAN, {"holds": [day_after]})
    assert case.state.recording(CAMERA_1).held


def test_an_unflagged_recording_purges_sooner_so_a_shorter_hold_suffices():
    case = filed(filing(recordings=[{**filing()["recordings"][0], "flag_reasons": []}]))
    purge = case.state.recording(CAMERA_1).purge_at.date()
    assert purge == (NOW - timedelta(hours=2) + timedelta(days=90)).date()
    case.step(FOOTAGE_HOLD, CUSTODIAN, {"holds": [{**HOLD_1, "retained_until": "2026-06-01"}]})
    assert case.state.tasks["footage_hold"].status == TaskStatus.DONE


def test_a_custodian_cannot_hold_a_camera_twice_in_one_round():
    case = filed()
    case.step(FOOTAGE_HOLD, CUSTODIAN, {"holds": [HOLD_1]})
    refused = case.refusal(FOOTAGE_HOLD, CUSTODIAN, {"holds": [HOLD_2, {**HOLD_1, "hold_reference": "AXON-9"}]})
    assert (refused.kind, refused.field) == (RejectionKind.CONFLICT, "holds[1].camera_id")
    assert refused.message == f"camera '{CAMERA_1}' is already held under AXON-2026-0042"


def test_a_partial_hold_leaves_the_task_open_until_every_recording_is_held():
    case = filed()
    case.step(FOOTAGE_HOLD, CUSTODIAN, {"holds": [HOLD_1]})
    held = case.state.recording(CAMERA_1)
    assert (held.hold_reference, held.retained_until.isoformat(), held.hold_round) == (
        "AXON-2026-0042",
        KEEP_UNTIL,
        1,
    )
    assert (held.held_by.id, held.held_at) == (CUSTODIAN.user_id, NOW)
    assert not case.state.recording(CAMERA_2).held
    assert case.state.tasks["footage_hold"].status == TaskStatus.OPEN

    case.later(hours=1).step(FOOTAGE_HOLD, CUSTODIAN, {"holds": [HOLD_2]})
    task = case.state.tasks["footage_hold"]
    assert (task.status, task.completed_by.id, task.completed_at) == (
        TaskStatus.DONE,
        CUSTODIAN.user_id,
        NOW + timedelta(hours=1),
    )


def test_once_every_recording_is_held_the_task_is_done_and_refuses_more():
    case = filed()
    case.step(FOOTAGE_HOLD, CUSTODIAN, {"holds": [HOLD_1, HOLD_2]})
    refused = case.refusal(FOOTAGE_HOLD, CUSTODIAN, {"holds": [HOLD_1]})
    assert (refused.kind, refused.message) == (RejectionKind.CONFLICT, "footage_hold is already done")


def test_a_case_without_recordings_has_nothing_to_hold():
    case = filed(filing(recordings=[]))
    assert case.state.tasks["footage_hold"].status == TaskStatus.DONE
    refused = case.refusal(FOOTAGE_HOLD, CUSTODIAN, {"holds": [HOLD_1]})
    assert (refused.kind, refused.message) == (RejectionKind.CONFLICT, "footage_hold is already done")


def test_a_return_that_reopens_the_hold_asks_for_every_camera_again():
    case = filed().investigated()
    case.step(LEGAL_REVIEW, actor(Role.LEGAL_REVIEWER), {**RETURN, "return_tasks": ["footage_hold"]})
    assert (case.state.stage, case.state.investigation_round) == (Stage.INVESTIGATION, 2)
    assert case.state.tasks["footage_hold"].status == TaskStatus.OPEN
    again = {**HOLD_1, "hold_reference": "AXON-2026-0142"}
    case.step(FOOTAGE_HOLD, CUSTODIAN, {"holds": [again]})
    assert case.state.recording(CAMERA_1).hold_round == 2
    assert case.state.tasks["footage_hold"].status == TaskStatus.OPEN  # camera 2 is still held from round 1 only
    case.step(FOOTAGE_HOLD, CUSTODIAN, {"holds": [HOLD_2]})
    assert case.state.stage == Stage.LEGAL_REVIEW


def test_a_partial_hold_asks_for_the_preservation_request_again_and_the_last_for_the_confirmation():
    case = filed()
    assert FOOTAGE_HOLD.documents(case.state) == [DocumentKind.PRESERVATION_REQUEST]
    case.step(FOOTAGE_HOLD, CUSTODIAN, {"holds": [HOLD_1]})
    assert case.state.documents_pending == [DocumentKind.PRESERVATION_REQUEST]  # camera 2 is still to hold
    case.step(FOOTAGE_HOLD, CUSTODIAN, {"holds": [HOLD_2]})
    assert case.state.documents_pending == [DocumentKind.PRESERVATION_REQUEST, DocumentKind.HOLD_CONFIRMATION]
    assert FOOTAGE_HOLD.documents(filed(filing(recordings=[])).state) == []


def test_every_recording_held_at_once_asks_for_the_confirmation_alone():
    case = filed()
    case.step(FOOTAGE_HOLD, CUSTODIAN, {"holds": [HOLD_1, HOLD_2]})
    assert case.state.documents_pending == [DocumentKind.HOLD_CONFIRMATION]


def test_the_hold_s_audit_event_records_the_holds_as_sent():
    case = filed()
    data = case.step(FOOTAGE_HOLD, CUSTODIAN, {"holds": [HOLD_1]})
    assert data == {"holds": [HOLD_1]}


# --- supervisor_identification --------------------------------------------------------------------------------


@pytest.mark.parametrize("who", [CUSTODIAN, actor(Role.LEGAL_REVIEWER), actor(Role.COMMAND), actor(Role.AUDITOR)])
def test_only_an_officer_or_supervisor_records_the_federal_supervisor(who):
    refused = filed().refusal(SUPERVISOR_IDENTIFICATION, who, IDENTIFIED)
    assert (refused.kind, refused.message) == (
        RejectionKind.FORBIDDEN,
        "supervisor_identification needs the role officer or supervisor",
    )


def test_the_identification_names_a_camera_of_the_case():
    refused = filed().refusal(SUPERVISOR_IDENTIFICATION, OFFICER, {**IDENTIFIED, "camera_id": "Z1"})
    assert (refused.kind, refused.field, refused.message) == (
        RejectionKind.INVALID,
        "camera_id",
        "camera 'Z1' is not among this case's recordings",
    )


@pytest.mark.parametrize("who", [OFFICER, SUPERVISOR])
def test_the_identification_is_recorded_and_completes_its_task(who):
    case = filed()
    case.step(SUPERVISOR_IDENTIFICATION, who, IDENTIFIED)
    recorded = case.state.supervisor_identification
    assert (recorded.payload.name, recorded.payload.agency, recorded.by.id, recorded.at) == (
        "J. Doe",
        "ICE",
        who.user_id,
        NOW,
    )
    assert case.state.tasks["supervisor_identification"].status == TaskStatus.DONE
    assert SUPERVISOR_IDENTIFICATION.documents(case.state) == []


def test_no_supervisor_on_scene_needs_no_camera():
    case = filed()
    case.step(SUPERVISOR_IDENTIFICATION, OFFICER, {"outcome": "not_present"})
    assert case.state.supervisor_identification.payload.camera_id is None


def test_the_identification_is_taken_once():
    case = filed()
    case.step(SUPERVISOR_IDENTIFICATION, OFFICER, IDENTIFIED)
    refused = case.refusal(SUPERVISOR_IDENTIFICATION, OFFICER, IDENTIFIED)
    assert (refused.kind, refused.message) == (RejectionKind.CONFLICT, "supervisor_identification is already done")


def test_a_return_reopens_the_identification_to_be_taken_again():
    case = filed().investigated()
    case.step(LEGAL_REVIEW, actor(Role.LEGAL_REVIEWER), RETURN)
    assert case.state.tasks["supervisor_identification"].status == TaskStatus.OPEN
    assert case.state.tasks["violation_report"].status == TaskStatus.DONE
    case.step(SUPERVISOR_IDENTIFICATION, OFFICER, {**IDENTIFIED, "name": "J. Doe Jr."})
    assert case.state.supervisor_identification.payload.name == "J. Doe Jr."
    assert case.state.stage == Stage.LEGAL_REVIEW


# --- violation_report -----------------------------------------------------------------------------------------


def test_only_an_officer_or_supervisor_reports_the_violations():
    refused = filed().refusal(VIOLATION_REPORT, CUSTODIAN, VIOLATIONS)
    assert (refused.kind, refused.message) == (
        RejectionKind.FORBIDDEN,
        "violation_report needs the role officer or supervisor",
    )


@pytest.mark.parametrize("statute", ["18 U.S.C. 242", "720 ilcs 5/12-3", "720 ILCS 5/12-99"])
def test_each_allegation_cites_a_statute_of_the_catalogue(statute):
    second = {**VIOLATIONS["allegations"][0], "statute": statute}
    body = {**VIOLATIONS, "allegations": [*VIOLATIONS["allegations"], second]}
    refused = filed().refusal(VIOLATION_REPORT, OFFICER, body)
    assert (refused.kind, refused.field) == (RejectionKind.INVALID, "allegations[1].statute")
    assert refused.message == f"'{statute}' is not in the statute catalogue"


def test_a_statute_typed_with_spaces_around_it_is_the_catalogue_s():
    padded = {**VIOLATIONS["allegations"][0], "statute": "  720 ILCS 5/12-3 "}
    case = filed()
    case.step(VIOLATION_REPORT, OFFICER, {**VIOLATIONS, "allegations": [padded]})
    assert case.state.alleged_statutes() == ["720 ILCS 5/12-3"]


def test_the_report_is_recorded_and_the_last_investigation_task_ends_the_stage():
    case = filed()
    case.step(FOOTAGE_HOLD, CUSTODIAN, {"holds": [HOLD_1, HOLD_2]})
    case.step(SUPERVISOR_IDENTIFICATION, OFFICER, IDENTIFIED)
    assert case.state.stage == Stage.INVESTIGATION
    case.step(VIOLATION_REPORT, SUPERVISOR, VIOLATIONS)
    assert case.state.violation_report.by.id == SUPERVISOR.user_id
    assert case.state.alleged_statutes() == ["720 ILCS 5/12-3"]
    assert case.state.tasks["violation_report"].status == TaskStatus.DONE
    assert case.state.stage == Stage.LEGAL_REVIEW


def test_a_closed_case_takes_no_investigation_step():
    case = filed().withdrawn()
    for spec, who, body in (
        (FOOTAGE_HOLD, CUSTODIAN, {"holds": [HOLD_1]}),
        (SUPERVISOR_IDENTIFICATION, OFFICER, IDENTIFIED),
        (VIOLATION_REPORT, OFFICER, VIOLATIONS),
    ):
        refused = case.refusal(spec, who, body)
        assert (refused.kind, refused.message) == (
            RejectionKind.CONFLICT,
            f"the case is closed (withdrawn); {spec.name} is not open",
        )
