"""How the documents print a value: text XML can hold, paragraphs, times in the department's time zone,
decisions and sizes in words."""

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

from referrals.domain.events import Letterhead
from referrals.domain.words import label

_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


# A decision as a sentence reads it.
DECISION = {
    "refer": "Refer to the prosecutor",
    "decline": "Decline",
    "return": "Return for further investigation",
    "approve": "Approve the referral",
    "reject": "Reject the referral",
}


def decision(value) -> str:
    return DECISION.get(str(getattr(value, "value", value)), label(value))


def clean(text: object) -> str:
    return _NOT_XML.sub("\ufffd", "" if text is None else str(text))


def paragraphs(text: str | None) -> list[str]:
    return [clean(line) for line in (text or "").splitlines() if line.strip()] or [""]


class Clock:
    """Times as people in the department read them: 'Sat 31 Jan 2026, 13:05 CST'."""

    def __init__(self, letterhead: Letterhead) -> None:
        self._zone = ZoneInfo(letterhead.time_zone)

    @classmethod
    def in_zone(cls, time_zone: str) -> "Clock":
        """A clock without a letterhead (the desk's, in the policy's time zone)."""
        clock = cls.__new__(cls)
        clock._zone = ZoneInfo(time_zone)
        return clock

    @property
    def zone(self) -> ZoneInfo:
        return self._zone

    def __call__(self, moment: datetime | None, fmt: str = "%a %d %b %Y, %H:%M %Z") -> str:
        return moment.astimezone(self._zone).strftime(fmt) if moment else ""

    def day(self, moment) -> str:
        return moment.strftime("%a %d %b %Y") if moment else ""

    def formal(self, moment: datetime) -> str:
        """A letter's date, as a lawyer writes it: 'December 6, 2026' (the day in the department's time zone)."""
        return self.formal_day(moment.astimezone(self._zone).date())

    @staticmethod
    def formal_day(day: date) -> str:
        """'December 6, 2026'."""
        return f"{day:%B} {day.day}, {day.year}"


def size_words(size: int) -> str:
    """1536 -> '1.5 KB'; 1_234_567 -> '1.2 MB' (decimal units, as a prosecutor's office reads them)."""
    for unit, scale in (("GB", 10**9), ("MB", 10**6), ("KB", 10**3)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} bytes"
