"""The jurisdiction's policy: deadlines, escalation ladders, retention, statutes, prosecutor.

Loaded from a TOML file at start; a copy travels in each workflow's input, so editing the file
changes new cases only and never breaks a running workflow's replay.
"""

import tomllib
from datetime import date, timedelta
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
    # What the prosecution must prove, element by element: the legal review maps facts and evidence to each.
    elements: list[str] = Field(default_factory=list, max_length=20)
    # The shipped wording is a summary for the reviewer's guidance, to be checked by the department's counsel
    # against the statute in force; documents say so until counsel marks it verified here.
    elements_verified: bool = False


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


class TouhyOffice(_Frozen):
    """Where a department's Touhy requests go, and under which regulations."""

    name: str
    address: str  # its lines, one a line ("\n" between them)
    regulations: str  # "6 CFR 5.41-5.49"
    verified: bool = False  # the address checked against the agency's current instructions


class TouhyAgency(_Frozen):
    code: str = Field(min_length=1)  # as the legal review names the agency: "ICE"
    name: str  # "U.S. Immigration and Customs Enforcement"
    office: str  # a key of Touhy.offices


# Federal facts, the same for every department: a policy file may override or add to them.
DHS_OGC = TouhyOffice(name="Office of the General Counsel, U.S. Department of Homeland Security",
                      address="2707 Martin Luther King Jr. Ave SE\nWashington, DC 20528-0485",
                      regulations="6 CFR 5.41-5.49")
DOJ = TouhyOffice(name="U.S. Department of Justice (the component's Office of the General Counsel, with a copy to "
                       "the United States Attorney for the district)",
                  address="950 Pennsylvania Avenue NW\nWashington, DC 20530-0001", regulations="28 CFR 16.21-16.29")
AGENCIES = [TouhyAgency(code="ICE", name="U.S. Immigration and Customs Enforcement", office="dhs"),
            TouhyAgency(code="CBP", name="U.S. Customs and Border Protection", office="dhs"),
            TouhyAgency(code="FBI", name="Federal Bureau of Investigation", office="doj"),
            TouhyAgency(code="DEA", name="Drug Enforcement Administration", office="doj"),
            TouhyAgency(code="USMS", name="United States Marshals Service", office="doj"),
            TouhyAgency(code="ATF", name="Bureau of Alcohol, Tobacco, Firearms and Explosives", office="doj")]


class Touhy(_Frozen):
    """Requests to federal agencies for the evidence they hold (United States ex rel. Touhy v. Ragen)."""

    response_due: timedelta = Field(default=timedelta(days=45), gt=timedelta(0))  # each request's own due time
    offices: dict[str, TouhyOffice] = Field(default_factory=lambda: {"dhs": DHS_OGC, "doj": DOJ})
    agencies: list[TouhyAgency] = Field(default_factory=lambda: list(AGENCIES), min_length=1)

    @model_validator(mode="after")
    def _offices_known(self) -> "Touhy":
        unknown = sorted({a.office for a in self.agencies} - set(self.offices))
        if unknown:
            raise ValueError(f"agencies name offices not in touhy.offices: {', '.join(unknown)}")
        return self

    def agency(self, code: str) -> TouhyAgency | None:
        return next((a for a in self.agencies if a.code.casefold() == code.casefold()), None)


# Cases filed before the prosecution stage carry a policy without its task: they are read with this default,
# the same on every replay.
CHARGING_DECISION_DEFAULT = {"due": "P90D", "escalation": [{"after": "PT0S", "notify": ["prosecutor_liaison"]},
                                                           {"after": "P30D", "notify": ["command"]}]}
# (and before the Touhy requests: the ladder of their answers; the due time is each request's own)
TOUHY_RESPONSE_DEFAULT = {"due": "P45D", "escalation": [{"after": "PT0S", "notify": ["prosecutor_liaison"]},
                                                        {"after": "P30D", "notify": ["command"]}]}


class Policy(_Frozen):
    jurisdiction: str
    department: str
    department_address: str = ""
    case_prefix: str = Field(pattern=r"^[A-Z]{2,8}$")
    # The department's clock (IANA name): how the reviewer's desk shows times and reads the times typed in.
    time_zone: str = "UTC"
    bwc_retention_days: int = Field(gt=0)
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
    def _tasks_added_since(cls, data):
        if isinstance(data, dict) and isinstance(data.get("tasks"), dict):
            tasks = dict(data["tasks"])
            for task, default in ((Task.CHARGING_DECISION, CHARGING_DECISION_DEFAULT),
                                  (Task.TOUHY_RESPONSE, TOUHY_RESPONSE_DEFAULT)):
                if task.value not in tasks and task not in tasks:
                    tasks[task.value] = default
            data = {**data, "tasks": tasks}
        return data

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
