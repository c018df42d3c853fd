"""The people involved: civilians, their contact details (in the clear on arrival, sealed in the case), injuries
and statements.
"""

from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints, ValidationInfo, field_validator, model_validator

from referrals.domain.enums import NameWithheld, PersonPart
from referrals.domain.messages.base import RequestModel
from referrals.domain.messages.clock import Happened
from referrals.domain.messages.fields import Flag, Line, Name, Short, Text, _email

# Digits with the usual separators, and an extension: "312-555-0100", "+1 (312) 555-0100 ext. 12".
Phone = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^\+?[0-9 ().\-]{7,25}(?:\s*(?:x|ext\.?)\s*[0-9]{1,6})?$")
]


class Contact(RequestModel):
    """How to reach a person: need-to-know, sealed (encrypted) by the API before it goes anywhere."""

    phone: Phone | None = None
    email: (
        Annotated[
            str,
            StringConstraints(strip_whitespace=True, max_length=254),
            AfterValidator(_email),
            Field(json_schema_extra={"format": "email"}),
        ]
        | None
    ) = None
    address: Line | None = None

    @model_validator(mode="after")
    def _something(self) -> "Contact":
        if self.phone is None and self.email is None and self.address is None:
            raise ValueError("give a phone, an e-mail or an address, or leave contact out")
        return self


class SealedContact(RequestModel):
    """Contact details encrypted with the key `key_id` (AES-256-GCM, `data`: nonce + ciphertext, base64)."""

    key_id: Short
    data: Annotated[str, StringConstraints(max_length=4000)]


class Injuries(RequestModel):
    description: Line
    ems_treated: Flag = False
    hospital: Name | None = None  # taken to, if anywhere
    treatment_refused: Flag = False


class StatementIn(RequestModel):
    text: Text
    taken_by: Name
    taken_at: Happened
    place: Line
    camera_id: Short | None = None  # the body camera that recorded it, if any
    interpreter: Name | None = None


class _PersonFields(RequestModel):
    part: PersonPart
    name: Name | None = None
    name_withheld: NameWithheld | None = Field(default=None, validate_default=True)
    language: Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")] | None = None
    interpreter: Flag = False
    injuries: Injuries | None = None
    statements: list[StatementIn] = Field(default_factory=list, max_length=50)

    @field_validator("name_withheld")
    @classmethod
    def _name_or_why_not(cls, value: NameWithheld | None, info: ValidationInfo) -> NameWithheld | None:
        name = info.data.get("name")
        if name is None and value is None:
            raise ValueError("give the person's name, or say why there is none: declined or unknown")
        if name is not None and value is not None:
            raise ValueError("is only for a person without a name")
        return value


class PersonIn(_PersonFields):
    """A person involved as the API accepts them: contact details in the clear, over TLS."""

    contact: Contact | None = None


class Person(_PersonFields):
    """A person involved as the workflow receives and the case keeps them: contact details sealed."""

    contact: SealedContact | None = None
