"""Who hears about which open escalation in the daily digest."""

from referrals.domain.enums import TASK_OWNER, Role, Task


def concerns(
    *, roles: list[Role], district: str | None, user_id: str, task: Task, case_district: str, filed_by_id: str
) -> bool:
    """Command and admin hear of every escalation; supervisors of their district's; the others of
    the tasks their role owns (officers: on the cases they filed)."""
    if Role.COMMAND in roles or Role.ADMIN in roles:
        return True
    if Role.SUPERVISOR in roles and district == case_district:
        return True
    owner = TASK_OWNER[task]
    if owner == Role.OFFICER:
        return Role.OFFICER in roles and user_id == filed_by_id
    return owner in roles
