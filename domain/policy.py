"""The jurisdiction's policy: deadlines, escalation ladders, retention, statutes, prosecutor.

Loaded from a TOML file at start; a copy travels in each workflow's input, so editing the file
changes new cases only and never breaks a running workflow's replay.
"""

import tomllib
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from domain.enums import Role, Task


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


class Prosecutor(_Frozen):
    name: str
    unit: str = ""
    address: str = ""
    intake_email: str


class Policy(_Frozen):
    jurisdiction: str
    department: str
    department_address: str = ""
    case_prefix: str = Field(pattern=r"^[A-Z]{2,8}$")
    # The department's clock (IANA name): how the reviewer's desk shows times and reads the times typed in.
    time_zone: str = "UTC"
    bwc_retention_days: int = Field(gt=0)
    hold_safety_margin: timedelta = Field(ge=timedelta(0))
    prosecutor: Prosecutor
    tasks: dict[Task, TaskPolicy]
    statutes: list[Statute] = Field(min_length=1)

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


def load_policy(path: Path) -> Policy:
    try:
        raw = tomllib.loads(Path(path).read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise PolicyError(f"policy file {path}: {exc}") from exc
    try:
        return Policy.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(top level)'}: {err['msg']}" for err in exc.errors()
        )
        raise PolicyError(f"policy file {path}: {problems}") from exc
