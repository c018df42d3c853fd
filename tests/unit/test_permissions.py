"""The permission matrix (referrals/domain/permissions.py): each human step with its declaration's roles, beside
the operations that are not steps; the API's routes and the workflow's validators both ask it."""

import pytest

from referrals.domain.enums import Role
from referrals.domain.permissions import ALLOWED, OTHERS, Operation, allowed, describe
from referrals.domain.steps import STEPS

LIAISON_OR_COMMAND = {"command", "prosecutor_liaison"}
# Who may take each step, as a reader of the README would expect it.
STEP_ROLES = {
    "footage_hold": {"evidence_custodian"},
    "supervisor_identification": {"officer", "supervisor"},
    "violation_report": {"officer", "supervisor"},
    "add_person": {"officer", "supervisor", "legal_reviewer"},
    "file_supplement": {"officer", "supervisor"},
    "add_evidence": {"officer", "supervisor", "evidence_custodian"},
    "remove_evidence": {"admin"},
    "legal_review": {"legal_reviewer"},
    "command_approval": {"command"},
    "referral_acknowledgement": {"prosecutor_liaison"},
    "touhy_response": LIAISON_OR_COMMAND,
    "held_subject_review": {"legal_reviewer"},
    "charging_decision": LIAISON_OR_COMMAND,
    "arraignment": LIAISON_OR_COMMAND,
    "removal_notice": LIAISON_OR_COMMAND,
    "removal_outcome": LIAISON_OR_COMMAND,
    "prosecution_outcome": LIAISON_OR_COMMAND,
    "withdraw": {"command", "admin"},
}


@pytest.mark.parametrize("spec", STEPS, ids=[s.name for s in STEPS])
def test_every_declared_step_is_in_the_matrix_with_its_declaration_s_roles(spec):
    assert ALLOWED[spec.name] == spec.roles


def test_the_matrix_holds_the_steps_and_the_other_operations_and_nothing_else():
    assert set(ALLOWED) == {s.name for s in STEPS} | set(OTHERS)
    assert len(ALLOWED) == len(STEPS) + len(OTHERS) == len(list(ALLOWED))
    with pytest.raises(KeyError):
        ALLOWED["delete_case"]


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("name", sorted(STEP_ROLES))
def test_who_may_take_each_step(name, role):
    assert allowed(name, [role]) is (role.value in STEP_ROLES[name])


def test_the_steps_are_those_a_reader_expects():
    assert {s.name for s in STEPS} == set(STEP_ROLES)


def test_one_role_among_several_is_enough_and_no_role_is_never_enough():
    assert allowed("legal_review", [Role.AUDITOR, Role.LEGAL_REVIEWER])
    assert not allowed("legal_review", [])
    assert not allowed(Operation.MANAGE_USERS, [Role.COMMAND, Role.LEGAL_REVIEWER, Role.OFFICER])


def test_the_auditor_reads_and_changes_nothing():
    assert [s.name for s in STEPS if Role.AUDITOR in s.roles] == []
    assert allowed(Operation.READ_ACCESS_LOG, [Role.AUDITOR])
    assert ALLOWED[Operation.READ_ACCESS_LOG] == {Role.AUDITOR}


def test_only_officers_and_supervisors_file_and_only_the_custodian_holds_evidence():
    assert ALLOWED[Operation.FILE] == {Role.OFFICER, Role.SUPERVISOR}
    assert ALLOWED[Operation.HOLD_EVIDENCE] == {Role.EVIDENCE_CUSTODIAN}


def test_contact_details_are_need_to_know():
    assert ALLOWED[Operation.READ_CONTACT] == {
        Role.OFFICER,
        Role.SUPERVISOR,
        Role.LEGAL_REVIEWER,
        Role.PROSECUTOR_LIAISON,
    }
    for role in (Role.COMMAND, Role.AUDITOR, Role.ADMIN, Role.EVIDENCE_CUSTODIAN):
        assert not allowed(Operation.READ_CONTACT, [role])


def test_payloads_are_decoded_only_by_roles_that_see_every_case_and_encoded_by_admins():
    assert ALLOWED[Operation.DECODE_PAYLOADS] == set(Role) - {Role.OFFICER, Role.SUPERVISOR}
    assert ALLOWED[Operation.ENCODE_PAYLOADS] == {Role.ADMIN}
    assert ALLOWED[Operation.MANAGE_USERS] == ALLOWED[Operation.PUBLISH_FIGURES] == {Role.ADMIN}


@pytest.mark.parametrize(
    ("operation", "said"),
    [
        ("footage_hold", "evidence_custodian"),
        ("add_person", "legal_reviewer or officer or supervisor"),
        ("touhy_response", "command or prosecutor_liaison"),
        ("withdraw", "admin or command"),
        (Operation.READ_CONTACT, "legal_reviewer or officer or prosecutor_liaison or supervisor"),
    ],
)
def test_describe_names_the_roles_in_order(operation, said):
    assert describe(operation) == said
