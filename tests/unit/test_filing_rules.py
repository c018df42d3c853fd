"""What a filing must agree with in its policy (a district it lists, the recording flags it knows) and who may
file in which district, in the jurisdiction's own words."""

import pytest

from referrals.domain.enums import Role
from referrals.domain.filing_district import district_refusal
from referrals.domain.jurisdiction import filing_problems, flag_problems
from referrals.domain.messages import IncidentFiling
from referrals.domain.policy import load_policy
from tests.support.builders import CHICAGO, FILING, POLICIES, filing

NEW_YORK = load_policy(POLICIES / "new_york_city.toml")
RECORDING = FILING["recordings"][0]


def problems(body: dict, policy=CHICAGO) -> list[tuple[str, str]]:
    return [(p["field"], p["message"]) for p in filing_problems(IncidentFiling.model_validate(body), policy)]


def test_a_filing_from_a_listed_district_with_known_flags_agrees_with_the_policy():
    assert problems(filing()) == []


def test_a_district_the_policy_does_not_list_is_named_with_the_first_few_it_does():
    assert problems(filing(district="013")) == [
        (
            "district",
            "'013' is not a district of the Chicago Police Department (one of: 001, 002, 003, 004, 005, 006, 007, "
            "008, 009, 010, 011, 012 and 10 more)",
        )
    ]


def test_new_york_says_precinct():
    (found,) = problems(filing(district="0", recordings=[]), NEW_YORK)
    assert found[1].startswith("'0' is not a precinct of the New York City Police Department (one of: 1, 5, 6,")
    assert found[1].endswith(" and 66 more)")


def test_a_policy_listing_no_district_admits_any():
    assert problems(filing(district="ZZ9"), CHICAGO.model_copy(update={"districts": []})) == []


def test_each_unknown_flag_is_named_where_it_is():
    body = filing(
        recordings=[
            {**RECORDING, "flag_reasons": ["use_of_force", "looked_suspicious"]},
            {**FILING["recordings"][1], "flag_reasons": ["complaint_of_a_neighbour"]},
        ]
    )
    found = problems(body)
    assert [f for f, _ in found] == ["recordings[0].flag_reasons[1]", "recordings[1].flag_reasons[0]"]
    assert found[0][1] == (
        "'looked_suspicious' is not a recording flag of this policy (one of: complaint, use_of_force, "
        "death_or_great_bodily_harm, detention_or_arrest, officer_under_investigation, evidentiary_value, "
        "officer_request)"
    )


def test_flags_are_the_policy_s_own():
    """New York's flags are not Chicago's: a recording flagged as Chicago flags it is refused there."""
    recording = IncidentFiling.model_validate(filing()).recordings[0]
    assert flag_problems([recording], CHICAGO) == []
    assert [p["field"] for p in flag_problems([recording], NEW_YORK)] == ["recordings[0].flag_reasons[1]"]


def test_the_district_and_the_flags_are_named_together():
    body = filing(district="099", recordings=[{**RECORDING, "flag_reasons": ["x"]}])
    assert [f for f, _ in problems(body)] == ["district", "recordings[0].flag_reasons[0]"]


@pytest.mark.parametrize(
    ("roles", "own", "district", "refusal"),
    [
        ([Role.OFFICER], "010", "010", None),
        ([Role.SUPERVISOR], "010", "010", None),
        ([Role.OFFICER], "010", "007", "you may file only in your own district, 010, not in district 007"),
        ([Role.SUPERVISOR], "012", "007", "you may file only in your own district, 012, not in district 007"),
        ([Role.OFFICER, Role.COMMAND], "010", "007", None),  # command files anywhere (file_in_any_district)
        ([Role.COMMAND], None, "007", None),
        (
            [Role.OFFICER],
            None,
            "007",
            "your account has no district of its own, so you may not file in district 007: "
            "ask an administrator to set your district",
        ),
        ([Role.OFFICER], "010", "ZZ9", None),  # not the policy's district: its own check names it
    ],
)
def test_who_may_file_in_which_district(roles, own, district, refusal):
    assert district_refusal(roles, own, district, CHICAGO) == refusal


def test_new_york_refuses_in_its_own_words():
    assert district_refusal([Role.OFFICER], "1", "5", NEW_YORK) == (
        "you may file only in your own precinct, 1, not in precinct 5"
    )


def test_a_policy_may_let_supervisors_file_anywhere():
    policy = CHICAGO.model_copy(update={"file_in_any_district": [Role.COMMAND, Role.SUPERVISOR]})
    assert district_refusal([Role.SUPERVISOR], "010", "007", policy) is None
    assert district_refusal([Role.OFFICER], "010", "007", policy) is not None
