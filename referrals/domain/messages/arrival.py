"""The checks on arrival: each rule a field's type carries as a mark (`_OnArrival`: against the clock, against
bidirectional control characters), checked once when a request arrives, never in a validator.
"""

from datetime import datetime
from typing import Annotated, Any, get_args, get_origin

from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic.fields import FieldInfo

from referrals.domain.messages.fields import _OnArrival, _PlainText, bidi_problem
from referrals.domain.messages.filing import IncidentDetails


def _inner_model(annotation: Any) -> type[BaseModel] | None:
    """The model a field holds, itself or in a list or an optional: Hold of list[Hold], Contact of Contact | None."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        if (found := _inner_model(arg)) is not None:
            return found
    return None


def _marks(annotation: Any, in_list: bool = False) -> list[tuple[_OnArrival, Any, bool]]:
    """The rules on arrival a field's type carries, each with the type it judges and whether the field holds a
    list of them: those of Day for `Day | None`, of Line for `list[Line]`."""
    if get_origin(annotation) is Annotated:
        return [(mark, annotation, in_list) for mark in annotation.__metadata__ if isinstance(mark, _OnArrival)]
    found = []
    for arg in get_args(annotation):
        found += _marks(arg, in_list or get_origin(annotation) is list)
    return found


def _field_marks(field: FieldInfo) -> list[tuple[_OnArrival, Any, bool]]:
    own = [(mark, field.annotation, False) for mark in field.metadata if isinstance(mark, _OnArrival)]
    return own + _marks(field.annotation)


def _judged(mark: _OnArrival, judged: Any, value: Any) -> tuple[bool, Any]:
    """(whether the value is of the type the mark judges, the value as that type)."""
    if isinstance(mark, _PlainText):
        return isinstance(value, str), value
    try:
        return True, TypeAdapter(judged).validate_python(value)
    except ValidationError:
        return False, None


def clock_problems_in(model: type[BaseModel], data: Any, now: datetime, path: str = "") -> list[dict[str, str]]:
    """Each field of `data` (the body of a `model`, valid or not; nested ones too) whose value a rule on arrival
    refuses at `now` (a time the clock refuses, a text with a bidirectional control character): [{field,
    message}]. A value that is not even of the field's type is left to the model's validation."""
    problems: list[dict[str, str]] = []
    if not isinstance(data, dict):
        return problems
    for name, field in model.model_fields.items():
        if data.get(name) is None:
            continue
        value, where = data[name], f"{path}.{name}" if path else name
        for mark, judged, in_list in _field_marks(field):
            values = list(enumerate(value)) if in_list and isinstance(value, list) else [(None, value)]
            for i, one in values:
                fits, read = _judged(mark, judged, one)
                if fits and (message := mark.problem(read, now)):
                    problems.append({"field": where if i is None else f"{where}[{i}]", "message": message})
        if (inner := _inner_model(field.annotation)) is not None:
            if isinstance(value, list):
                for i, item in enumerate(value):
                    problems += clock_problems_in(inner, item, now, f"{where}[{i}]")
            else:
                problems += clock_problems_in(inner, value, now, where)
    return problems


def clock_problems(model: BaseModel, now: datetime) -> list[dict[str, str]]:
    """Each field of a valid request a rule on arrival refuses at `now` (see `clock_problems_in`), and each
    correction whose new value would be refused as the field it corrects (an incident moved into the future), or
    is text with a bidirectional control character (whatever field it corrects: a person's name too)."""
    problems = clock_problems_in(type(model), model.model_dump(), now)
    for i, correction in enumerate(getattr(model, "corrections", None) or []):
        found = [
            problem["message"]
            for problem in clock_problems_in(IncidentDetails, {correction.field: correction.value}, now)
        ]
        if isinstance(correction.value, str) and (bidi := bidi_problem(correction.value)) and bidi not in found:
            found.append(bidi)
        problems += [{"field": f"corrections[{i}].value", "message": message} for message in found]
    return problems
