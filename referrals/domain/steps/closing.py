"""A case withdrawn by command, and what closing a case does to its tasks."""

from datetime import datetime

from referrals.domain.case import CaseState, PersonRef, Recorded
from referrals.domain.enums import Disposition, Role, Stage, TaskStatus
from referrals.domain.errors import Rejection, RejectionKind
from referrals.domain.messages import Step, Withdrawal
from referrals.domain.policy import Policy
from referrals.domain.steps.declaration import declare


def close(state: CaseState, disposition: Disposition, now: datetime) -> None:
    for entry in state.tasks.values():
        if entry.status in (TaskStatus.OPEN, TaskStatus.PENDING):
            entry.status = TaskStatus.CANCELLED
    state.stage = Stage.CLOSED
    state.disposition = disposition
    state.closed_at = now


def check_withdrawal(state: CaseState, step: Step[Withdrawal], policy: Policy) -> None:
    if state.closed:
        raise Rejection(RejectionKind.CONFLICT, f"the case is already closed ({state.disposition})")


def apply_withdrawal(state: CaseState, step: Step[Withdrawal], now: datetime, policy: Policy) -> None:
    state.withdrawal = Recorded(payload=step.payload, by=PersonRef.of(step.actor), at=now)
    close(state, Disposition.WITHDRAWN, now)


WITHDRAW = declare(
    name="withdraw",
    request=Withdrawal,
    path="/withdrawal",
    event="case_withdrawn",
    chronicle="Case withdrawn",
    roles=frozenset({Role.COMMAND, Role.ADMIN}),
    check=check_withdrawal,
    change=apply_withdrawal,
    summary="Withdraw the case, with a reason",
    title="Withdraw the case",
    button="Withdraw the case",
    done="Case withdrawn.",
)
