"""The filing: the incident, the officers, the federal personnel, the recordings and the people involved."""

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, Field, ValidationInfo, field_validator

from referrals.domain.chronology import shown
from referrals.domain.messages.base import RequestModel, _unique
from referrals.domain.messages.clock import Happened
from referrals.domain.messages.fields import District, Flag, FlagCode, Line, Name, Short, Text
from referrals.domain.messages.people import PersonIn


class Officer(RequestModel):
    name: Name
    star: Short


class RecordingIn(RequestModel):
    camera_id: Short
    officer_star: Short
    started_at: Happened
    ended_at: Happened
    # The policy's flag codes (`recording_flags`): none for an unflagged recording. Checked against the policy.
    flag_reasons: list[FlagCode] = Field(default_factory=list, max_length=7)

    @field_validator("ended_at")
    @classmethod
    def _ends_after_start(cls, value: datetime, info: ValidationInfo) -> datetime:
        started = info.data.get("started_at")
        if started is not None and value < started:
            # Both as typed, in the end's offset: the model knows no department's zone.
            said = f"({shown(started, value.tzinfo)}); it is dated {shown(value)}"
            raise ValueError(f"must not be before the recording's start {said}")
        return value


class FederalPerson(RequestModel):
    agency: Short
    name: Name | None = None
    badge: Short | None = None
    description: Line | None = None


class IncidentDetails(RequestModel):
    occurred_at: Happened
    location: Line
    district: District
    event_number: Short
    summary: Line
    narrative: Text
    injuries: Flag = False
    ems_called: Flag = False
    officers: list[Officer] = Field(min_length=1, max_length=50)
    federal_personnel: list[FederalPerson] = Field(default_factory=list, max_length=100)


def _cameras_once(value: list[RecordingIn]) -> list[RecordingIn]:
    _unique([r.camera_id for r in value], "camera_id")
    return value


# Recordings as a filing or a supplement lists them: each camera once.
Recordings = Annotated[list[RecordingIn], Field(max_length=200), AfterValidator(_cameras_once)]


class IncidentFiling(IncidentDetails):
    recordings: Recordings = Field(default_factory=list)


class FilingRequest(IncidentFiling):
    """The body of POST /incidents: the filing and the people involved."""

    people: list[PersonIn] = Field(default_factory=list, max_length=100)

    @field_validator("people")
    @classmethod
    def _statements_name_filed_cameras(cls, value: list[PersonIn], info: ValidationInfo) -> list[PersonIn]:
        cameras = {r.camera_id for r in info.data.get("recordings") or []}
        for i, person in enumerate(value):
            for j, statement in enumerate(person.statements):
                if statement.camera_id is not None and statement.camera_id not in cameras:
                    raise ValueError(
                        f"people[{i}].statements[{j}].camera_id: camera '{statement.camera_id}' "
                        "is not among this filing's recordings"
                    )
        return value
