"""What the Temporal UI shows for a case: a one-line summary and a short markdown status.

Only the case number, district, stage and tasks: no names, narratives or badge numbers.
"""

from referrals.domain.case import CaseState
from referrals.domain.enums import TaskStatus


def summary(case_number: str, district: str) -> str:
    return f"Incident referral {case_number} · district {district}"


def current_details(state: CaseState) -> str:
    lines = [f"**{state.case_number}** · district {state.district} · stage **{state.stage.value}**"]
    if state.disposition:
        lines.append(f"Closed: **{state.disposition.value}** at {state.closed_at:%Y-%m-%d %H:%M} UTC")
    for task, entry in state.tasks.items():
        if entry.status == TaskStatus.OPEN:
            due = f"due {entry.due_at:%Y-%m-%d %H:%M} UTC" if entry.due_at else "no deadline"
            lines.append(f"- {task.value}: open, {due}, escalation level {entry.escalation_level}")
        elif entry.status == TaskStatus.DONE:
            lines.append(f"- {task.value}: done")
    return "\n".join(lines)
