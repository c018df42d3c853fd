"""The investigation's steps: the footage hold, the on-scene supervisor's identification, the violation report."""

from pydantic import Field, ValidationInfo, field_validator

from referrals.domain.enums import SupervisorOutcome, Verification
from referrals.domain.messages.base import RequestModel, _unique
from referrals.domain.messages.clock import Until
from referrals.domain.messages.fields import Line, Name, Short, Text


class Hold(RequestModel):
    camera_id: Short
    hold_reference: Short
    retained_until: Until


class FootageHold(RequestModel):
    holds: list[Hold] = Field(min_length=1, max_length=200)

    @field_validator("holds")
    @classmethod
    def _unique_cameras(cls, value: list[Hold]) -> list[Hold]:
        _unique([h.camera_id for h in value], "camera_id")
        return value


class SupervisorIdentification(RequestModel):
    outcome: SupervisorOutcome
    name: Name | None = Field(default=None, validate_default=True)
    agency: Short | None = Field(default=None, validate_default=True)
    title: Name | None = None
    badge: Short | None = Field(default=None, validate_default=True)
    verification: Verification | None = None
    camera_id: Short | None = Field(default=None, validate_default=True)
    notes: Text | None = None

    @field_validator("name", "agency", "badge", "camera_id")
    @classmethod
    def _outcome_needs(cls, value: str | None, info: ValidationInfo) -> str | None:
        outcome = info.data.get("outcome")
        if value is None and outcome == SupervisorOutcome.IDENTIFIED:
            raise ValueError("is required when the outcome is identified")
        if value is None and outcome == SupervisorOutcome.REFUSED and info.field_name == "camera_id":
            raise ValueError("is required when the outcome is refused: the camera that recorded the refusal")
        return value


class Allegation(RequestModel):
    statute: Short
    person: Line
    facts: Text


class ViolationReport(RequestModel):
    allegations: list[Allegation] = Field(min_length=1, max_length=100)
    narrative: Text
