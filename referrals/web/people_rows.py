"""The people involved on the filing form: one fieldset a person (`people[0].name`, `people[0].injuries.hospital`),
each with rows of their statements (`people[0].statements[1].taken_at`), added and removed by the server like the
form's other rows (no script). Field names are the API's field paths (FilingRequest.people: PersonIn)."""

import re
from dataclasses import dataclass
from typing import Any

# A person's own fields, in the page's order, with their labels (the refusal's summary names them so).
PERSON = {
    "part": "Part in the incident",
    "name": "Name",
    "name_withheld": "Without a name, because",
    "language": "Preferred language",
    "interpreter": "An interpreter was used",
    "contact.phone": "Phone",
    "contact.email": "E-mail",
    "contact.address": "Postal address",
    "injuries.description": "Injuries",
    "injuries.ems_treated": "Treated by EMS",
    "injuries.hospital": "Taken to hospital",
    "injuries.treatment_refused": "Refused treatment",
}
STATEMENT = {
    "text": "What they said",
    "taken_by": "Taken by",
    "taken_at": "When it was taken",
    "place": "Where",
    "camera_id": "Camera that recorded it",
    "interpreter": "Interpreter",
}
GROUPS = ("contact", "injuries")  # left out of the body when all blank, so that the model judges them absent
MOST_PEOPLE = 100  # FilingRequest.people's max_length
MOST_STATEMENTS = 50  # PersonIn.statements' max_length

_KEY = "|".join(re.escape(k) for k in PERSON)
_PERSON_FIELD = re.compile(rf"^people\[(\d{{1,4}})\]\.({_KEY})$")
_STATEMENT_FIELD = re.compile(rf"^people\[(\d{{1,4}})\]\.statements\[(\d{{1,4}})\]\.({'|'.join(STATEMENT)})$")
_PERSON = re.compile(r"^people\[(\d{1,4})\]$")
_STATEMENTS = re.compile(r"^people\[(\d{1,4})\]\.statements$")
_STATEMENT = re.compile(r"^people\[(\d{1,4})\]\.statements\[(\d{1,4})\]$")


def person_blank() -> dict[str, Any]:
    """A new person's row: nothing typed, one statement's row."""
    return {"statements": [{}]}


def _blank(row: dict[str, Any]) -> bool:
    return all(not str(v).strip() for k, v in row.items() if k != "statements") and all(
        _blank(s) for s in row.get("statements", [])
    )


@dataclass
class PeopleRows:
    """The people as the form holds them: [{"part": ..., "injuries.description": ..., "statements": [{...}]}]."""

    rows: list[dict[str, Any]]

    def __post_init__(self) -> None:
        self._numbered: dict[int, dict[str, Any]] = {}  # what `take` read, by the numbers the form sent

    def take(self, name: str, value: str) -> bool:
        """Keeps a field sent by the form if it is a person's; False if it is not."""
        numbered = self._numbered
        if match := _PERSON_FIELD.match(name):
            numbered.setdefault(int(match[1]), {"statements": {}})[match[2]] = value
        elif match := _STATEMENT_FIELD.match(name):
            person = numbered.setdefault(int(match[1]), {"statements": {}})
            person["statements"].setdefault(int(match[2]), {})[match[3]] = value
        else:
            return False
        return True

    def settle(self) -> None:
        """The fields taken, in rows numbered from 0 in the order of their numbers."""
        if self._numbered:
            self.rows = [
                {
                    **{k: v for k, v in p.items() if k != "statements"},
                    "statements": [p["statements"][j] for j in sorted(p["statements"])],
                }
                for _, p in sorted(self._numbered.items())
            ]
            self._numbered = {}

    def add(self, target: str) -> str | None:
        """`people` adds a person, `people[0].statements` a statement of theirs; the new row's path, to scroll to."""
        if target == "people" and len(self.rows) < MOST_PEOPLE:
            self.rows.append(person_blank())
            return f"people[{len(self.rows) - 1}]"
        if (match := _STATEMENTS.match(target)) and int(match[1]) < len(self.rows):
            statements = self.rows[int(match[1])].setdefault("statements", [])
            if len(statements) < MOST_STATEMENTS:
                statements.append({})
                return f"{target}[{len(statements) - 1}]"
            return target
        return "people" if target == "people" else None

    def remove(self, target: str) -> str | None:
        """`people[1]` removes a person, `people[0].statements[1]` a statement; where the page scrolls back to."""
        if (match := _PERSON.match(target)) and int(match[1]) < len(self.rows):
            del self.rows[int(match[1])]
            return "people"
        if (match := _STATEMENT.match(target)) and int(match[1]) < len(self.rows):
            statements = self.rows[int(match[1])].get("statements", [])
            if int(match[2]) < len(statements):
                del statements[int(match[2])]
                return f"people[{match[1]}]"
        return None

    def drop_blank(self) -> None:
        """As the API body leaves them out, so that row i on the page is the body's row i."""
        kept = []
        for row in self.rows:
            if _blank(row):
                continue
            kept.append({**row, "statements": [s for s in row.get("statements", []) if not _blank(s)]})
        self.rows = kept

    def fields(self, for_the_api: bool = False) -> list[tuple[str, str]]:
        """Back to form fields, rows numbered as shown. For the API, a person's contact or injuries left all blank
        are left out."""
        out: list[tuple[str, str]] = []
        for i, row in enumerate(self.rows):
            for key, value in row.items():
                if key == "statements":
                    continue
                group = key.split(".")[0] if "." in key else None
                if (
                    for_the_api
                    and group in GROUPS
                    and not any(str(v).strip() for k, v in row.items() if k.startswith(f"{group}."))
                ):
                    continue
                out.append((f"people[{i}].{key}", value))
            for j, statement in enumerate(row.get("statements", [])):
                out += [(f"people[{i}].statements[{j}].{key}", value) for key, value in statement.items()]
        return out

    def shown(self) -> dict[str, str]:
        """Each field path the page shows for the people, with the words naming it in a refusal's summary."""
        names = {"people": "People involved"}
        for i, row in enumerate(self.rows):
            person = f"Person {i + 1}"
            names[f"people[{i}]"] = person
            for key, label in PERSON.items():
                names[f"people[{i}].{key}"] = f"{person}: {label}"
            names[f"people[{i}].contact"] = f"{person}: contact details"
            names[f"people[{i}].injuries"] = f"{person}: injuries and care"
            names[f"people[{i}].statements"] = f"{person}: statements"
            for j in range(len(row.get("statements", []))):
                statement = f"{person}, statement {j + 1}"
                names[f"people[{i}].statements[{j}]"] = statement
                for key, label in STATEMENT.items():
                    names[f"people[{i}].statements[{j}].{key}"] = f"{statement}: {label}"
        return names

    def anyone_injured(self) -> bool:
        """Whether some person's injuries are described: who was injured."""
        return any(str(row.get("injuries.description", "")).strip() for row in self.rows)


INJURED_UNNAMED = (
    "say who: give the injured person under People involved, below, with their injuries "
    "(if their name is not known, choose 'unknown' under 'Without a name, because'), or untick this box"
)


def injured_unnamed(injuries_ticked: bool, people: PeopleRows) -> list[dict[str, str]]:
    """The desk's refusal, beside the box, when "Someone was injured" is ticked and no person's injuries are given,
    or when it is not ticked and someone's are (the form hides them then). The API accepts both: a person may
    be added after filing, with their injuries, and a filing from elsewhere says what it says."""
    if injuries_ticked and not people.anyone_injured():
        return [{"field": "injuries", "message": INJURED_UNNAMED}]
    if not injuries_ticked and people.anyone_injured():
        hurt = [str(i + 1) for i, row in enumerate(people.rows) if str(row.get("injuries.description", "")).strip()]
        who = f"Person {hurt[0]}'s injuries are" if len(hurt) == 1 else f"the injuries of Persons {', '.join(hurt)} are"
        return [{"field": "injuries", "message": f"{who} given: tick this box, or clear them"}]
    return []


_NAMED_INSIDE = re.compile(r"^(people\[\d{1,4}\](?:\.[A-Za-z_]+(?:\[\d{1,4}\])?)*): (.+)$", re.DOTALL)


def in_place(details: Any) -> list[dict[str, Any]]:
    """A refusal's problems, each beside its field: the people's check names the field inside its message
    ("people", "people[0].statements[0].camera_id: camera 'X' is not ..."), which this moves to the field."""
    if not isinstance(details, list):
        return []
    placed = []
    for item in details:
        if (
            isinstance(item, dict)
            and item.get("field") == "people"
            and (found := _NAMED_INSIDE.match(str(item.get("message", ""))))
        ):
            item = {**item, "field": found[1], "message": found[2]}
        placed.append(item)
    return placed
