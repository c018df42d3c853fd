"""Filing an incident from the desk: the form, its rows added and removed by the server (no script),
and the filing itself through the API's own code path (referrals/api/actions.py)."""

import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse

from referrals.api.actions import file_case
from referrals.api.deps import ClientDep, PolicyDep, SessionDep, SettingsDep
from referrals.api.errors import ApiError
from referrals.api.routes.incidents import refuse_other_district
from referrals.domain.enums import NameWithheld, PersonPart, Role
from referrals.domain.messages import FilingRequest, clock_problems_in
from referrals.domain.permissions import Operation, allowed, describe
from referrals.domain.policy import Policy, Words
from referrals.domain.refusal_words import LABELS
from referrals.domain.words import sentence
from referrals.web.auth import CSRF_FIELD, Desk, DeskDep, check_csrf, read_form
from referrals.web.choices import merge_other
from referrals.web.forms import checked, nest, parse, problems_by_field, yes_no
from referrals.web.pages import PREFIX, options, render
from referrals.web.people_rows import PeopleRows, in_place, injured_unnamed, person_blank

router = APIRouter(prefix="/desk", include_in_schema=False)

# The incident's fields in the page's order, each by its one label (referrals/domain/refusal_words.py).
SCALARS = {
    name: LABELS[name] for name in ("occurred_at", "district", "location", "event_number", "summary", "narrative")
}
FLAGS = {name: LABELS[name] for name in ("injuries", "ems_called")}
LISTS = {"flag_reasons"}  # checkboxes: a list even when one box is ticked


@dataclass(frozen=True)
class Group:
    """A repeating group of the filing, one fieldset per row."""

    one: str  # a row's legend: "Recording 2"
    heading: str
    add: str  # the button adding a row
    fields: dict[str, str]  # key -> label
    most: int  # the API's max_length


def worded(words: Words) -> tuple[dict[str, str], dict[str, Group]]:
    """The form's fields and groups, labelled in the policy's words (a star, a shield; a district, a precinct)."""
    scalars = {**SCALARS, "district": sentence(words.district), "event_number": sentence(words.event_number)}
    groups = {
        "officers": Group(
            "Officer",
            "Officers on scene",
            "Add an officer",
            {"name": "Name", "star": f"{sentence(words.badge)} number"},
            50,
        ),
        "recordings": Group(
            "Recording",
            "Body-worn camera recordings",
            "Add a recording",
            {
                "camera_id": "Camera ID",
                "officer_star": f"{sentence(words.badge)} of the officer wearing it",
                "started_at": "Started at",
                "ended_at": "Ended at",
                "flag_reasons": "Flag reasons",
            },
            200,
        ),
        "federal_personnel": Group(
            "Federal person",
            "Federal personnel on scene",
            "Add federal personnel",
            {"agency": "Agency", "name": "Name", "badge": "Badge", "description": "Description"},
            100,
        ),
    }
    return scalars, groups


# What the form reads (the fields each group has): the same under every policy; only the words differ.
GROUPS = worded(Words())[1]
ROW_FIELD = re.compile(r"^(officers|recordings|federal_personnel)\[(\d{1,4})\]\.([a-z_]+)$")
ROW = re.compile(r"^(officers|recordings|federal_personnel)\[(\d{1,4})\]$")
LAST_PART = re.compile(r"(\.[A-Za-z_][A-Za-z0-9_]*|\[\d+\])$")
FORM_ONLY = {CSRF_FIELD, "idempotency_key", "add", "remove"}


def field_id(name: str) -> str:
    """The element id fields.html gives a field (its `_id` macro): recordings[0].ended_at -> f-recordings-0-ended_at."""
    return "f-" + name.replace("[", "-").replace("]", "").replace(".", "-")


@dataclass
class FilingForm:
    """What the form holds: the values as typed (times as wall-clock text), the rows of each group."""

    values: dict[str, str] = field(default_factory=dict)
    flags: dict[str, bool] = field(default_factory=dict)
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: {name: [] for name in GROUPS})
    other: list[tuple[str, str]] = field(default_factory=list)  # fields this form does not have: the API refuses them
    people: PeopleRows = field(default_factory=lambda: PeopleRows([]))  # the people involved, with their statements

    @classmethod
    def blank(cls, desk: Desk) -> "FilingForm":
        form = cls(values={"district": desk.user.district or ""})
        form.rows["officers"].append({"name": desk.user.name or "", "star": desk.user.star or ""})
        form.rows["recordings"].append({})
        form.rows["federal_personnel"].append({})
        form.people.rows.append(person_blank())
        return form

    @classmethod
    def read(cls, fields: list[tuple[str, str]]) -> "FilingForm":
        form = cls()
        numbered: dict[str, dict[int, dict[str, Any]]] = {name: {} for name in GROUPS}
        for name, value in fields:
            if name in FORM_ONLY:
                continue
            if name in SCALARS:
                form.values[name] = value
            elif name in FLAGS:
                form.flags[name] = checked(value)
            elif (match := ROW_FIELD.match(name)) and match.group(3) in GROUPS[match.group(1)].fields:
                group, index, key = match.group(1), int(match.group(2)), match.group(3)
                row = numbered[group].setdefault(index, {})
                if key in LISTS:
                    row.setdefault(key, []).append(value)
                else:
                    row[key] = value
            elif not form.people.take(name, value):
                form.other.append((name, value))
        form.rows = {group: [rows[i] for i in sorted(rows)] for group, rows in numbered.items()}
        form.people.settle()
        return form

    def add_row(self, group: str) -> str | None:
        """Adds a blank row; the new row's field path, to scroll to it."""
        if group.startswith("people"):
            return self.people.add(group)
        if group in GROUPS and len(self.rows[group]) < GROUPS[group].most:
            self.rows[group].append({})
            return f"{group}[{len(self.rows[group]) - 1}]"
        return group if group in GROUPS else None

    def remove_row(self, path: str) -> str | None:
        if path.startswith("people"):
            return self.people.remove(path)
        if (match := ROW.match(path)) and int(match.group(2)) < len(self.rows[match.group(1)]):
            del self.rows[match.group(1)][int(match.group(2))]
            return match.group(1)
        return None

    def drop_blank_rows(self) -> None:
        """As the API body leaves them out (referrals/web/forms.py), so that row i on the page is the body's row i."""

        def blank(row: dict) -> bool:
            return all((not v) if isinstance(v, list) else not v.strip() for v in row.values())

        self.rows = {group: [row for row in rows if not blank(row)] for group, rows in self.rows.items()}
        self.people.drop_blank()

    def fields(self) -> list[tuple[str, str]]:
        """Back to form fields, rows numbered as shown."""
        out = [(name, value) for name, value in self.values.items()]
        out += [(name, "on") for name, on in self.flags.items() if on]
        for group, rows in self.rows.items():
            for i, row in enumerate(rows):
                for key, value in row.items():
                    for one in value if isinstance(value, list) else [value]:
                        out.append((f"{group}[{i}].{key}", one))
        return out + self.people.fields(for_the_api=True) + self.other

    def shown(self, policy: Policy) -> dict[str, str]:
        """Every field path the page shows, in the page's order, with the words naming it in the summary."""
        scalars, groups = worded(policy.words)
        names = {**scalars, **FLAGS, **self.people.shown()}  # the people come after the boxes on the page
        for group, spec in groups.items():
            names[group] = spec.heading
            for i in range(len(self.rows[group])):
                names[f"{group}[{i}]"] = f"{spec.one} {i + 1}"
                for key, label in spec.fields.items():
                    names[f"{group}[{i}].{key}"] = f"{spec.one} {i + 1}: {label}"
        return names


def _page(
    request: Request,
    form: FilingForm,
    key: str,
    status: int = 200,
    problems: list[dict] | None = None,
    message: str | None = None,
):
    """The form; with a refusal, each problem beside its field (or its row, or its group) and listed on top."""
    policy = request.app.state.policy
    shown = form.shown(policy)
    order = {name: i for i, name in enumerate(shown)}
    errors: dict[str, str] = {}
    summary: list[dict[str, Any]] = []
    loose: list[str] = []  # problems naming nothing on the page
    for name, text in problems_by_field(problems or []).items():
        target = name
        while target not in shown and LAST_PART.search(target):
            target = LAST_PART.sub("", target)
        if target in shown:
            errors.setdefault(target, text)
            summary.append(
                {
                    "anchor": field_id(target),
                    "label": shown[name] if name in shown else shown[target],
                    "message": text,
                    "text": text,  # the field named in words (referrals/domain/refusal_words.py)
                    "at": order[target],
                }
            )
        else:
            loose.append(text)
    summary.sort(key=lambda problem: problem["at"])
    if loose and not message:
        message = "; ".join(loose)
    desk = request.state.desk
    scalars, groups = worded(policy.words)
    return render(
        request,
        "file.html",
        status,
        active="file",
        form=form,
        groups=groups,
        scalars=scalars,
        flags=FLAGS,
        flag_options=[(f.code, f.label) for f in policy.recording_flags],
        person_choices={"part": options(PersonPart), "name_withheld": options(NameWithheld)},
        errors=errors,
        summary=summary,
        message=message,
        csrf_token=desk.csrf_token,
        idempotency_key=key,
        field_id=field_id,
    )


def _may_file(desk: Desk) -> None:
    if not allowed(Operation.FILE, [Role(r) for r in desk.user.roles]):
        raise ApiError(403, f"{Operation.FILE.value} needs the role {describe(Operation.FILE)}")


def _key(sent: str | None) -> str:
    return sent if sent and len(sent) <= 200 and sent.isprintable() else secrets.token_urlsafe(24)


@router.get("/file")
async def filing_form(request: Request, desk: DeskDep):
    _may_file(desk)
    return _page(request, FilingForm.blank(desk), _key(None))


@router.post("/file")
async def file_incident(
    request: Request, desk: DeskDep, session: SessionDep, client: ClientDep, settings: SettingsDep, policy: PolicyDep
):
    _may_file(desk)
    fields = await read_form(request)
    check_csrf(desk.csrf_token, fields)
    sent = dict(fields)
    # A list's "another" replaced by what was typed beside it (an agency, a language the lists do not have).
    form, key = FilingForm.read(merge_other(fields)), _key(sent.get("idempotency_key"))
    if "add" in sent or "remove" in sent:  # a row added or removed: the same form again, nothing filed
        if "add" in sent:
            form.add_row(sent["add"])
        if "remove" in sent:
            form.remove_row(sent["remove"])
        return _page(request, form, key)
    form.drop_blank_rows()
    try:
        body = yes_no(nest(form.fields(), policy.zone, lists=LISTS))
        # "Someone was injured" asks who: the desk's own rule (people_rows.injured_unnamed), with the API's.
        unnamed = injured_unnamed(form.flags.get("injuries", False), form.people)
        try:
            filing = parse(FilingRequest, body)
        except ApiError as refused:
            details = in_place(refused.details)
            named = {item["field"] for item in details}
            late = [p for p in clock_problems_in(FilingRequest, body, datetime.now(UTC)) if p["field"] not in named]
            raise ApiError(422, refused.message, details + late + unnamed) from None
        if unnamed:
            raise ApiError(422, "; ".join(f"{p['field']}: {p['message']}" for p in unnamed), unnamed)
        # A district not the officer's own: the form again, the reason beside the district (403, recorded).
        await refuse_other_district(request, desk.user, filing.district, policy)
        incident, _ = await file_case(filing, desk.user, session, client, settings, policy, key)
    except ApiError as refused:
        if refused.status not in (403, 409, 422):
            raise
        message = None
        if isinstance(refused.details, dict) and refused.details.get("field") == "Idempotency-Key":
            message = (
                "this form was already sent, with other values, and filed as a case: "
                "to file another incident, open a new form (File an incident)"
            )
        elif not refused.details:
            message = refused.message
        return _page(request, form, key, refused.status, None if message else refused.details, message)
    return RedirectResponse(f"{PREFIX}/cases/{incident.id}?done=file", status_code=303)
