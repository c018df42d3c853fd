"""A step's form on the case page, between what the browser sent and what the API receives: the rows of its lists
left blank dropped and the rest numbered from 0 (and a refusal's field paths renamed back to the form's rows), its
optional groups left out when blank, a row added or removed, and what was typed, to show the form again.

The form's field names are the API's field paths (referrals/web/forms.py); its lists and groups are its step's
declaration (referrals/domain/steps/declaration.py: `rows`, `groups`)."""

import re
from collections.abc import Iterable
from collections.abc import Set as AbstractSet
from typing import Any

from referrals.domain.refusal_words import moved
from referrals.web.forms import problems_by_field

# Fields that are lists even when one box is ticked.
LISTS = {"return_tasks", "flag_reasons", "statutes", "exhibits"}  # (exhibits: an element's, by key)
# A field of a list's row (`statements[1].name`), and an item of a list (`charges[0]`).
_ROW = re.compile(r"^(?P<list>[A-Za-z_][A-Za-z0-9_]*)\[(?P<index>\d{1,4})\](?P<rest>.*)$")
_ITEM = re.compile(r"^(?P<list>[A-Za-z_][A-Za-z0-9_]*)\[\d{1,4}\]$")
# What a form sent, field by field, to show it again: a list's values (ticked boxes) as a list.
Values = dict[str, str | list[str]]


def compact_rows(
    fields: list[tuple[str, str]], name: str, prefilled: AbstractSet[str]
) -> tuple[list[tuple[str, str]], dict[int, int]]:
    """Drops the rows of `name` left blank (but for their prefilled fields) and numbers the rest from 0,
    as the API would receive them; returns the fields and {index sent to the API: index in the form}."""
    typed: dict[int, bool] = {}
    for field_name, value in fields:
        if (m := _ROW.match(field_name)) and m["list"] == name:
            index = int(m["index"])
            typed[index] = typed.get(index, False) or (m["rest"].lstrip(".") not in prefilled and bool(value.strip()))
    kept = {old: new for new, old in enumerate(sorted(i for i, filled in typed.items() if filled))}
    out = []
    for field_name, value in fields:
        if (m := _ROW.match(field_name)) and m["list"] == name:
            if int(m["index"]) in kept:
                out.append((f"{name}[{kept[int(m['index'])]}]{m['rest']}", value))
        else:
            out.append((field_name, value))
    return out, {new: old for old, new in kept.items()}


def in_form(details: Any, name: str, back: dict[int, int]) -> Any:
    """The refusal's field paths renamed back to the form's rows."""
    if not isinstance(details, list):
        return details
    renamed = []
    for item in details:
        path = item.get("field") if isinstance(item, dict) else None
        if path and (m := _ROW.match(path)) and m["list"] == name and int(m["index"]) in back:
            field = f"{name}[{back[int(m['index'])]}]{m['rest']}"
            item = {**item, "field": field, "text": moved(str(item.get("text", "")), path, field)}
        renamed.append(item)
    return renamed


def drop_blank_groups(fields: list[tuple[str, str]], groups: Iterable[str]) -> list[tuple[str, str]]:
    """Leaves out each group (`immunity.*`) whose fields are all blank: the model then judges the group
    as absent (`immunity`: needed to refer; fine to decline) instead of naming each of its fields."""
    for group in groups:
        inside = [value for name, value in fields if name.startswith(f"{group}.")]
        if inside and not any(value.strip() for value in inside):
            fields = [(name, value) for name, value in fields if not name.startswith(f"{group}.")]
    return fields


def field_errors(details: Any) -> dict[str, str]:
    found = problems_by_field(details)
    for path, message in list(found.items()):
        if (m := _ITEM.match(path)) and m["list"] in LISTS:  # charges[0]: beside the group of boxes
            found.setdefault(m["list"], message)
    return found


# The rows the person and supplement forms open with, which their Add and Remove buttons change, and the most
# they offer (the API's limits are higher; a second supplement takes more).
DEFAULT_ROWS = {"statements": 2, "corrections": 3, "recordings": 1, "federal_personnel": 1, "subjects": 1}
MOST_ROWS = {"statements": 10, "corrections": 20, "recordings": 10, "federal_personnel": 10, "subjects": 10}


def edit_rows(
    values: Values, lists: Iterable[tuple[str, AbstractSet[str]]], action: str, target: str
) -> tuple[Values, dict[str, int]]:
    """The form's values and its row counts after `add` (a list's name) or `remove` (`statements[1]`): a removed
    row's fields go and the rows after it move up one, as the filing form does."""
    rows = {name: DEFAULT_ROWS.get(name, 1) for name, _ in lists}
    for name in values:
        if (m := _ROW.match(name)) and m["list"] in rows:
            rows[m["list"]] = max(rows[m["list"]], int(m["index"]) + 1)
    if action == "add" and target in rows:
        rows[target] = min(rows[target] + 1, MOST_ROWS.get(target, 10))
    elif action == "remove" and (m := _ROW.match(target)) and not m["rest"] and m["list"] in rows:
        gone, name = int(m["index"]), m["list"]
        moved = {}
        for field_name, value in values.items():
            row = _ROW.match(field_name)
            if row is None or row["list"] != name:
                moved[field_name] = value
            elif int(row["index"]) != gone:
                index = int(row["index"]) - (int(row["index"]) > gone)
                moved[f"{name}[{index}]{row['rest']}"] = value
        values, rows[name] = moved, max(rows[name] - 1, 1)
    return values, rows


def form_values(fields: list[tuple[str, str]]) -> Values:
    values: Values = {}
    for name, value in fields:
        if name in ("csrf_token", "idempotency_key", "confirmed", "back"):
            continue
        if name.rsplit(".", 1)[-1] in LISTS:  # `charges`, `recordings[0].flag_reasons`
            values.setdefault(name, [])
            values[name].append(value)  # type: ignore[union-attr]
        else:
            values[name] = value
    return values
