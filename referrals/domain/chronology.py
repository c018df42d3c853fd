"""Dates in the order things happen: what a step records may not be dated before what it follows (a statement
before the incident, an acknowledgement before the approval, a charging decision before the acknowledgement). A
refusal names both dates, as the department's clock reads them.

Times are compared to the minute, as a person types them: an acknowledgement typed 11:50 for an approval
recorded at 11:50:30 is in order, one typed 11:49 is not.
"""

from datetime import date, datetime
from zoneinfo import ZoneInfo

from referrals.domain.errors import Rejection, RejectionKind


def _minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def shown(value: date | datetime, zone: ZoneInfo) -> str:
    """'06 Dec 2026, 11:50 CST' for a time, '06 Dec 2026' for a day."""
    if isinstance(value, datetime):
        return f"{value.astimezone(zone):%d %b %Y, %H:%M %Z}"
    return f"{value:%d %b %Y}"


def out_of_order(later: date | datetime, earlier: date | datetime, what: str, zone: ZoneInfo) -> str | None:
    """Why `later` may not be dated so (before `what`, at `earlier`), or None when it is in order."""
    if isinstance(later, datetime) and isinstance(earlier, datetime):
        wrong = _minute(later) < _minute(earlier)
    else:  # a day against a day, or against the day a time fell on in the department's zone
        day = earlier.astimezone(zone).date() if isinstance(earlier, datetime) else earlier
        wrong = (later.astimezone(zone).date() if isinstance(later, datetime) else later) < day
    if not wrong:
        return None
    return f"must not be before {what} ({shown(earlier, zone)}); it is dated {shown(later, zone)}"


def require_order(later: date | datetime, earlier: date | datetime, what: str, field: str, zone: ZoneInfo) -> None:
    """Refuses the step, naming the field and both dates, when `later` is dated before `earlier`."""
    if (problem := out_of_order(later, earlier, what, zone)) is not None:
        raise Rejection(RejectionKind.INVALID, problem, field)
