"""The choices that cannot be undone, in one place: which step with which values closes a case for good, and the
sentence that says so before it is sent (the desk's confirmation page, referrals/web/routes/case.py).

`values` are what was submitted, field by field (the desk's form fields or the API's body: the choice is a
top-level field either way); nothing else decides whether a step is confirmed first."""

from collections.abc import Callable, Mapping
from typing import Any

from referrals.domain.enums import ApprovalDecision, ChargingKind, ReviewDecision
from referrals.domain.words import label

# What closing a case does, the same for every way of closing it (referrals/domain/steps/closing.py, `close`).
_FOR_GOOD = "its open tasks are cancelled and no step can be taken on it again"


def _withdraw(values: Mapping[str, Any], case: str) -> str | None:
    return f"Withdrawing closes case {case} for good: {_FOR_GOOD}."


def _legal_review(values: Mapping[str, Any], case: str) -> str | None:
    if values.get("decision") != ReviewDecision.DECLINE:
        return None
    return f"Declining the referral closes case {case} for good, as declined: it is not referred, {_FOR_GOOD}."


def _command_approval(values: Mapping[str, Any], case: str) -> str | None:
    if values.get("decision") != ApprovalDecision.REJECT:
        return None
    return f"Rejecting the referral closes case {case} for good, as declined: it is not referred, {_FOR_GOOD}."


def _charging_decision(values: Mapping[str, Any], case: str) -> str | None:
    if values.get("decision") != ChargingKind.DECLINED:
        return None
    return (
        f"Recording that the prosecutor declined to charge closes case {case} for good: no charge follows, {_FOR_GOOD}."
    )


def _prosecution_outcome(values: Mapping[str, Any], case: str) -> str | None:
    outcome = values.get("outcome")
    shown = f" ({label(outcome)})" if isinstance(outcome, str) and outcome else ""
    return f"Recording the final outcome{shown} closes case {case} for good: {_FOR_GOOD}."


IRREVERSIBLE: dict[str, Callable[[Mapping[str, Any], str], str | None]] = {
    "withdraw": _withdraw,
    "legal_review": _legal_review,
    "command_approval": _command_approval,
    "charging_decision": _charging_decision,
    "prosecution_outcome": _prosecution_outcome,
}


def consequence(step: str, values: Mapping[str, Any], case_number: str) -> str | None:
    """What taking `step` with `values` does that cannot be undone, in words, or None when it can be undone."""
    rule = IRREVERSIBLE.get(step)
    return rule(values, case_number) if rule is not None else None
