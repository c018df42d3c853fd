"""What a step changed in a case, as the few edits that turn the case as last stored (its JSON) into the case now.

A step's write sends these instead of the whole case (issue 32: a big case's steps were slowed by sending, checking
and storing hundreds of kilobytes that had not changed), and PostgreSQL applies them to the stored case
(referrals/store/cases.py, `persist_edits`). An edit replaces one part of the case (a top-level field), appends
items to a list part, or replaces one item of a list part; `applied` is what applying them means, in Python.

Pure and deterministic: the workflow computes them."""

from typing import Any

from pydantic import BaseModel, ConfigDict

# A list part is edited item by item while at most this share of its items changed; past it, replaced whole.
ITEMS_AT_MOST = 0.5


class CaseEdit(BaseModel):
    """`part`: the case's field. `value` replaces it; with `append`, `value`'s items are added at its end; with
    `index`, `value` replaces that item of it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    part: str
    value: Any
    append: bool = False
    index: int | None = None


def edits(before: dict[str, Any], after: dict[str, Any]) -> list[CaseEdit]:
    """The edits that make `before` into `after` (each the case's JSON, `model_dump(mode="json")`). A part only
    `before` has is left: the case's parts are its fields, which every dump names."""
    out: list[CaseEdit] = []
    for part, new in after.items():
        old = before.get(part)
        if part in before and old == new:
            continue
        if isinstance(old, list) and isinstance(new, list) and old:
            if len(new) > len(old) and new[: len(old)] == old:
                out.append(CaseEdit(part=part, value=new[len(old) :], append=True))
                continue
            if len(new) == len(old):
                changed = [i for i, (a, b) in enumerate(zip(old, new, strict=True)) if a != b]
                if len(changed) <= ITEMS_AT_MOST * len(new):
                    out.extend(CaseEdit(part=part, value=new[i], index=i) for i in changed)
                    continue
        out.append(CaseEdit(part=part, value=new))
    return out


def applied(state: dict[str, Any], changes: list[CaseEdit]) -> dict[str, Any]:
    """`state` with `changes` made (a new dict; `state` is left as it was)."""
    out = dict(state)
    for edit in changes:
        if edit.append:
            out[edit.part] = [*(out.get(edit.part) or []), *edit.value]
        elif edit.index is not None:
            items = list(out[edit.part])
            items[edit.index] = edit.value
            out[edit.part] = items
        else:
            out[edit.part] = edit.value
    return out
