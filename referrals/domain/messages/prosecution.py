"""The prosecution: the charging decision, the arraignment, the removal to federal court and its outcome, the
federal agencies' Touhy answers and the prosecution's outcome.
"""

from datetime import date

from pydantic import Field, ValidationInfo, field_validator

from referrals.domain.enums import ChargingKind, ProsecutionOutcome, RemovalResult, Task, TouhyOutcome
from referrals.domain.messages.base import RequestModel
from referrals.domain.messages.clock import CourtDate, Day, Happened
from referrals.domain.messages.fields import Line, Short, Text
from referrals.domain.messages.review import tasks_to_reopen


class SubjectCharges(RequestModel):
    """The charges filed against one subject, as the prosecutor filed them."""

    subject: Line
    statutes: list[Short] = Field(min_length=1, max_length=20)


class ChargingDecision(RequestModel):
    """The prosecutor's charging decision, recorded by the liaison."""

    decision: ChargingKind
    decided_at: Happened
    court_case_number: Short | None = Field(default=None, validate_default=True)  # charged
    charges: list[SubjectCharges] = Field(default_factory=list, max_length=50, validate_default=True)  # charged
    arraignment_date: Day | None = None  # charged, once held: it opens the removal window
    reason: Text | None = Field(default=None, validate_default=True)  # declined
    grand_jury_date: CourtDate | None = Field(default=None, validate_default=True)  # grand_jury
    requested: Text | None = Field(default=None, validate_default=True)  # further_investigation: what is asked
    return_tasks: list[Task] = Field(default_factory=list, max_length=3, validate_default=True)

    @field_validator("court_case_number", "charges")
    @classmethod
    def _charged_needs(
        cls, value: str | list[SubjectCharges] | None, info: ValidationInfo
    ) -> str | list[SubjectCharges] | None:
        charged = info.data.get("decision") == ChargingKind.CHARGED
        if charged and not value:
            raise ValueError("is required when the decision is charged")
        if not charged and value:
            raise ValueError("applies only when the decision is charged")
        return value

    @field_validator("reason")
    @classmethod
    def _declined_needs_reason(cls, value: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("decision") == ChargingKind.DECLINED and value is None:
            raise ValueError("is required when the decision is declined: the reason the prosecutor gave")
        return value

    @field_validator("grand_jury_date")
    @classmethod
    def _grand_jury_needs_date(cls, value: date | None, info: ValidationInfo) -> date | None:
        decision = info.data.get("decision")
        if decision == ChargingKind.GRAND_JURY and value is None:
            raise ValueError("is required when the decision is grand jury")
        if decision != ChargingKind.GRAND_JURY and value is not None:
            raise ValueError("applies only when the decision is grand jury")
        return value

    @field_validator("requested")
    @classmethod
    def _further_needs_request(cls, value: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("decision") == ChargingKind.FURTHER_INVESTIGATION and value is None:
            raise ValueError("is required when the decision is further investigation: what the prosecutor asks")
        return value

    @field_validator("return_tasks")
    @classmethod
    def _further_names_tasks(cls, value: list[Task], info: ValidationInfo) -> list[Task]:
        reopens = info.data.get("decision") == ChargingKind.FURTHER_INVESTIGATION
        return tasks_to_reopen(value, reopens, "further_investigation")

    @field_validator("arraignment_date")
    @classmethod
    def _arraignment_when_charged(cls, value: date | None, info: ValidationInfo) -> date | None:
        if value is not None and info.data.get("decision") != ChargingKind.CHARGED:
            raise ValueError("applies only when the decision is charged")
        return value


class Arraignment(RequestModel):
    """The arraignment in the state court, when it was not known at the charging decision."""

    arraignment_date: Day


class RemovalNotice(RequestModel):
    """A notice of removal to federal court under 28 U.S.C. § 1442(a)(1), filed by the defence."""

    filed_on: Day
    district_court: Line  # "U.S. District Court for the Northern District of Illinois"
    federal_case_number: Short
    subject: Line | None = None  # the defendant who removed, where the case has several


class RemovalOutcome(RequestModel):
    result: RemovalResult
    decided_on: Day
    note: Text | None = None


class TouhyAnswer(RequestModel):
    """The body of POST /incidents/{id}/touhy-requests/{request_id}/response: what the agency did."""

    outcome: TouhyOutcome
    received_on: Day  # when the answer came (for no_answer: when the liaison gave up waiting)
    ground: Text | None = Field(default=None, validate_default=True)  # refused: the ground the agency stated
    note: Text | None = None

    @field_validator("ground")
    @classmethod
    def _refusal_states_its_ground(cls, value: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("outcome") == TouhyOutcome.REFUSED and value is None:
            raise ValueError("is required when the answer is refused: the ground the agency stated")
        return value


class TouhyResponse(TouhyAnswer):
    """The answer as the workflow receives it: which request it answers (from the path)."""

    request_id: Short


class ProsecutionOutcomeIn(RequestModel):
    """The final outcome of the prosecution: it closes the case (its disposition stays `referred`)."""

    outcome: ProsecutionOutcome
    decided_on: Day
    note: Text | None = None
