"""What holds for every declared step: who takes it is checked first, a closed case takes none, each task has
its step and its owner may take it. A step declared later must be given a sample body in SAMPLES below, or
these tests fail naming it."""

import dataclasses

import pytest

from referrals.domain.enums import TASK_OWNER, Role, Task
from referrals.domain.errors import RejectionKind
from referrals.domain.steps import STEPS, StepSpec, declare, describe_roles, step
from tests.support.builders import (
    ACK,
    APPROVE,
    CHARGED,
    DISMISSED,
    HOLD_1,
    IDENTIFIED,
    PHOTO,
    REFER,
    REMANDED,
    REMOVAL,
    VIOLATIONS,
    WITHDRAWAL,
    WITNESS,
    actor,
    answer,
    filed,
)

SAMPLES = {
    "footage_hold": {"holds": [HOLD_1]},
    "supervisor_identification": IDENTIFIED,
    "violation_report": VIOLATIONS,
    "legal_review": REFER,
    "command_approval": APPROVE,
    "referral_acknowledgement": ACK,
    "touhy_response": answer("T1"),
    "held_subject_review": {"subject": "agent in blue cap", "disposition": "not_charged", "rationale": "Immune."},
    "charging_decision": CHARGED,
    "arraignment": {"arraignment_date": "2026-03-04"},
    "removal_notice": REMOVAL,
    "removal_outcome": REMANDED,
    "prosecution_outcome": DISMISSED,
    "add_person": WITNESS,
    "file_supplement": {"narrative": "Canvass done."},
    "add_evidence": PHOTO,
    "remove_evidence": {"evidence_id": "e-1", "reason": "Attached to the wrong case."},
    "withdraw": WITHDRAWAL,
}
EVERY_STEP = pytest.mark.parametrize("spec", STEPS, ids=[s.name for s in STEPS])


def outsider(spec: StepSpec):
    """Someone holding every role but the step's."""
    return actor(*(r for r in Role if r not in spec.roles), user_id="u-outsider")


def test_every_declared_step_has_a_sample_body_here():
    assert sorted(s.name for s in STEPS) == sorted(SAMPLES)


@EVERY_STEP
def test_a_step_is_refused_to_whoever_lacks_its_roles_naming_them(spec):
    refused = filed().refusal(spec, outsider(spec), SAMPLES[spec.name])
    assert (refused.kind, refused.field) == (RejectionKind.FORBIDDEN, None)
    assert refused.message == f"{spec.name} needs the role {' or '.join(sorted(r.value for r in spec.roles))}"


@EVERY_STEP
def test_who_takes_a_step_is_checked_before_the_case_s_state(spec):
    refused = filed().withdrawn().refusal(spec, actor(user_id="u-nobody"), SAMPLES[spec.name])
    assert refused.kind == RejectionKind.FORBIDDEN


@EVERY_STEP
def test_a_closed_case_takes_no_step(spec):
    someone = actor(min(spec.roles), Role.AUDITOR, user_id="u-someone")  # one of its roles is enough
    case = filed().withdrawn()
    refused = case.refusal(spec, someone, SAMPLES[spec.name])
    assert refused.kind == RejectionKind.CONFLICT
    assert "closed (withdrawn)" in refused.message
    assert not spec.offered_now(case.state)


@pytest.mark.parametrize("task", list(Task))
def test_each_task_has_its_step_and_its_owner_may_take_it(task):
    spec = step(task.value)
    assert spec is not None and spec.task == task
    assert TASK_OWNER[task] in spec.roles


def test_a_new_case_offers_the_investigation_and_the_steps_of_any_stage():
    state = filed().state
    assert {s.name for s in STEPS if s.offered_now(state)} == {
        "footage_hold",
        "supervisor_identification",
        "violation_report",
        "add_person",
        "file_supplement",
        "withdraw",
        "add_evidence",
        "remove_evidence",
    }


def test_step_names_and_events_are_unique_and_names_give_their_paths():
    assert len({s.name for s in STEPS}) == len({s.event for s in STEPS}) == len(STEPS)
    paths = {s.name: s.api_path for s in STEPS}
    assert paths["footage_hold"] == "/footage-hold"
    assert paths["add_person"] == "/people"
    assert paths["file_supplement"] == "/supplements"
    assert paths["withdraw"] == "/withdrawal"
    assert paths["touhy_response"] == "/touhy-requests/{request_id}/response"


def test_a_step_s_workflow_payload_is_its_request_unless_it_seals_something():
    differs = {s.name: (s.request.__name__, s.workflow_payload.__name__) for s in STEPS if s.payload}
    assert differs == {
        "legal_review": ("LegalReviewIn", "LegalReview"),
        "add_person": ("PersonIn", "Person"),
        "file_supplement": ("SupplementIn", "Supplement"),
    }


def test_describe_roles_lists_them_in_order():
    assert describe_roles(frozenset({Role.PROSECUTOR_LIAISON, Role.COMMAND})) == "command or prosecutor_liaison"


def test_a_step_is_declared_once_and_a_task_s_step_has_the_task_s_name():
    hold = step("footage_hold")
    same = {f.name: getattr(hold, f.name) for f in dataclasses.fields(StepSpec)}
    count = len(STEPS)
    with pytest.raises(ValueError, match="a step named 'footage_hold' is already declared"):
        declare(**same)
    with pytest.raises(ValueError, match="step 'hold_again' works on task 'footage_hold': a step has its task's name"):
        declare(**{**same, "name": "hold_again", "event": "hold_again_confirmed"})
    assert len(STEPS) == count  # neither was registered
