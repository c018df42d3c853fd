"""What a filing or a supplement must agree with in the case's policy: its district and its recordings' flags,
and (in the policy's time zone) the order of its dates.

Pure: the API checks a filing against the policy it will carry; the workflow checks a supplement against the
case's own copy, so a policy edited since the filing never refuses, or admits, what the case was filed under.
"""

from referrals.domain.chronology import out_of_order
from referrals.domain.errors import Rejection, RejectionKind
from referrals.domain.messages import IncidentFiling, RecordingIn
from referrals.domain.policy import Policy


def _listing(codes: list[str], limit: int = 12) -> str:
    shown = ", ".join(codes[:limit])
    return shown + (f" and {len(codes) - limit} more" if len(codes) > limit else "")


def flag_problems(recordings: list[RecordingIn], policy: Policy) -> list[dict[str, str]]:
    """[{field, message}] for each flag reason the policy does not list."""
    known = [f.code for f in policy.recording_flags]
    return [
        {
            "field": f"recordings[{i}].flag_reasons[{j}]",
            "message": f"'{code}' is not a recording flag of this policy (one of: {_listing(known)})",
        }
        for i, recording in enumerate(recordings)
        for j, code in enumerate(recording.flag_reasons)
        if policy.flag(code) is None
    ]


def filing_problems(filing: IncidentFiling, policy: Policy) -> list[dict[str, str]]:
    """A filing's district and flags against the policy: [{field, message}], empty when it agrees."""
    problems = []
    if not policy.admits_district(filing.district):
        word = policy.words.district
        problems.append(
            {
                "field": "district",
                "message": f"'{filing.district}' is not a {word} of the {policy.department} "
                f"(one of: {_listing([d.code for d in policy.districts])})",
            }
        )
    return problems + flag_problems(filing.recordings, policy) + order_problems(filing, policy)


def order_problems(filing: IncidentFiling, policy: Policy) -> list[dict[str, str]]:
    """[{field, message}] for each statement of the filing's people dated before the incident (a filing's own
    dates in order; the steps' are checked by the steps, referrals/domain/chronology.py)."""
    return [
        {"field": f"people[{i}].statements[{j}].taken_at", "message": problem}
        for i, person in enumerate(getattr(filing, "people", None) or [])
        for j, statement in enumerate(person.statements)
        if (problem := out_of_order(statement.taken_at, filing.occurred_at, "the incident", policy.zone))
    ]


def refuse_unknown_flags(recordings: list[RecordingIn], policy: Policy) -> None:
    if problems := flag_problems(recordings, policy):
        raise Rejection(RejectionKind.INVALID, problems[0]["message"], problems[0]["field"])
