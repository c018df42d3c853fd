"""domain/filing_district: an officer or supervisor files in their own district; command, as the shipped policies
say, in any. Pure: no database, no Temporal."""

import pytest

from referrals.config import ROOT
from referrals.domain.enums import Role
from referrals.domain.filing_district import district_refusal
from referrals.domain.policy import Policy, load_policy

CHICAGO = load_policy(ROOT / "policy" / "chicago.toml")
NEW_YORK = load_policy(ROOT / "policy" / "new_york_city.toml")


@pytest.mark.parametrize("roles", [[Role.OFFICER], [Role.SUPERVISOR], [Role.OFFICER, Role.SUPERVISOR]])
def test_an_officer_or_supervisor_files_in_their_own_district_only(roles):
    assert district_refusal(roles, "010", "010", CHICAGO) is None
    assert (
        district_refusal(roles, "010", "012", CHICAGO) == "you may file only in your own district, 010, not in "
        "district 012"
    )


def test_command_files_in_any_district_as_the_shipped_policies_say():
    for policy in (CHICAGO, NEW_YORK, load_policy(ROOT / "policy" / "minneapolis.toml")):
        assert policy.file_in_any_district == [Role.COMMAND]
    assert district_refusal([Role.OFFICER, Role.COMMAND], "010", "012", CHICAGO) is None
    assert district_refusal([Role.COMMAND], None, "012", CHICAGO) is None


def test_the_policy_may_let_supervisors_file_anywhere_and_defaults_to_command():
    data = CHICAGO.model_dump()
    supervisors = Policy.model_validate({**data, "file_in_any_district": ["supervisor", "command"]})
    assert district_refusal([Role.SUPERVISOR], "010", "012", supervisors) is None
    assert district_refusal([Role.OFFICER], "010", "012", supervisors) is not None
    data.pop("file_in_any_district")
    assert Policy.model_validate(data).file_in_any_district == [Role.COMMAND]  # a case filed before the setting
    nobody = Policy.model_validate({**data, "file_in_any_district": []})
    assert district_refusal([Role.COMMAND], "010", "012", nobody) is not None


def test_an_account_without_a_district_is_told_to_have_one_set():
    assert district_refusal([Role.OFFICER], None, "010", CHICAGO) == (
        "your account has no district of its own, so you may not file in district 010: ask an administrator to set "
        "your district"
    )


def test_in_the_policys_words_and_a_district_it_does_not_list_is_left_to_its_own_check():
    assert district_refusal([Role.OFFICER], "75", "14", NEW_YORK) == (
        "you may file only in your own precinct, 75, not in precinct 14"
    )
    assert district_refusal([Role.OFFICER], "010", "ZZ9", CHICAGO) is None  # refused as not a district, 422
