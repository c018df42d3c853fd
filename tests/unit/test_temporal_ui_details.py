"""What the Temporal UI shows of a case: its tasks by their labels, times in the department's zone, a link to the
case on the desk, and nothing personal."""

from referrals.workflows.status import current_details
from tests.support.builders import filed


def test_the_details_speak_the_desk_s_words_in_the_department_s_clock():
    case = filed()
    details = current_details(case.state, "America/Chicago")
    assert details.splitlines()[0] == (
        "**CPD-2026-000001** · district 010 · stage **Investigation** · [open the case on the desk](/desk/cases/c-1)"
    )
    # Due two days after filing (Monday 2 March 2026, 09:00 CST): the footage hold's line, in Chicago's time.
    assert any(line.startswith("- Footage hold: open, due ") and line.endswith("CST") for line in details.splitlines())
    assert "footage_hold" not in details and "UTC" not in details
    for personal in ("Ruiz", "12345", "bystander"):
        assert personal not in details


def test_a_closed_case_says_how_and_when():
    case = filed().withdrawn()
    details = current_details(case.state, "America/Chicago")
    assert "Closed: **Withdrawn**, Mon 02 Mar 2026, 09:00 CST" in details
