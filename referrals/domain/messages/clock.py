"""Times and days, and the rules against the clock they carry: not in the future, not in the past, not before
1900. The rules are marks (`_Clock`), checked on arrival by `clock_problems` (arrival.py).
"""

from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BeforeValidator

from referrals.domain.chronology import shown
from referrals.domain.messages.fields import _OnArrival

EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
CLOCK_SKEW = timedelta(minutes=5)


def _since_1900(value: datetime) -> datetime:
    if value < EARLIEST:
        raise ValueError("must not be before 1900")
    return value


class _Clock(_OnArrival):
    """A rule against the clock."""


# `now` is read in the department's zone (`clock_problems`), and a refusal names both times as the desk shows them.
class _NotFuture(_Clock):
    def problem(self, value: datetime, now: datetime) -> str | None:
        if value > now + CLOCK_SKEW:
            return f"must not be in the future: it is dated {shown(value, now.tzinfo)}, and it is now {shown(now)}"
        return None


class _NotPast(_Clock):
    def problem(self, value: date, now: datetime) -> str | None:
        # Yesterday in UTC is still today somewhere west of Greenwich.
        if value < (now.astimezone(UTC) - timedelta(days=1)).date():
            return f"must not be in the past: it is {shown(value)}, and today is {shown(now.date())}"
        return None


# Rules against the clock are marks, checked by `clock_problems` when a request arrives: never in a
# validator, which would run again, at another time, whenever the workflow replays its input.
def _not_a_number(value: Any) -> Any:
    # pydantic would read a number as seconds since 1970; the schema says an ISO-8601 string.
    if isinstance(value, (int, float)):
        raise ValueError("must be an ISO-8601 time with its offset, not a number")
    return value


class _NotFutureDay(_Clock):
    def problem(self, value: date, now: datetime) -> str | None:
        # Tomorrow in UTC is already today somewhere east of Greenwich.
        if value > (now.astimezone(UTC) + timedelta(days=1)).date():
            return f"must not be in the future: it is dated {shown(value)}, and today is {shown(now.date())}"
        return None


def _day_since_1900(value: date) -> date:
    if value < EARLIEST.date():
        raise ValueError("must not be before 1900")
    return value


Happened = Annotated[AwareDatetime, BeforeValidator(_not_a_number), AfterValidator(_since_1900), _NotFuture()]
Until = Annotated[date, BeforeValidator(_not_a_number), _NotPast()]
# A day that has come (a court's decision, a notice filed), and a court date that may be ahead.
Day = Annotated[date, BeforeValidator(_not_a_number), AfterValidator(_day_since_1900), _NotFutureDay()]
CourtDate = Annotated[date, BeforeValidator(_not_a_number), AfterValidator(_day_since_1900)]
