"""The case's deadlines: each open task's escalation ladder, one durable timer at a time, and the removal window
30 days after the arraignment."""

import asyncio
from datetime import date, datetime, timedelta
from typing import cast

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from referrals.activities.notifier import Notifier
    from referrals.domain.enums import Task, TaskStatus
    from referrals.domain.escalation import Due, next_escalation, reached_level, roles_between
    from referrals.domain.events import EscalationNotice, EventKind

from referrals.workflows.documents import Documents


class Deadlines(Documents):
    async def _removal_window(self) -> None:
        """Records the window's close when its last day ends with no notice of removal filed."""
        while not self._state.closed:
            prosecution = self._state.prosecution
            if prosecution is None or not prosecution.removal_window_open:
                await workflow.wait_condition(
                    lambda: (
                        self._state.closed
                        or (self._state.prosecution is not None and self._state.prosecution.removal_window_open)
                    )
                )
                continue
            # removal_window_open: its due time is set.
            wait = cast(datetime, prosecution.removal_due_at) - workflow.now()
            if wait > timedelta(0):
                try:
                    await workflow.wait_condition(
                        lambda p=prosecution: (  # type: ignore[misc]  # mypy: no lambda with a default as Callable[[], bool]
                            self._state.closed or not p.removal_window_open
                        ),
                        timeout=wait,
                    )
                    continue
                except TimeoutError:
                    pass
            async with self._lock:
                if self._state.closed or not prosecution.removal_window_open:
                    continue
                prosecution.removal_window_closed = True
                self._record(
                    EventKind.REMOVAL_WINDOW_CLOSED,
                    None,
                    {"removal_deadline": cast(date, prosecution.removal_deadline).isoformat()},  # set with due_at
                )
                await self._write()

    async def _escalations(self) -> None:
        footage = self._state.tasks[Task.FOOTAGE_HOLD]
        if self._state.purge_warnings and footage.status == TaskStatus.OPEN:
            # Footage already purged or inside the margin at filing: the top of the ladder at once.
            await self._escalate(Task.FOOTAGE_HOLD, len(self._policy.tasks[Task.FOOTAGE_HOLD].escalation))
        while not self._state.closed:
            due = next_escalation(self._state, self._policy)

            # Re-plan only when the next ladder step moves (a document's event does not move it).
            def changed(due: Due | None = due) -> bool:
                return self._state.closed or next_escalation(self._state, self._policy) != due

            if due is None:
                await workflow.wait_condition(changed)
                continue
            wait = due.at - workflow.now()
            if wait > timedelta(0):
                try:
                    # Any change (a task done, reopened, the case closed) re-plans the timer.
                    await workflow.wait_condition(changed, timeout=wait)
                    continue
                except TimeoutError:
                    pass
            await self._escalate(due.task, None, due.item)

    async def _escalate(self, task: Task, to_level: int | None, item: str | None = None) -> None:
        """Fire a task's ladder up to the level reached (or `to_level`); `item`: one Touhy request's own ladder."""
        async with self._lock:
            entry = self._state.tasks[task]
            if entry.status != TaskStatus.OPEN:
                return
            request = self._state.touhy_request(item) if item is not None else None
            if request is not None and request.response is not None:
                return
            ladder = request if request is not None else entry  # what holds the level and the due time
            now = workflow.now()
            low = ladder.escalation_level
            high = to_level if to_level is not None else reached_level(self._state, task, now, self._policy, item)
            if high <= low:
                return
            ladder.escalation_level = high
            entry.escalation_level = max(entry.escalation_level, high)
            roles = roles_between(task, low, high, self._policy)
            escalated = {
                "task": task.value,
                "level": high,
                "notify": [r.value for r in roles],
                # An open task's due time is set when it opens (open_task); a Touhy request's always is.
                "due_at": cast(datetime, ladder.due_at).isoformat(),
                "overdue_seconds": int((now - cast(datetime, ladder.due_at)).total_seconds()),
            }
            if request is not None:
                escalated["touhy_request"] = request.id
            self._record(EventKind.TASK_ESCALATED, None, escalated)
            await self._write()
            notice = EscalationNotice(
                workflow_id=workflow.info().workflow_id,
                case_id=self._state.case_id,
                case_number=self._state.case_number,
                district=self._state.district,
                filed_by_id=self._state.filed_by.id,
                event_seq=self._state.event_seq,
                task=task,
                level=high,
                roles=roles,
                due_at=ladder.due_at,
                escalated_at=now,
            )
        about = {"task": notice.task.value, "level": notice.level}
        self._deliveries.append(asyncio.create_task(self._deliver(Notifier.notify, notice, about)))
