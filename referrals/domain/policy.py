"""The jurisdiction's policy: deadlines, escalation ladders, retention, statutes, prosecutor.

Loaded from a TOML file at start; a copy travels in each workflow's input, so editing the file
changes new cases only and never breaks a running workflow's replay.
"""

import tomllib
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from referrals.domain.agencies import Touhy
from referrals.domain.enums import Role, Task


class PolicyError(Exception):
    pass


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EscalationStep(_Frozen):
    after: timedelta = Field(ge=timedelta(0))
    notify: list[Role] = Field(min_length=1)


class TaskPolicy(_Frozen):
    due: timedelta = Field(gt=timedelta(0))
    escalation: list[EscalationStep] = Field(default_factory=list)


class Statute(_Frozen):
    citation: str = Field(min_length=1)
    title: str = Field(min_length=1)
    # What the prosecution must prove, element by element: the legal review maps facts and evidence to each.
    elements: list[str] = Field(default_factory=list, max_length=20)
    # The shipped wording is a summary for the reviewer's guidance, to be checked by the department's counsel
    # against the statute in force; documents say so until counsel marks it verified here.
    elements_verified: bool = False


# The flagging triggers of 50 ILCS 706/10-20, as the cases filed before flags were policy carry them: each kept
# as long as an unflagged recording (their purge date was the recorded start plus `bwc_retention_days`).
ILLINOIS_FLAGS = [
    ("complaint", "Complaint (formal or informal)"),
    ("use_of_force", "Firearm discharge or use of force"),
    ("death_or_great_bodily_harm", "Death or great bodily harm"),
    ("detention_or_arrest", "Detention or arrest"),
    ("officer_under_investigation", "Officer under investigation"),
    ("evidentiary_value", "Evidentiary value"),
    ("officer_request", "Officer's request"),
]


class RecordingFlag(_Frozen):
    """A reason a recording is flagged, and how long a recording so flagged is kept."""

    code: str = Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")  # as the API takes it: "use_of_force"
    label: str = Field(min_length=1, max_length=120)  # as the desk and the documents show it
    # Kept at least this many days after the recording started (the longest of its flags and the unflagged
    # retention wins). None: as long as an unflagged recording.
    retention_days: int | None = Field(default=None, gt=0)


class PoliceDistrict(_Frozen):
    """A district (Chicago) or precinct (New York, Minneapolis) a case may be filed from."""

    code: str = Field(pattern=r"^[0-9A-Za-z-]{1,10}$")
    name: str = Field(min_length=1, max_length=120)


class Words(_Frozen):
    """The jurisdiction's own words, as the desk, the API's messages and the documents print them."""

    badge: str = Field(default="star", min_length=1, max_length=30)  # Chicago's "star", New York's "shield"
    district: str = Field(default="district", min_length=1, max_length=30)  # or "precinct"
    # The dispatch system's number for the incident: Chicago's OEMC event number.
    event_number: str = Field(default="OEMC event number", min_length=1, max_length=60)

    def terms(self) -> dict[str, str]:
        """The API's field names as this jurisdiction says them: {'star': 'shield', 'district': 'precinct', …}."""
        return {
            "star": self.badge,
            "officer_star": f"officer's {self.badge}",
            "district": self.district,
            "event_number": self.event_number,
        }


class Publication(_Frozen):
    """The public figures: how often a snapshot is published, and the small-cell rule that keeps it safe."""

    # Every published count from 1 to threshold - 1 is suppressed (zero is shown as zero).
    small_cell_threshold: int = Field(default=10, ge=2, le=100)
    # When the Temporal Schedule publishes, as a cron line in the policy's time zone: daily at 06:00 by default.
    cron: str = Field(default="0 6 * * *", min_length=9, max_length=100)


class Prosecutor(_Frozen):
    name: str
    unit: str = ""
    address: str = ""
    intake_email: str


class Prosecution(_Frozen):
    """After the referral: the removal window, and when a grand jury's decision falls due."""

    # 28 U.S.C. § 1455(b)(1): a notice of removal of a criminal prosecution is due within 30 days after the
    # arraignment in the state court (or before trial, whichever is earlier).
    removal_window_days: int = Field(default=30, gt=0)
    # After a grand jury date, the charging decision falls due this long after it.
    grand_jury_decision_after: timedelta = Field(default=timedelta(days=30), gt=timedelta(0))
    # The federal court's holidays: a removal window whose last day falls on one runs to the next court day.
    court_holidays: list[date] = Field(default_factory=list, max_length=500)


# Cases filed before the prosecution stage carry a policy without its task: they are read with this default,
# the same on every replay.
CHARGING_DECISION_DEFAULT = {
    "due": "P90D",
    "escalation": [{"after": "PT0S", "notify": ["prosecutor_liaison"]}, {"after": "P30D", "notify": ["command"]}],
}
# (and before the Touhy requests: the ladder of their answers; the due time is each request's own)
TOUHY_RESPONSE_DEFAULT = {
    "due": "P45D",
    "escalation": [{"after": "PT0S", "notify": ["prosecutor_liaison"]}, {"after": "P30D", "notify": ["command"]}],
}

# (and before held subjects: the ladder of their review; the due time is the earliest held subject's review date)
HELD_SUBJECT_REVIEW_DEFAULT = {
    "due": "P30D",
    "escalation": [{"after": "PT0S", "notify": ["legal_reviewer"]}, {"after": "P14D", "notify": ["command"]}],
}


class Policy(_Frozen):
    jurisdiction: str
    department: str
    department_address: str = ""
    case_prefix: str = Field(pattern=r"^[A-Z]{2,8}$")
    # The department's clock (IANA name): how the reviewer's desk shows times and reads the times typed in.
    time_zone: str = "UTC"
    bwc_retention_days: int = Field(gt=0)  # an unflagged recording's retention
    retention_law: str = Field(default="50 ILCS 706/10-20", min_length=1, max_length=120)  # the law that sets it
    # The reasons a recording may be flagged, each with its retention (absent in cases filed before: Illinois's
    # seven, each kept `bwc_retention_days`, as those cases were computed).
    recording_flags: list[RecordingFlag] = Field(default_factory=list, max_length=40)
    # The districts or precincts a case may be filed from (absent in cases filed before: any).
    districts: list[PoliceDistrict] = Field(default_factory=list, max_length=500)
    # The roles whose holders may file a case in any district; everyone else files in their own district only.
    file_in_any_district: list[Role] = Field(default_factory=lambda: [Role.COMMAND], max_length=len(Role))
    words: Words = Words()
    publication: Publication = Publication()
    # How long the access trail's entries are kept (`referrals access-log prune`): a year at least (CJIS 5.4.6, audit record retention).
    access_log_retention_days: int = Field(default=365, ge=365)
    hold_safety_margin: timedelta = Field(ge=timedelta(0))
    prosecutor: Prosecutor
    tasks: dict[Task, TaskPolicy]
    statutes: list[Statute] = Field(min_length=1)
    prosecution: Prosecution = Prosecution()
    touhy: Touhy = Touhy()

    @model_validator(mode="before")
    @classmethod
    def _tasks_added_since(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("tasks"), dict):
            tasks = dict(data["tasks"])
            for task, default in (
                (Task.CHARGING_DECISION, CHARGING_DECISION_DEFAULT),
                (Task.TOUHY_RESPONSE, TOUHY_RESPONSE_DEFAULT),
                (Task.HELD_SUBJECT_REVIEW, HELD_SUBJECT_REVIEW_DEFAULT),
            ):
                if task.value not in tasks and task not in tasks:
                    tasks[task.value] = default
            data = {**data, "tasks": tasks}
        return data

    @model_validator(mode="before")
    @classmethod
    def _flags_before_policy(cls, data: Any) -> Any:
        if isinstance(data, dict) and "recording_flags" not in data:
            data = {**data, "recording_flags": [{"code": code, "label": label} for code, label in ILLINOIS_FLAGS]}
        return data

    @field_validator("recording_flags", "districts")
    @classmethod
    def _codes_once(
        cls, value: list[RecordingFlag] | list[PoliceDistrict]
    ) -> list[RecordingFlag] | list[PoliceDistrict]:
        codes = [item.code for item in value]
        if twice := sorted({c for c in codes if codes.count(c) > 1}):
            raise ValueError(f"{', '.join(twice)} listed more than once")
        return value

    @field_validator("time_zone")
    @classmethod
    def _known_time_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (an IANA name such as 'America/Chicago')") from None
        return value

    @model_validator(mode="after")
    def _every_task_has_a_deadline(self) -> "Policy":
        missing = [t.value for t in Task if t not in self.tasks]
        if missing:
            raise ValueError(f"tasks: missing {', '.join(missing)}")
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    def statute(self, citation: str) -> Statute | None:
        return next((s for s in self.statutes if s.citation == citation), None)

    def flag(self, code: str) -> RecordingFlag | None:
        return next((f for f in self.recording_flags if f.code == code), None)

    def flag_label(self, code: str) -> str:
        """The flag's label, or its code for one the policy no longer lists (a case filed under an older one)."""
        found = self.flag(code)
        return found.label if found else code.replace("_", " ")

    def retention_days(self, flag_codes: list[str]) -> int:
        """How long a recording with these flags is kept: the longest of its flags' and the unflagged retention."""
        return max(
            [self.bwc_retention_days]
            + [f.retention_days for c in flag_codes if (f := self.flag(c)) and f.retention_days]
        )

    def district(self, code: str) -> PoliceDistrict | None:
        return next((d for d in self.districts if d.code == code), None)

    def admits_district(self, code: str) -> bool:
        return not self.districts or self.district(code) is not None


FILE_REQUIRES = ("recording_flags", "districts")


def load_policy(path: Path) -> Policy:
    try:
        raw = tomllib.loads(Path(path).read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise PolicyError(f"policy file {path}: {exc}") from exc
    # A file states what a case's copy may leave out (cases filed before these keys existed).
    missing = [key for key in FILE_REQUIRES if not raw.get(key)]
    if missing:
        raise PolicyError(f"policy file {path}: {'; '.join(f'{k}: must be listed in the file' for k in missing)}")
    try:
        policy = Policy.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(top level)'}: {err['msg']}" for err in exc.errors()
        )
        raise PolicyError(f"policy file {path}: {problems}") from exc
    if loose := policy.touhy.file_problems():  # (a case's copy from before may cite loosely; a file may not)
        raise PolicyError(f"policy file {path}: {'; '.join(loose)}")
    return policy
