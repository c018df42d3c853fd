"""What a human step is: one declaration gives its name, its request, the event it records, the task it completes,
who may take it, its check and its change, what the desk says after it and the documents it asks for.

The workflow's update handlers and validators, the API's routes, the permission matrix and the desk's forms are
all built from the declarations (referrals/workflows/updates.py, referrals/api/routes/steps.py,
referrals/domain/permissions.py, referrals/web/routes/case.py with referrals/web/step_forms.py). README.md's "Adding a
step" walks through one.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from referrals.domain.case import CaseState
from referrals.domain.enums import DocumentKind, Role, Task, TaskStatus
from referrals.domain.errors import Rejection, RejectionKind
from referrals.domain.events import EventKind
from referrals.domain.messages import Actor, Step
from referrals.domain.policy import Policy

# A step's check refuses it (raising Rejection); its change makes it, returning what the audit event notes
# beside what was sent (a correction's old value), or None.
Check = Callable[[CaseState, Step[Any], Policy], None]
Change = Callable[[CaseState, Step[Any], datetime, Policy], dict[str, Any] | None]


def _none(state: CaseState) -> list[DocumentKind]:
    return []


@dataclass(frozen=True)
class StepSpec:
    """One human step. `name` is its API operation, its workflow update, its permission, its desk form and, when
    it completes a task, that task's name; what must differ (its audit event, a path) is mapped here."""

    name: str
    request: type[BaseModel]  # what the API and the desk's form send
    event: str  # the audit event it records, in the past tense: `footage_hold_confirmed`
    roles: frozenset[Role]  # who may take it
    check: Check
    change: Change
    summary: str  # the API operation's summary; the desk form's hint
    chronicle: str  # its event's line in the referral packet's processing history
    title: str  # the desk form's heading
    button: str  # the desk form's button
    done: str  # what the desk says once it is stored
    # The task it works on: the desk offers it while that task is open, and, unless `needs_open_task` is False,
    # the step is refused unless the task is open (before its own check runs).
    task: Task | None = None
    needs_open_task: bool = True
    payload: type[BaseModel] | None = None  # what the workflow receives, when not `request` (sealed contact details)
    path: str | None = None  # under /incidents/{case_id}: "/" + the name with dashes unless given
    routed: bool = True  # False: its route is written by hand (more in its path, or a file upload)
    documents: Callable[[CaseState], list[DocumentKind]] = _none  # the documents it asks for, once made
    offered: Callable[[CaseState], bool] | None = None  # when the desk offers it (default: task open, or case open)
    form: bool = True  # the desk has a form for it on the case page (case_steps.html)
    folded: str = ""  # the desk shows its form folded until opened, under this line (steps taken at any stage)
    rows: tuple[tuple[str, frozenset[str]], ...] = ()  # the form's lists, and each row's fields filled in beforehand
    groups: tuple[str, ...] = ()  # optional groups of fields: all blank, the group is not sent at all

    @property
    def api_path(self) -> str:
        return self.path or "/" + self.name.replace("_", "-")

    @property
    def workflow_payload(self) -> type[BaseModel]:
        return self.payload or self.request

    def offered_now(self, state: CaseState) -> bool:
        if self.offered is not None:
            return self.offered(state)
        if self.task is not None:
            return not state.closed and state.tasks[self.task].status == TaskStatus.OPEN
        return not state.closed

    def validate(self, state: CaseState, step: Step[Any], policy: Policy) -> None:
        """Refuses the step (Rejection): who takes it, then its task, then its own check."""
        require_role(step.actor, self)
        if self.task is not None and self.needs_open_task:
            require_open(state, self.task)
        self.check(state, step, policy)

    def take(self, state: CaseState, step: Step[Any], now: datetime, policy: Policy) -> dict[str, Any]:
        """Makes the step (after `validate`): the event's data, what was sent and what the change noted."""
        noted = self.change(state, step, now, policy)
        sent: dict[str, Any] = step.payload.model_dump(mode="json")
        return sent | (noted or {})


REGISTRY: list[StepSpec] = []


def declare(**fields: Any) -> StepSpec:
    """A human step, registered in the order declared (the desk lists the steps it offers in that order, those of
    a task first in the lifecycle's order)."""
    spec = StepSpec(**fields)
    if any(s.name == spec.name for s in REGISTRY):
        raise ValueError(f"a step named {spec.name!r} is already declared")
    if spec.event in set(EventKind) or any(s.event == spec.event for s in REGISTRY):
        raise ValueError(f"step {spec.name!r} records event {spec.event!r}, which another step or the system records")
    if spec.task is not None and spec.task.value != spec.name:
        raise ValueError(f"step {spec.name!r} works on task {spec.task.value!r}: a step has its task's name")
    REGISTRY.append(spec)
    return spec


def describe_roles(roles: frozenset[Role]) -> str:
    return " or ".join(sorted(r.value for r in roles))


def require_role(actor: Actor, spec: StepSpec) -> None:
    if not any(role in spec.roles for role in actor.roles):
        raise Rejection(RejectionKind.FORBIDDEN, f"{spec.name} needs the role {describe_roles(spec.roles)}")


def require_open(state: CaseState, task: Task) -> None:
    if state.closed:
        raise Rejection(RejectionKind.CONFLICT, f"the case is closed ({state.disposition}); {task.value} is not open")
    status = state.tasks[task].status
    if status == TaskStatus.DONE:
        raise Rejection(RejectionKind.CONFLICT, f"{task.value} is already done")
    if status != TaskStatus.OPEN:
        raise Rejection(RejectionKind.CONFLICT, f"{task.value} is not open: the case is in stage {state.stage.value}")


def require_not_closed(state: CaseState, what: str) -> None:
    if state.closed:
        raise Rejection(RejectionKind.CONFLICT, f"the case is closed ({state.disposition}); {what}")
