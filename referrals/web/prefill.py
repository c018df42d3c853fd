"""What the desk's forms take from what the case already records, so that no fact is typed twice: the supervisor
chosen from the federal personnel, the legal review's subjects prefilled from them, an element's exhibits ticked by
key, and a correction's value typed in the control its field needs (referrals/domain/corrections.py, `describe`).

Each works without script (a choice sent to the server, which fills the form or the request); the case page's script
(templates/web/static/case-forms.js) does the same in the browser."""

import re
from collections.abc import Mapping, Sequence
from datetime import tzinfo

from referrals.api.errors import ApiError
from referrals.domain import corrections
from referrals.domain.enums import ProngFinding
from referrals.domain.messages import FederalPerson
from referrals.domain.messages.review import overall_finding
from referrals.domain.words import label

# The supervisor form's choice of a federal person already recorded (not a field of the API's request).
PERSON = "federal_person"
# What a chosen person fills in the supervisor form.
FILLED = ("name", "agency", "badge")
_EXHIBITS = re.compile(r"^(?P<element>subjects\[\d+\]\.charges\[\d+\]\.elements\[\d+\])\.exhibits$")


def person_words(person: FederalPerson) -> str:
    """'ICE: J. Doe, badge 4411' or 'CBP: driver of the grey SUV'."""
    who = ", ".join(part for part in (person.name, f"badge {person.badge}" if person.badge else None) if part) or (
        person.description or "unnamed"
    )
    return f"{person.agency}: {who}"


def person_choices(personnel: Sequence[FederalPerson]) -> list[tuple[str, str, dict[str, str]]]:
    """[(value, words, what it fills)] of the recorded federal personnel, for the supervisor form's select."""
    return [(str(i), person_words(p), {key: getattr(p, key) or "" for key in FILLED}) for i, p in enumerate(personnel)]


def _chosen(value: str, personnel: Sequence[FederalPerson]) -> FederalPerson | None:
    return personnel[int(value)] if value.isdigit() and int(value) < len(personnel) else None


def supervisor_values(values: dict, personnel: Sequence[FederalPerson]) -> dict:
    """The form shown again after "Fill in": the chosen person's name, agency and badge in their fields."""
    person = _chosen(str(values.get(PERSON, "")), personnel)
    if person is None:
        return values
    return {**values, **{key: getattr(person, key) or "" for key in FILLED}}


def supervisor(fields: list[tuple[str, str]], personnel: Sequence[FederalPerson]) -> list[tuple[str, str]]:
    """What the supervisor form sends, as the API takes it: the chosen person fills what was left blank."""
    chosen = next((value for name, value in fields if name == PERSON), "")
    person = _chosen(chosen.strip(), personnel)
    if chosen.strip() and person is None:
        message = "is not one of the federal personnel recorded on this case"
        raise ApiError(422, f"{PERSON}: {message}", [{"field": PERSON, "message": message}])
    typed = {name for name, value in fields if value.strip()}
    out = [
        (name, value)
        for name, value in fields
        if name != PERSON and not (person and name in FILLED and not value.strip())
    ]
    if person is not None:
        out += [(key, value) for key in FILLED if key not in typed and (value := getattr(person, key))]
    return out


def subject_words(person: FederalPerson) -> str:
    """The legal review's subject for a recorded agent: 'J. Doe, badge 4411', or their description."""
    parts = [person.name, f"badge {person.badge}" if person.badge else None]
    named = ", ".join(part for part in parts if part)
    if named and person.description:
        return f"{named} ({person.description})"
    return named or person.description or f"unidentified {person.agency} agent"


def review_subjects(personnel: Sequence[FederalPerson]) -> dict[str, str]:
    """The legal review form's first values: one subject per recorded agent, named and with their agency."""
    values: dict[str, str] = {}
    for i, person in enumerate(personnel):
        values[f"subjects[{i}].subject"] = subject_words(person)
        values[f"subjects[{i}].agency"] = person.agency
    return values


def findings() -> dict[str, str]:
    """{'met|not_met': 'Not immune', …}: the overall finding each pair of prong findings determines, in words (the
    form shows it, and the script follows the prongs with it)."""
    return {f"{a.value}|{n.value}": label(overall_finding(a, n)) for a in ProngFinding for n in ProngFinding}


def finding_words(authority: object, necessary: object) -> str:
    """The overall finding two prong findings sent by the form determine, or '' until both are chosen."""
    return findings().get(f"{authority}|{necessary}", "")


def cite_exhibits(fields: list[tuple[str, str]], citable: Mapping[str, dict]) -> list[tuple[str, str]]:
    """An element's exhibits ticked by key (A1, C2, S2.1, T1) as the API's `exhibits` takes them."""
    out: list[tuple[str, str]] = []
    counts: dict[str, int] = {}
    for name, value in fields:
        m = _EXHIBITS.match(name)
        if m is None:
            out.append((name, value))
            continue
        key = value.strip()
        if not key:
            continue
        exhibit = citable.get(key)
        if exhibit is None:
            message = f"{key} is not an exhibit this review can cite"
            raise ApiError(422, f"{name}: {message}", [{"field": name, "message": message}])
        n = counts[name] = counts.get(name, -1) + 1
        out += [(f"{name}[{n}].{path}", str(part)) for path, part in _flat(exhibit)]
    return out


def _flat(tree: dict, prefix: str = "") -> list[tuple[str, object]]:
    found: list[tuple[str, object]] = []
    for key, value in tree.items():
        if isinstance(value, dict):
            found += _flat(value, f"{prefix}{key}.")
        else:
            found.append((f"{prefix}{key}", value))
    return found


def exhibit_choices(listing: Sequence[dict], citable: Mapping[str, dict]) -> list[tuple[str, str]]:
    """[(key, 'A1: Body-worn camera recording, camera …')] of the exhibits an element may cite."""
    return [(x["label"], f"{x['label']}: {x['description']}") for x in listing if x["label"] in citable]


def control(described: corrections.Described, path: str) -> str:
    """The name of the control a correctable field is typed in: its kind, or for a list its field's own list."""
    key = path.rsplit(".", 1)[-1]
    if key == "language":  # by name, or another by its code (templates/web/choices.html)
        return "language"
    if described.kind == corrections.Kind.CHOICE:
        return f"choice-{key}"
    return described.kind.value


def correctable(
    paths: Sequence[tuple[str, str]], zone: tzinfo, terms: Mapping[str, str]
) -> tuple[list[tuple[str, str, str]], dict[str, corrections.Described]]:
    """The correction form's field list, each option with its control, and one example of each control (the
    templates the script swaps in)."""
    options: list[tuple[str, str, str]] = []
    controls: dict[str, corrections.Described] = {}
    for path, words in paths:
        described = corrections.describe(path, zone=zone, terms=terms)
        name = control(described, path)
        controls.setdefault(name, described)
        options.append((path, words, name))
    return options, controls
