"""Supplementary reports: what was found or put right after the filing (new recordings, people, statements,
federal personnel, corrections).
"""

from typing import Annotated, Any, Self

from pydantic import Field, StringConstraints, model_validator

from referrals.domain.messages.base import RequestModel
from referrals.domain.messages.fields import Line, Short, Text
from referrals.domain.messages.filing import FederalPerson, Recordings
from referrals.domain.messages.people import Person, PersonIn, StatementIn

CorrectionPath = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=120, pattern=r"^[A-Za-z_]+(\[[A-Za-z0-9]+\])?(\.[A-Za-z_]+)?$"),
]


class Correction(RequestModel):
    """A filed fact put right: the field's path (`location`, `officers[0].star`, `people[P1].name`), its new
    value and why. The case shows the new value; the old one stays in the audit trail and the supplement."""

    field: CorrectionPath
    value: Any
    reason: Line


class StatementAdded(StatementIn):
    """A statement of a person already in the case."""

    person_id: Short


class _SupplementFields(RequestModel):
    narrative: Text | None = None
    recordings: Recordings = Field(default_factory=list)
    statements: list[StatementAdded] = Field(default_factory=list, max_length=100)
    federal_personnel: list[FederalPerson] = Field(default_factory=list, max_length=100)
    corrections: list[Correction] = Field(default_factory=list, max_length=50)

    @model_validator(mode="after")
    def _something(self) -> Self:
        if not (
            self.narrative
            or self.recordings
            or self.statements
            or self.federal_personnel
            or self.corrections
            or getattr(self, "people", None)
        ):
            raise ValueError(
                "a supplement needs at least one of narrative, recordings, people, statements, "
                "federal_personnel or corrections"
            )
        return self


class SupplementIn(_SupplementFields):
    """The body of POST /incidents/{id}/supplements: new people's contact details in the clear."""

    people: list[PersonIn] = Field(default_factory=list, max_length=100)


class Supplement(_SupplementFields):
    """A supplement as the workflow receives and the case keeps it: contact details sealed."""

    people: list[Person] = Field(default_factory=list, max_length=100)
