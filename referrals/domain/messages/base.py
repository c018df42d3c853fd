"""What every request model shares: `RequestModel` (no undeclared field, none asking for status, frozen), who acts
(`Actor`) and a step as the workflow receives it (`Step`).
"""

from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, model_validator

from referrals.domain.enums import Role
from referrals.domain.messages.privacy import PRIVACY_RULE, asks_status


class RequestModel(BaseModel):
    """A body as people send it: no field it does not declare, none asking for status (PRIVACY_RULE), frozen.
    (Named so as not to shadow pydantic's `Strict`.)"""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _refuse_status_fields(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key in data:  # (a field declared is never one that asks: looked up first, the name's words only after)
                if key not in cls.__pydantic_fields__ and isinstance(key, str) and asks_status(key):
                    raise ValueError(f"field '{key}' is refused: {PRIVACY_RULE}")
        return data


class Actor(RequestModel):
    """Who acts: always taken from the bearer token, never from a request body."""

    user_id: str
    name: str
    roles: list[Role]
    district: str | None = None
    star: str | None = None

    def has(self, *roles: Role) -> bool:
        return any(role in self.roles for role in roles)


def _unique(values: list[str], what: str) -> None:
    """Refuses a list in which a value appears more than once (the validators of the stages' payloads)."""
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"{what} '{value}' appears more than once")
        seen.add(value)


P = TypeVar("P", bound=BaseModel)


class Step(BaseModel, Generic[P]):
    """One human step as the workflow receives it: who, what, and the API request's id."""

    model_config = ConfigDict(frozen=True)

    actor: Actor
    payload: P
