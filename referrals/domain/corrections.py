"""Corrections of filed facts: which fields can be put right, and the change each makes.

A path names one field of the case as filed or added since: a detail of the incident (`location`,
`occurred_at`), an officer's or a federal person's field by position (`officers[0].star`,
`federal_personnel[1].badge`), or a person involved by id (`people[P2].name`). The new value is
checked as the model holding it checks it, with the rest of that model, so a correction can never
leave the case in a state a filing could not have made.
"""

import re
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from referrals.domain.case import CaseState
from referrals.domain.errors import Rejection, RejectionKind
from referrals.domain.messages import FederalPerson, IncidentDetails, Officer
from referrals.domain.words import label

# The incident's details that may be corrected. The district is not: it decides who sees the case
# and where it is listed, so a case filed in the wrong district is withdrawn and filed again.
DETAILS = ("occurred_at", "location", "event_number", "summary", "narrative", "injuries", "ems_called")
LISTS: dict[str, tuple[type[BaseModel], tuple[str, ...]]] = {
    "officers": (Officer, ("name", "star")),
    "federal_personnel": (FederalPerson, ("agency", "name", "badge", "description")),
}
# A person's contact details are not corrected here (they would travel in the clear); the person is
# added again with the right ones.
PERSON = ("part", "name", "name_withheld", "language", "interpreter", "injuries")
M = TypeVar("M", bound=BaseModel)
_PATH = re.compile(r"^(?:(?P<list>[a-z_]+)\[(?P<index>[A-Za-z0-9]+)\]\.)?(?P<key>[a-z_]+)$")


@dataclass(frozen=True)
class Change:
    field: str
    old: Any
    new: Any


def correctable() -> list[str]:
    """Every path a correction may name, as a reader would write them."""
    return [
        *DETAILS,
        *(f"{name}[i].{key}" for name, (_, keys) in LISTS.items() for key in keys),
        *(f"people[P1].{key}" for key in PERSON),
    ]


def words(path: str, terms: dict[str, str] | None = None) -> str:
    """A path as a reader says it: 'officers[0].star' -> 'Officer 1: star', 'people[P1].name' -> 'P1: name',
    'location' -> 'Location' (on the desk's correction form and in the packet's corrections). `terms` are the
    jurisdiction's words for some keys (Words.terms: 'star' -> 'shield')."""
    terms = terms or {}
    match = _PATH.match(path)
    if match is None:
        return path
    name, index, key = match["list"], match["index"], match["key"]
    said = terms.get(key)
    if name is None:
        return said[:1].upper() + said[1:] if said else label(key)
    if name == "people":
        return f"{index}: {label(key).lower()}"
    who = "Officer" if name == "officers" else "Federal person"
    return f"{who} {int(index) + 1}: {said or label(key).lower()}" if index.isdigit() else path


def correct(state: CaseState, path: str, value: Any, where: str) -> Change:
    """Put `path` right in `state` (changed in place); Rejection naming `where` (corrections[i]) if it cannot be."""
    match = _PATH.match(path)
    if match is None:
        raise _unknown(path, where)
    name, index, key = match["list"], match["index"], match["key"]
    if name is None:
        if key not in DETAILS:
            raise _unknown(path, where)
        old = state.details.model_dump(mode="json")[key]
        state.details = _valid(IncidentDetails, {**state.details.model_dump(), key: value}, where)
        return Change(path, old, state.details.model_dump(mode="json")[key])
    if name in LISTS:
        model, keys = LISTS[name]
        items = list(getattr(state.details, name))
        if key not in keys or not index.isdigit() or int(index) >= len(items):
            raise _unknown(path, where, f"{name} has {len(items)} entries" if key in keys else None)
        i = int(index)
        old = items[i].model_dump(mode="json")[key]
        items[i] = _valid(model, {**items[i].model_dump(), key: value}, where)
        state.details = state.details.model_copy(update={name: items})
        return Change(path, old, items[i].model_dump(mode="json")[key])
    if name == "people":
        person = next((p for p in state.people if p.id == index), None)
        if key not in PERSON or person is None:
            raise _unknown(path, where, f"no person {index} in this case" if key in PERSON else None)
        old = person.model_dump(mode="json")[key]
        corrected = _valid(type(person), {**person.model_dump(), key: value}, where)
        state.people[state.people.index(person)] = corrected
        return Change(path, old, corrected.model_dump(mode="json")[key])
    raise _unknown(path, where)


def _valid(model: type[M], data: dict[str, Any], where: str) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        message = error["msg"].removeprefix("Value error, ")
        raise Rejection(RejectionKind.INVALID, f"not a valid value: {message}", f"{where}.value") from None


def _unknown(path: str, where: str, why: str | None = None) -> Rejection:
    message = f"'{path}' is not a field that can be corrected"
    message += f" ({why})" if why else f"; one of: {', '.join(correctable())}"
    return Rejection(RejectionKind.INVALID, message, f"{where}.field")
