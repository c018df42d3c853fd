"""Who may file a case in which district: their own, unless the policy lets one of their roles file in any
(`file_in_any_district`: command, as shipped). Pure: the API's filing and the desk's form both ask it."""

from referrals.domain.enums import Role
from referrals.domain.policy import Policy


def district_refusal(roles: list[Role], own_district: str | None, district: str, policy: Policy) -> str | None:
    """Why this person may not file a case in `district`, in the policy's words; None when they may. A district
    the policy does not list is left to the policy's own check, which names it so."""
    if any(role in policy.file_in_any_district for role in roles):
        return None
    if not policy.admits_district(district) or district == own_district:
        return None
    word = policy.words.district
    if not own_district:
        return (
            f"your account has no {word} of its own, so you may not file in {word} {district}: "
            f"ask an administrator to set your {word}"
        )
    return f"you may file only in your own {word}, {own_district}, not in {word} {district}"
