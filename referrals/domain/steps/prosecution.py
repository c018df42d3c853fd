"""After the referral: the prosecutor's charging decision and what the courts do with a charged case."""

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from referrals.domain.case import CaseState, PersonRef, ProsecutionState, Recorded, complete_task, removal_window
from referrals.domain.chronology import require_order, shown
from referrals.domain.enums import ChargingKind, ProsecutionOutcome, Stage, Task
from referrals.domain.errors import Rejection, RejectionKind
from referrals.domain.messages import (
    Arraignment,
    ChargingDecision,
    ProsecutionOutcomeIn,
    RemovalNotice,
    RemovalOutcome,
    Step,
)
from referrals.domain.policy import Policy
from referrals.domain.steps.declaration import declare, require_not_closed
from referrals.domain.steps.review import PROSECUTION_SIDE


def _require_prosecution(state: CaseState, what: str) -> ProsecutionState:
    require_not_closed(state, what)
    if state.stage != Stage.PROSECUTION or state.prosecution is None:
        raise Rejection(
            RejectionKind.CONFLICT,
            f"{what} comes after the prosecutor's acknowledgement: the case is in stage {state.stage.value}",
        )
    return state.prosecution


def _require_charged(state: CaseState, what: str) -> ProsecutionState:
    prosecution = _require_prosecution(state, what)
    if not prosecution.charged:
        raise Rejection(RejectionKind.CONFLICT, f"{what} needs a charging decision to charge first")
    return prosecution


# A grand jury sits within this long of the decision that sends the case to it.
GRAND_JURY_WITHIN = timedelta(days=730)


def check_charging_decision(state: CaseState, step: Step[ChargingDecision], policy: Policy) -> None:
    decision, zone = step.payload, policy.zone
    if (ack := state.acknowledgement) is not None:
        require_order(
            decision.decided_at, ack.payload.received_at, "the prosecutor's acknowledgement", "decided_at", zone
        )
    if state.prosecution is not None and (earlier := state.prosecution.decision) is not None:
        # A true bill after a grand jury's decision, a decision after further investigation: in their order.
        require_order(decision.decided_at, earlier.decided_at, "the prosecutor's earlier decision", "decided_at", zone)
    if decision.arraignment_date is not None:
        require_order(decision.arraignment_date, decision.decided_at, "the charging decision", "arraignment_date", zone)
    if decision.grand_jury_date is not None:
        require_order(decision.grand_jury_date, decision.decided_at, "the charging decision", "grand_jury_date", zone)
        latest = decision.decided_at.astimezone(zone).date() + GRAND_JURY_WITHIN
        if decision.grand_jury_date > latest:
            raise Rejection(
                RejectionKind.INVALID,
                f"must be within {GRAND_JURY_WITHIN.days} days of the charging decision (by {shown(latest)}); "
                f"it is dated {shown(decision.grand_jury_date)}",
                "grand_jury_date",
            )
    subjects = state.referred_subjects()
    for i, filed in enumerate(decision.charges):
        if subjects and filed.subject not in subjects:
            raise Rejection(
                RejectionKind.INVALID,
                f"'{filed.subject}' is not among the subjects the legal review referred ({'; '.join(subjects)})",
                f"charges[{i}].subject",
            )
        for j, statute in enumerate(filed.statutes):
            if policy.statute(statute) is None:
                raise Rejection(
                    RejectionKind.INVALID, f"'{statute}' is not in the statute catalogue", f"charges[{i}].statutes[{j}]"
                )


def apply_charging_decision(
    state: CaseState, step: Step[ChargingDecision], now: datetime, policy: Policy
) -> dict[str, Any] | None:
    decision, prosecution = step.payload, state.prosecution
    assert prosecution is not None  # the charging decision's task is open, and open_task made the prosecution
    prosecution.decisions.append(Recorded(payload=decision, by=PersonRef.of(step.actor), at=now))
    task = state.tasks[Task.CHARGING_DECISION]
    if decision.decision == ChargingKind.GRAND_JURY:
        # The task stays open, due once the grand jury has sat: a true bill is 'charged', no bill 'declined'.
        assert decision.grand_jury_date is not None  # ChargingDecision requires it for a grand jury
        end_of_day = datetime.combine(decision.grand_jury_date + timedelta(days=1), time(0), tzinfo=policy.zone)
        task.due_at = end_of_day.astimezone(UTC) + policy.prosecution.grand_jury_decision_after
        task.escalation_level = 0
        return {"due_at": task.due_at.isoformat()}
    complete_task(state, Task.CHARGING_DECISION, step.actor, now)
    if decision.arraignment_date is not None:
        return _open_removal_window(prosecution, decision.arraignment_date, policy)
    return None


def _open_removal_window(prosecution: ProsecutionState, arraignment: date, policy: Policy) -> dict[str, Any]:
    prosecution.arraignment_date = arraignment
    prosecution.removal_deadline, prosecution.removal_due_at = removal_window(arraignment, policy)
    return {"removal_deadline": prosecution.removal_deadline.isoformat()}


CHARGING_DECISION = declare(
    name="charging_decision",
    task=Task.CHARGING_DECISION,
    request=ChargingDecision,
    event="charging_decided",
    chronicle="Charging decision recorded",
    roles=PROSECUTION_SIDE,
    check=check_charging_decision,
    change=apply_charging_decision,
    summary="Record the prosecutor's charging decision: charged, declined, grand jury or further investigation",
    title="Record the charging decision",
    button="Record the decision",
    done="Charging decision recorded.",
)


def _charged(state: CaseState) -> ProsecutionState | None:
    """The prosecution of a charged case that is still open: the steps after charges are offered then."""
    prosecution = state.prosecution
    if state.closed or state.stage != Stage.PROSECUTION or prosecution is None or not prosecution.charged:
        return None
    return prosecution


def check_arraignment(state: CaseState, step: Step[Arraignment], policy: Policy) -> None:
    prosecution = _require_charged(state, "the arraignment")
    if prosecution.arraignment_date is not None:
        raise Rejection(
            RejectionKind.CONFLICT,
            f"the arraignment is already recorded ({prosecution.arraignment_date.isoformat()})",
            "arraignment_date",
        )
    assert prosecution.decision is not None  # _require_charged: its latest decision is 'charged'
    require_order(
        step.payload.arraignment_date,
        prosecution.decision.decided_at,
        "the charging decision",
        "arraignment_date",
        policy.zone,
    )


def apply_arraignment(state: CaseState, step: Step[Arraignment], now: datetime, policy: Policy) -> dict[str, Any]:
    assert state.prosecution is not None  # check_arraignment refused a case with no prosecution
    state.prosecution.arraignment = Recorded(payload=step.payload, by=PersonRef.of(step.actor), at=now)
    return _open_removal_window(state.prosecution, step.payload.arraignment_date, policy)


ARRAIGNMENT = declare(
    name="arraignment",
    request=Arraignment,
    event="arraignment_recorded",
    chronicle="Arraignment recorded",
    roles=PROSECUTION_SIDE,
    check=check_arraignment,
    change=apply_arraignment,
    offered=lambda state: (p := _charged(state)) is not None and p.arraignment_date is None,
    summary="Record the arraignment in the state court: it opens the 30-day removal window",
    title="Record the arraignment",
    button="Record the arraignment",
    done="Arraignment recorded.",
)


def check_removal_notice(state: CaseState, step: Step[RemovalNotice], policy: Policy) -> None:
    prosecution = _require_charged(state, "a notice of removal")
    if prosecution.removal_notice is not None:
        raise Rejection(
            RejectionKind.CONFLICT,
            f"a notice of removal is already recorded ({prosecution.removal_notice.payload.federal_case_number})",
        )
    if prosecution.outcome is not None:
        raise Rejection(RejectionKind.CONFLICT, "the prosecution's outcome is already recorded")
    # Not before the charges it removes; it may come before the arraignment (§ 1455(b)(1): "not later than 30
    # days after the arraignment ... or at any time before trial").
    assert prosecution.decision is not None  # _require_charged: its latest decision is 'charged'
    require_order(
        step.payload.filed_on, prosecution.decision.decided_at, "the charging decision", "filed_on", policy.zone
    )


def apply_removal_notice(state: CaseState, step: Step[RemovalNotice], now: datetime, policy: Policy) -> dict[str, Any]:
    prosecution = state.prosecution
    assert prosecution is not None  # check_removal_notice refused a case with no prosecution
    prosecution.removal_notice = Recorded(payload=step.payload, by=PersonRef.of(step.actor), at=now)
    # Filed after the window: § 1455(b)(1) lets the court grant leave for good cause; the case records it as late.
    late = prosecution.removal_deadline is not None and step.payload.filed_on > prosecution.removal_deadline
    return {"late": late}


REMOVAL_NOTICE = declare(
    name="removal_notice",
    request=RemovalNotice,
    event="removal_notice_recorded",
    chronicle="Notice of removal to federal court recorded",
    roles=PROSECUTION_SIDE,
    check=check_removal_notice,
    change=apply_removal_notice,
    offered=lambda state: (p := _charged(state)) is not None and p.removal_notice is None and p.outcome is None,
    summary="Record a notice of removal to federal court (28 U.S.C. § 1442, § 1455)",
    title="Record a notice of removal",
    button="Record the notice",
    done="Notice of removal recorded.",
)


def check_removal_outcome(state: CaseState, step: Step[RemovalOutcome], policy: Policy) -> None:
    prosecution = _require_charged(state, "the outcome of a removal")
    if prosecution.removal_notice is None:
        raise Rejection(RejectionKind.CONFLICT, "no notice of removal is recorded")
    if prosecution.removal_outcome is not None:
        raise Rejection(
            RejectionKind.CONFLICT,
            f"the removal's outcome is already recorded ({prosecution.removal_outcome.payload.result.value})",
        )
    require_order(
        step.payload.decided_on,
        prosecution.removal_notice.payload.filed_on,
        "the notice of removal",
        "decided_on",
        policy.zone,
    )


def apply_removal_outcome(state: CaseState, step: Step[RemovalOutcome], now: datetime, policy: Policy) -> None:
    assert state.prosecution is not None  # check_removal_outcome refused a case with no prosecution
    state.prosecution.removal_outcome = Recorded(payload=step.payload, by=PersonRef.of(step.actor), at=now)


REMOVAL_OUTCOME = declare(
    name="removal_outcome",
    request=RemovalOutcome,
    event="removal_outcome_recorded",
    chronicle="Removal decided by the federal court",
    roles=PROSECUTION_SIDE,
    check=check_removal_outcome,
    change=apply_removal_outcome,
    offered=lambda state: (p := _charged(state)) is not None and p.removal_pending,
    summary="Record what the federal court did with the removal: remanded or retained",
    title="Record the removal's outcome",
    button="Record the outcome",
    done="Removal outcome recorded.",
)


# While a removal is pending the state court may not enter a judgment of conviction (28 U.S.C. § 1455(b)(3)).
CONVICTIONS = (ProsecutionOutcome.CONVICTED, ProsecutionOutcome.PLEA)


def check_prosecution_outcome(state: CaseState, step: Step[ProsecutionOutcomeIn], policy: Policy) -> None:
    prosecution = _require_charged(state, "the prosecution's outcome")
    if prosecution.outcome is not None:  # (a second one queued behind the first, before the case closed)
        raise Rejection(
            RejectionKind.CONFLICT,
            f"the prosecution's outcome is already recorded ({prosecution.outcome.payload.outcome.value})",
        )
    if prosecution.removal_pending and step.payload.outcome in CONVICTIONS:
        raise Rejection(
            RejectionKind.CONFLICT,
            "a notice of removal is pending: the state court may not enter a "
            "judgment of conviction until the federal court remands (28 U.S.C. § 1455(b)(3)); record "
            "the removal's outcome first",
            "outcome",
        )
    assert prosecution.decision is not None  # _require_charged: its latest decision is 'charged'
    decided_on, zone = step.payload.decided_on, policy.zone
    require_order(decided_on, prosecution.decision.decided_at, "the charging decision", "decided_on", zone)
    if prosecution.arraignment_date is not None:
        require_order(decided_on, prosecution.arraignment_date, "the arraignment", "decided_on", zone)
    if (notice := prosecution.removal_notice) is not None:
        require_order(decided_on, notice.payload.filed_on, "the notice of removal", "decided_on", zone)
    if (removal := prosecution.removal_outcome) is not None:
        require_order(decided_on, removal.payload.decided_on, "the federal court's decision", "decided_on", zone)


def apply_prosecution_outcome(
    state: CaseState, step: Step[ProsecutionOutcomeIn], now: datetime, policy: Policy
) -> None:
    assert state.prosecution is not None  # check_prosecution_outcome refused a case with no prosecution
    state.prosecution.outcome = Recorded(payload=step.payload, by=PersonRef.of(step.actor), at=now)


PROSECUTION_OUTCOME = declare(
    name="prosecution_outcome",
    request=ProsecutionOutcomeIn,
    event="prosecution_outcome_recorded",
    chronicle="Prosecution outcome recorded",
    roles=PROSECUTION_SIDE,
    check=check_prosecution_outcome,
    change=apply_prosecution_outcome,
    offered=lambda state: (p := _charged(state)) is not None and p.outcome is None,
    summary="Record the prosecution's final outcome: it closes the case",
    title="Record the final outcome",
    button="Record the outcome",
    done="Final outcome recorded.",
)
