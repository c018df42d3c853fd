"""Which choices cannot be undone, and so are confirmed before they are sent: decided in one place."""

import pytest

from referrals.domain import steps
from referrals.domain.steps.confirming import IRREVERSIBLE, consequence

CASE = "CPD-2026-000004"


@pytest.mark.parametrize(
    ("step", "values"),
    [
        ("withdraw", {"reason": "Filed twice."}),
        ("legal_review", {"decision": "decline"}),
        ("command_approval", {"decision": "reject"}),
        ("charging_decision", {"decision": "declined"}),
        ("prosecution_outcome", {"outcome": "plea"}),
        ("prosecution_outcome", {}),
    ],
)
def test_choices_that_close_the_case_are_confirmed_with_their_consequence(step, values):
    said = consequence(step, values, CASE)
    assert said is not None and f"closes case {CASE} for good" in said
    assert "no step can be taken on it again" in said


@pytest.mark.parametrize(
    ("step", "values"),
    [
        ("legal_review", {"decision": "refer"}),
        ("legal_review", {"decision": "return"}),
        ("legal_review", {}),
        ("command_approval", {"decision": "approve"}),
        ("charging_decision", {"decision": "charged"}),
        ("charging_decision", {"decision": "grand_jury"}),
        ("charging_decision", {"decision": "further_investigation"}),
        ("footage_hold", {}),
        ("violation_report", {"decision": "decline"}),
        ("no_such_step", {"decision": "decline"}),
    ],
)
def test_choices_that_can_be_followed_by_more_are_not(step, values):
    assert consequence(step, values, CASE) is None


def test_the_withdrawal_says_it_in_words():
    assert consequence("withdraw", {}, CASE) == (
        f"Withdrawing closes case {CASE} for good: its open tasks are cancelled and no step can be taken on it again."
    )
    assert "(Plea)" in (consequence("prosecution_outcome", {"outcome": "plea"}, CASE) or "")


def test_every_irreversible_rule_names_a_declared_step_with_a_form():
    for name in IRREVERSIBLE:
        spec = steps.step(name)
        assert spec is not None and spec.form, name
