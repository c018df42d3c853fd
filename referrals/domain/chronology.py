"""Dates in the order things happen: what a step records may not be dated before what it follows (a statement
before the incident, an acknowledgement before the approval, a charging decision before the acknowledgement, an
arraignment before the charging decision). A refusal names the field, and both dates as people read them, in the
department's time zone.

Times are compared to the minute, as a person types them: an acknowledgement typed 11:50 for an approval
recorded at 11:50:30 is in order, one typed 11:49 is not. A day is compared with the day a time fell on in the
department's zone. Nothing here reads the clock: the rules against it (nothing that happened dated in the future)
are marks checked on arrival (referrals/domain/messages/clock.py), never rules a replay would judge again.
"""

from datetime import date, datetime, tzinfo

from referrals.domain.errors import Rejection, RejectionKind

# As the desk and the documents show a time: 'Mon 02 Mar 2026, 09:00 CST'; a day: 'Mon 02 Mar 2026'.
TIME_SHOWN = "%a %d %b %Y, %H:%M"  # and the zone's name (_zone_name)
DAY_SHOWN = "%a %d %b %Y"


def _minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def shown(value: date | datetime, zone: tzinfo | None = None) -> str:
    """A time in `zone` (in the offset it was given in, without one), 'Mon 02 Mar 2026, 09:00 CST'; a day,
    'Mon 02 Mar 2026'."""
    if isinstance(value, datetime):
        try:
            moment = value.astimezone(zone) if zone is not None else value
        except OverflowError:  # at the calendar's end (9999-12-31T23:59-05:00 is past year 9999 in UTC): as given
            moment = value
        return f"{moment.strftime(TIME_SHOWN)} {_zone_name(moment)}"
    return value.strftime(DAY_SHOWN)


def _zone_name(moment: datetime) -> str:
    """'CST', 'UTC'; a bare offset as 'UTC-06:00'."""
    name = moment.tzname() or ""
    if name[:1].isalpha():
        return name
    offset = moment.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    sign = "-" if minutes < 0 else "+"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _day(value: date | datetime, zone: tzinfo | None) -> date:
    if isinstance(value, datetime):
        return (value.astimezone(zone) if zone is not None else value).date()
    return value


def before(later: date | datetime, earlier: date | datetime, zone: tzinfo | None = None) -> bool:
    """Whether `later` is dated before `earlier`: two times to the minute, a day against a day (or the day a time
    fell on in `zone`)."""
    if isinstance(later, datetime) and isinstance(earlier, datetime):
        return _minute(later) < _minute(earlier)
    return _day(later, zone) < _day(earlier, zone)


def out_of_order(later: date | datetime, earlier: date | datetime, what: str, zone: tzinfo | None) -> str | None:
    """Why `later` may not be dated so (before `what`, dated `earlier`), or None when it is in order."""
    if not before(later, earlier, zone):
        return None
    return f"must not be before {what} ({shown(earlier, zone)}); it is dated {shown(later, zone)}"


def require_order(later: date | datetime, earlier: date | datetime, what: str, field: str, zone: tzinfo) -> None:
    """Refuses the step, naming the field and both dates, when `later` is dated before `earlier` (`what`)."""
    if (problem := out_of_order(later, earlier, what, zone)) is not None:
        raise Rejection(RejectionKind.INVALID, problem, field)


def require_not_after(earlier: date | datetime, later: date | datetime, what: str, field: str, zone: tzinfo) -> None:
    """Refuses the step when `earlier` (a corrected incident's time) is dated after `later` (`what`, which
    followed it)."""
    if before(later, earlier, zone):
        raise Rejection(
            RejectionKind.INVALID,
            f"must not be after {what} ({shown(later, zone)}); it is dated {shown(earlier, zone)}",
            field,
        )
