"""Corrections of filed facts: which fields can be put right, and the change each makes.

A path names one field of the case as filed or added since: a detail of the incident (`location`,
`occurred_at`), an officer's or a federal person's field by position (`officers[0].star`,
`federal_personnel[1].badge`), or a person involved by id (`people[P2].name`). The new value is
checked as the model holding it checks it, with the rest of that model, so a correction can never
leave the case in a state a filing could not have made.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from enum import StrEnum
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from referrals.domain.case import CaseState
from referrals.domain.enums import NameWithheld, PersonPart
from referrals.domain.errors import Rejection, RejectionKind
from referrals.domain.languages import NAMES as LANGUAGES
from referrals.domain.languages import language_name
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


class Kind(StrEnum):
    """The control a correction's value is typed in, and how the value reads."""

    TIME = "time"  # a date and time, read and shown in the department's time zone
    YES_NO = "yes_no"
    CHOICE = "choice"  # one of a list: an enum's members by their labels, a language by its name
    AGENCY = "agency"  # text, offering the policy's federal agencies
    TEXT = "text"
    LONG_TEXT = "long_text"


# The incident's details as the filing form words them; a key in the jurisdiction's terms takes its word.
DETAIL_LABELS = {
    "occurred_at": "When it happened",
    "location": "Location",
    "event_number": "Event number",
    "summary": "Summary",
    "narrative": "Narrative",
    "injuries": "Someone was injured",
    "ems_called": "EMS was called",
}
PERSON_LABELS = {
    "part": "part in the incident",
    "language": "preferred language",
    "interpreter": "an interpreter was used",
    "name_withheld": "without a name, because",
}
_KINDS = {
    "occurred_at": Kind.TIME,
    "narrative": Kind.LONG_TEXT,
    "injuries": Kind.YES_NO,
    "ems_called": Kind.YES_NO,
    "interpreter": Kind.YES_NO,
    "agency": Kind.AGENCY,
    "part": Kind.CHOICE,
    "name_withheld": Kind.CHOICE,
    "language": Kind.CHOICE,
}
_CHOICES: dict[str, tuple[tuple[str, str], ...]] = {
    "part": tuple((m.value, label(m)) for m in PersonPart),
    "name_withheld": tuple((m.value, label(m)) for m in NameWithheld),
    "language": tuple(sorted(LANGUAGES.items(), key=lambda item: item[1])),
}
# How a time reads on the desk and in the documents: 'Sat 05 Dec 2026, 14:10 CST'.
TIME_FORMAT = "%a %d %b %Y, %H:%M %Z"
NOT_GIVEN = "not given"


@dataclass(frozen=True)
class Described:
    """A correctable field as people meet it: its label, the control its value is typed in (with the choices of a
    list) and a value as the rest of the page reads values."""

    label: str  # 'When it happened', 'Officer 1: star', 'P1: name'
    kind: Kind
    choices: tuple[tuple[str, str], ...]  # (value as sent, words) for a CHOICE
    shown: str  # the value given, in words: 'Sat 05 Dec 2026, 14:10 CST', 'Yes', 'Victim', 'Spanish'


def describe(path: str, value: Any = None, zone: tzinfo = UTC, terms: Mapping[str, str] | None = None) -> Described:
    """A correctable field's label, kind and choices, and `value` (as the case keeps it: JSON) in words, for the
    desk's correction form and corrections table and for the documents alike. A path not understood reads as it is
    written, its value as text."""
    match = _PATH.match(path)
    key = match["key"] if match is not None else ""
    kind = _KINDS.get(key, Kind.TEXT) if match is not None else Kind.TEXT
    if key == "injuries" and match is not None and match["list"] == "people":
        kind = Kind.TEXT  # (a person's injuries are a group of their own; the desk does not offer it)
    choices = _CHOICES.get(key, ()) if kind == Kind.CHOICE else ()
    return Described(_label(path, terms or {}), kind, choices, _shown(kind, key, value, zone))


def _shown(kind: Kind, key: str, value: Any, zone: tzinfo) -> str:
    if value is None or value == "":
        return NOT_GIVEN
    if kind == Kind.YES_NO and isinstance(value, bool):
        return "Yes" if value else "No"
    if kind == Kind.TIME:
        try:
            moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
        except ValueError:
            return str(value)
        return moment.astimezone(zone).strftime(TIME_FORMAT) if moment.tzinfo else str(value)
    if key == "language":
        return language_name(str(value))
    if kind == Kind.CHOICE:
        return dict(_CHOICES.get(key, ())).get(str(value), str(value))
    return str(value)


def words(path: str, terms: Mapping[str, str] | None = None) -> str:
    """A path as a reader says it: 'officers[0].star' -> 'Officer 1: star', 'people[P1].name' -> 'P1: name',
    'occurred_at' -> 'When it happened' (describe's label)."""
    return describe(path, terms=terms).label


def _label(path: str, terms: Mapping[str, str]) -> str:
    """`terms` are the jurisdiction's words for some keys (Words.terms: 'star' -> 'shield')."""
    match = _PATH.match(path)
    if match is None:
        return path
    name, index, key = match["list"], match["index"], match["key"]
    said = terms.get(key)
    if name is None:
        return said[:1].upper() + said[1:] if said else DETAIL_LABELS.get(key) or label(key)
    if name == "people":
        return f"{index}: {PERSON_LABELS.get(key) or label(key).lower()}"
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
