"""Deadlines that escalate: which ladder step is due next, and what a firing raises.

A task's ladder (from the policy) has steps at `due_at + after`; level N means N steps fired.
"""

from dataclasses import dataclass
from datetime import datetime

from domain.case import CaseState
from domain.enums import Role, Task
from domain.policy import Policy


@dataclass(frozen=True)
class Due:
    at: datetime
    task: Task


def step_time(state: CaseState, task: Task, level: int, policy: Policy) -> datetime:
    return state.tasks[task].due_at + policy.tasks[task].escalation[level].after


def next_escalation(state: CaseState, policy: Policy) -> Due | None:
    """The earliest ladder step not yet fired among the open tasks."""
    upcoming = []
    for task in state.open_tasks():
        entry = state.tasks[task]
        if entry.due_at is not None and entry.escalation_level < len(policy.tasks[task].escalation):
            upcoming.append(Due(step_time(state, task, entry.escalation_level, policy), task))
    return min(upcoming, key=lambda d: (d.at, d.task.value), default=None)


def reached_level(state: CaseState, task: Task, now: datetime, policy: Policy) -> int:
    """The highest level whose step time has passed: a late worker catches up in one firing."""
    level = state.tasks[task].escalation_level
    ladder = policy.tasks[task].escalation
    while level < len(ladder) and step_time(state, task, level, policy) <= now:
        level += 1
    return level


def roles_between(task: Task, low: int, high: int, policy: Policy) -> list[Role]:
    """Everyone on the steps from level `low` (exclusive) to `high` (inclusive), in ladder order."""
    roles: list[Role] = []
    for step in policy.tasks[task].escalation[low:high]:
        roles += [r for r in step.notify if r not in roles]
    return roles
