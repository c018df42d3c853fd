"""Deadlines that escalate: which ladder step is due next, and what a firing raises.

A task's ladder (from the policy) has steps at `due_at + after`; level N means N steps fired. The answers to
the Touhy requests are one task whose ladder runs for each unanswered request on its own: from that request's
due time, at that request's level (the task's level is the highest of them).
"""

from dataclasses import dataclass
from datetime import datetime

from referrals.domain.case import CaseState
from referrals.domain.enums import Role, Task
from referrals.domain.policy import Policy


@dataclass(frozen=True)
class Due:
    at: datetime
    task: Task
    item: str | None = None  # a Touhy request's id, for the touhy_response task


def _clock(state: CaseState, task: Task, item: str | None) -> tuple[datetime | None, int]:
    """The due time and level a ladder runs from: the task's, or one Touhy request's."""
    if item is not None:
        request = state.touhy_request(item)
        assert request is not None  # a ladder runs for a request the case holds (next_escalation's); none is removed
        return request.due_at, request.escalation_level
    entry = state.tasks[task]
    return entry.due_at, entry.escalation_level


def step_time(state: CaseState, task: Task, level: int, policy: Policy, item: str | None = None) -> datetime:
    due = _clock(state, task, item)[0]
    assert due is not None  # a ladder runs for an open task, whose due time open_task set
    return due + policy.tasks[task].escalation[level].after


def next_escalation(state: CaseState, policy: Policy) -> Due | None:
    """The earliest ladder step not yet fired among the open tasks (and the unanswered Touhy requests)."""
    upcoming = []
    for task in state.open_tasks():
        entry = state.tasks[task]
        steps = len(policy.tasks[task].escalation)
        if task == Task.TOUHY_RESPONSE:
            upcoming += [
                Due(step_time(state, task, r.escalation_level, policy, r.id), task, r.id)
                for r in state.unanswered_touhy()
                if r.escalation_level < steps
            ]
        elif entry.due_at is not None and entry.escalation_level < steps:
            upcoming.append(Due(step_time(state, task, entry.escalation_level, policy), task))
    return min(upcoming, key=lambda d: (d.at, d.task.value, d.item or ""), default=None)


def reached_level(state: CaseState, task: Task, now: datetime, policy: Policy, item: str | None = None) -> int:
    """The highest level whose step time has passed: a late worker catches up in one firing."""
    level = _clock(state, task, item)[1]
    ladder = policy.tasks[task].escalation
    while level < len(ladder) and step_time(state, task, level, policy, item) <= now:
        level += 1
    return level


def roles_between(task: Task, low: int, high: int, policy: Policy) -> list[Role]:
    """Everyone on the steps from level `low` (exclusive) to `high` (inclusive), in ladder order."""
    roles: list[Role] = []
    for step in policy.tasks[task].escalation[low:high]:
        roles += [r for r in step.notify if r not in roles]
    return roles
