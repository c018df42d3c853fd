"""What the Temporal UI shows for a case: a one-line summary and a short markdown status, in the desk's words and
the department's time zone, with a link to the case's desk page (the UI is served behind the desk's front door,
on the same origin: /temporal/).

Only the case number, district, stage and tasks: no names, narratives or badge numbers.
"""

from datetime import datetime
from zoneinfo import ZoneInfo

from referrals.domain.case import CaseState
from referrals.domain.enums import TaskStatus
from referrals.domain.words import label


def summary(case_number: str, district: str) -> str:
    return f"Incident referral {case_number} · district {district}"


def _at(moment: datetime, zone: ZoneInfo) -> str:
    return f"{moment.astimezone(zone):%a %d %b %Y, %H:%M %Z}"


def current_details(state: CaseState, time_zone: str = "UTC") -> str:
    zone = ZoneInfo(time_zone)
    lines = [
        f"**{state.case_number}** · district {state.district} · stage **{label(state.stage)}** · "
        f"[open the case on the desk](/desk/cases/{state.case_id})"
    ]
    if state.disposition and state.closed_at:
        lines.append(f"Closed: **{label(state.disposition)}**, {_at(state.closed_at, zone)}")
    for task, entry in state.tasks.items():
        if entry.status == TaskStatus.OPEN:
            due = f"due {_at(entry.due_at, zone)}" if entry.due_at else "no deadline"
            level = f", escalated to level {entry.escalation_level}" if entry.escalation_level else ""
            lines.append(f"- {label(task)}: open, {due}{level}")
        elif entry.status == TaskStatus.DONE:
            lines.append(f"- {label(task)}: done")
    return "\n".join(lines)
