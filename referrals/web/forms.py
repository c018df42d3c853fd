"""From an HTML form to the API's request models and back: field names are the API's field paths
(`recordings[0].camera_id`), so a refusal naming a field lands beside that field."""

import re
from collections.abc import Set as AbstractSet
from datetime import datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ValidationError

from referrals.api.errors import ApiError, field_problems
from referrals.domain.refusal_words import text_of

M = TypeVar("M", bound=BaseModel)

_PART = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)|\[(\d{1,4})\]|\.")
# What a datetime-local field sends: a wall-clock time without its zone.
_LOCAL_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$")
# (`confirmed` and `back`: the answers of the confirmation page before a step that cannot be undone)
NOT_DATA = {"csrf_token", "idempotency_key", "add", "remove", "confirmed", "back"}


def _parts(name: str) -> list[str | int] | None:
    parts: list[str | int] = []
    pos = 0
    while pos < len(name):
        match = _PART.match(name, pos)
        if match is None:
            return None
        if match.group(1):
            parts.append(match.group(1))
        elif match.group(2):
            parts.append(int(match.group(2)))
        pos = match.end()
    return parts or None


def _put(tree: dict, parts: list[str | int], value: Any) -> None:
    node: Any = tree
    for here, following in zip(parts, parts[1:]):
        blank: Any = [] if isinstance(following, int) else {}
        if isinstance(here, int):
            while len(node) <= here:
                node.append(None)
            if node[here] is None:
                node[here] = blank
            node = node[here]
        else:
            node = node.setdefault(here, blank)
    last = parts[-1]
    if isinstance(last, int):
        while len(node) <= last:
            node.append(None)
        node[last] = value
    elif last in node:  # a field sent more than once (checkboxes): a list of its values
        node[last] = (node[last] if isinstance(node[last], list) else [node[last]]) + [value]
    else:
        node[last] = value


def _clean(value: Any, zone: ZoneInfo, lists: set[str], key: str = "") -> Any:
    if isinstance(value, dict):
        out = {k: _clean(v, zone, lists, k) for k, v in value.items()}
        return {k: v for k, v in out.items() if v is not None}
    if isinstance(value, list):
        items = [_clean(v, zone, lists) for v in value]
        return [v for v in items if v not in (None, {})]
    if isinstance(value, str):
        value = value.strip()
        if value == "":
            return None
        if key in lists:
            return [value]
        if _LOCAL_TIME.match(value):  # read in the department's clock
            return datetime.fromisoformat(value).replace(tzinfo=zone).isoformat()
        return value
    return value


def nest(fields: list[tuple[str, str]], zone: ZoneInfo, lists: AbstractSet[str] = frozenset()) -> dict:
    """Form fields to the nested body the API would receive. Blank fields are left out (the model's
    default applies, or it names the field as missing); rows left wholly blank are dropped; fields in
    `lists` are lists even with one value (checkboxes); a wall-clock time is read in `zone`."""
    tree: dict = {}
    for name, value in fields:
        if name in NOT_DATA:
            continue
        parts = _parts(name)
        if parts is None or not isinstance(parts[0], str):
            raise ApiError(422, f"{name}: not a field of this form", [{"field": name, "message": "unknown field"}])
        _put(tree, parts, value)
    return _clean(tree, zone, set(lists))


def checked(value: Any) -> bool:
    return value in ("on", "true", True)


def parse(model: type[M], body: dict) -> M:
    """The model, or the API's 422 naming each field the way the form names it."""
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        details = field_problems([{**err, "loc": ("body", *err["loc"])} for err in exc.errors()])
        raise ApiError(422, "; ".join(f"{d['field']}: {d['message']}" for d in details), details) from None


def problems_by_field(details: Any) -> dict[str, str]:
    """{field path: the refusal's words} of a refusal, for the template to show beside each field."""
    if isinstance(details, dict) and "field" in details:
        details = [{"field": details["field"], "message": "refused", "text": text_of(details["field"], "is refused")}]
    if not isinstance(details, list):
        return {}
    found: dict[str, str] = {}
    for item in details:
        if isinstance(item, dict) and item.get("field"):
            found.setdefault(item["field"], item.get("text") or text_of(item["field"], str(item.get("message", ""))))
    return found


# What a form sends for yes and no: a ticked box ("on"), or true/false typed as a correction's value.
_YES_NO = {"on": True, "true": True, "yes": True, "false": False, "no": False}
_FLAGS = {"interpreter", "ems_treated", "treatment_refused", "injuries", "ems_called"}


def yes_no(body: dict) -> dict:
    """The form's yes/no fields as the JSON booleans the API takes (it refuses "on" and 1)."""

    def walk(node):
        if isinstance(node, dict):
            out = {
                k: (_YES_NO.get(v.lower(), v) if k in _FLAGS and isinstance(v, str) else walk(v))
                for k, v in node.items()
            }
            field = out.get("field")
            if isinstance(field, str) and field.rsplit(".", 1)[-1] in _FLAGS and isinstance(out.get("value"), str):
                out["value"] = _YES_NO.get(out["value"].lower(), out["value"])
            return out
        if isinstance(node, list):
            return [walk(item) for item in node]
        return node

    return walk(body)
