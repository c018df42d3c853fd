"""The admin's requests: a new user."""

from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints, field_validator

from referrals.domain.enums import Role
from referrals.domain.messages.base import RequestModel
from referrals.domain.messages.fields import Name, Short, _email, bidi_problem


class NewUser(RequestModel):
    name: Name
    email: Annotated[
        str,
        StringConstraints(strip_whitespace=True, max_length=254),
        AfterValidator(_email),
        Field(json_schema_extra={"format": "email"}),
    ]
    roles: list[Role] = Field(min_length=1, max_length=len(Role))
    district: Short | None = None
    star: Short | None = None
    token_valid_days: int | None = Field(default=None, ge=1, le=3650)  # None: until revoked

    @field_validator("name", "district", "star")
    @classmethod
    def _plain(cls, value: str | None) -> str | None:
        # A validator is safe here: a new user is never read back as this model (a case's texts are checked on
        # arrival instead, see _OnArrival).
        if value is not None and (problem := bidi_problem(value)):
            raise ValueError(problem)
        return value
