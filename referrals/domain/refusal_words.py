"""A refusal in the words a detective reads: the field by the label the desk's form gives it and, in a repeated
group, by its row counted from 1 ("Person 2, statement 1: taken at is required"); what would be accepted, in the
words the form offers ("must be one of: Identified, Refused, Not present"); never a field path or an enum value.

Pure: the API adds these words to each refusal's details (`text`, beside `field`, `message` and `code`), and the
desk shows them beside the field and in the form's error summary."""

import re
from enum import StrEnum
from typing import Any

from referrals.domain import enums
from referrals.domain.corrections import DETAIL_LABELS
from referrals.domain.words import label, phrase

# Each field by the label the desk's forms give it (templates/web/file.html, case_steps.html, case.html's evidence
# form), keyed by its name; `CONTEXT` overrides it inside a group or a list ("authority.finding").
LABELS = {
    # Filing (referrals/web/routes/filing.py): the incident's details as corrections word them too
    **DETAIL_LABELS,
    "district": "District",
    "officers": "Officers on scene",
    "recordings": "Body-worn camera recordings",
    "federal_personnel": "Federal personnel on scene",
    "people": "People involved",
    "star": "Star number",
    "camera_id": "Camera ID",
    "officer_star": "Star of the officer wearing it",
    "started_at": "Started at",
    "ended_at": "Ended at",
    "flag_reasons": "Flag reasons",
    "agency": "Agency",
    "name": "Name",
    "badge": "Badge",
    "description": "Description",
    # Steps (templates/web/case_steps.html)
    "holds": "Recordings to hold",
    "hold_reference": "Hold reference",
    "retained_until": "Retained until",
    "outcome": "Outcome",
    "title": "Title",
    "verification": "Verification",
    "notes": "Notes",
    "allegations": "Allegations",
    "statute": "Statute",
    "person": "Person",
    "facts": "Facts",
    "decision": "Decision",
    "rationale": "Rationale",
    "return_tasks": "Tasks to reopen",
    "subjects": "Subjects",
    "subject": "Subject",
    "acts": "Acts attributed to them",
    "charges": "Charges",
    "elements": "Elements",
    "authority": "Prong 1: authorised by federal law",
    "operation": "Federal operation",
    "legal_basis": "Claimed legal basis",
    "basis_detail": "Warrant or statute cited",
    "target": "Target of the operation",
    "within_authority": "Was the act within that authority?",
    "necessary_and_proper": "Prong 2: necessary and proper",
    "conduct": "What was done",
    "alternatives": "Alternatives",
    "objective_reasonableness": "Objective reasonableness",
    "subjective_belief": "Subjective belief",
    "finding": "Immunity finding for this subject",
    "disputed_facts": "Disputed facts",
    "disposition": "Disposition",
    "held": "If held",
    "awaiting": "What is awaited",
    "review_by": "Review again by",
    "federal_evidence": "Federally held evidence",
    "records": "Records",
    "kind": "Kind",
    "relevance": "Why it is relevant",
    "request_id": "Request",
    "received_on": "Received on",
    "ground": "Ground stated for refusing",
    "note": "Note",
    "decided_at": "Decided at",
    "court_case_number": "Court case number",
    "statutes": "Charges filed",
    "arraignment_date": "Arraignment date",
    "reason": "Reason",
    "grand_jury_date": "Grand jury date",
    "requested": "What the prosecutor asks",
    "filed_on": "Filed on",
    "district_court": "Federal district court",
    "federal_case_number": "Federal case number",
    "result": "Result",
    "decided_on": "Decided on",
    "prosecutor_case_number": "Prosecutor's case number",
    "received_by": "Received by",
    "received_at": "Received at",
    "part": "Part in the incident",
    "name_withheld": "Without a name, because",
    "language": "Preferred language",
    "interpreter": "An interpreter was used",
    "contact": "Contact details",
    "phone": "Phone",
    "email": "E-mail",
    "address": "Postal address",
    "hospital": "Taken to hospital",
    "ems_treated": "Treated by EMS",
    "treatment_refused": "Refused treatment",
    "statements": "Statements",
    "text": "What they said",
    "taken_by": "Taken by",
    "taken_at": "When it was taken",
    "place": "Where",
    "corrections": "Corrections",
    "field": "Field filed wrong",
    "value": "Correct value",
    # Evidence (templates/web/case.html)
    "source": "Source",
    "collected_by": "Collected by",
    "collected_at": "Collected at",
    "collected_where": "Where it was collected",
    "person_id": "Person it concerns",
    "touhy_request_id": "Produced in answer to a Touhy request",
    "held_elsewhere": "Held in another system",
    "system": "System",
    "reference": "Reference there",
    "file": "File",
    "exhibits": "Exhibits",
    "evidence": "Exhibit",
    "at": "Moment",
}
# (parent, name): the label inside a group or a list's row.
CONTEXT = {
    ("authority", "finding"): "Prong 1 finding",
    ("necessary_and_proper", "finding"): "Prong 2 finding",
    ("injuries", "description"): "Injuries",
    ("statements", "camera_id"): "Recorded on",
    ("statements", "interpreter"): "Interpreter",
    ("charges", "statute"): "Charge",
    ("records", "kind"): "Record",
    ("records", "description"): "What",
    ("corrections", "reason"): "Why",
    ("held", "awaiting"): "If held: what is awaited",
    ("held", "review_by"): "If held: review again by",
    ("held_elsewhere", "system"): "System",
}
# A field as one step's form labels it, where it differs from LABELS (templates/web/case_steps.html).
STEPS = {
    "supervisor_identification": {"name": "Supervisor's name", "camera_id": "Camera that recorded it"},
    "violation_report": {"narrative": "Violation narrative"},
    "file_supplement": {"narrative": "Supplementary narrative"},
    "held_subject_review": {"subject": "Held subject"},
    "touhy_response": {"outcome": "Answer"},
    "charging_decision": {"reason": "Reason (declined)"},
    "removal_notice": {"subject": "Defendant who removed"},
}
# A list's row by its one: "Statement 2".
ROWS = {
    "people": "Person",
    "statements": "Statement",
    "officers": "Officer",
    "recordings": "Recording",
    "federal_personnel": "Federal person",
    "holds": "Recording hold",
    "allegations": "Allegation",
    "subjects": "Subject",
    "charges": "Charge",
    "elements": "Element",
    "federal_evidence": "Federally held evidence",
    "records": "Record",
    "corrections": "Correction",
    "flag_reasons": "Flag reason",
    "statutes": "Charge",
    "exhibits": "Exhibit",
    "return_tasks": "Task",
}

_PART = re.compile(r"([A-Za-z_][A-Za-z0-9_-]*)|\[([^\]]{1,40})\]|\.")
# Words that begin what is said of a field: "Court case number is required", not "Court case number: is required".
_VERBS = {
    "is",
    "are",
    "must",
    "may",
    "needs",
    "need",
    "has",
    "have",
    "cannot",
    "can",
    "should",
    "was",
    "were",
    "comes",
    "names",
    "would",
    "does",
    "appears",
    "applies",
}
_ENUM_VALUES = {
    member.value
    for kind in vars(enums).values()
    if isinstance(kind, type) and issubclass(kind, StrEnum) and kind is not StrEnum
    for member in kind
}
_QUOTED = re.compile(r"'([a-z][a-z0-9_]*)'")
# A field named alone inside a message ('before started_at'); one quoted or in a path is left to the others.
_BARE = re.compile(r"(?<![\w.\[/'])[a-z]+(?:_[a-z]+)+(?![\w\]/'])")
# A field path inside a message: `people[0].statements[1].taken_at`, `subjects[0]`, `authority.finding`.
_PATH = re.compile(r"\b[a-z_][a-z0-9_]*(?:\[\d{1,4}\])+(?:\.[a-z_][a-z0-9_]*(?:\[\d{1,4}\])*)*\b(?::)?")


_LEADING_PATH = re.compile(r"^([a-z_][a-z0-9_]*(?:\[\d{1,4}\]|\.[a-z_][a-z0-9_]*)*):\s+")


def parts(path: str) -> list[str | int]:
    """'people[1].statements[0].taken_at' -> ['people', 1, 'statements', 0, 'taken_at']; a key in brackets that is
    not a number (people[P1]) stays a string."""
    out: list[str | int] = []
    for match in _PART.finditer(path):
        if match.group(1):
            out.append(match.group(1))
        elif match.group(2) is not None:
            key = match.group(2)
            out.append(int(key) if key.isdigit() else f"[{key}]")
    return out


def field_label(name: str, parent: str | None = None) -> str:
    """A field's label on the desk's form; one not in the table by its name in words ('grand_jury_date' ->
    'Grand jury date')."""
    if parent is not None and (parent, name) in CONTEXT:
        return CONTEXT[(parent, name)]
    return LABELS.get(name) or label(name)


def _lower(text: str) -> str:
    """Its first letter small, unless the word is an abbreviation (EMS, ICAD) or a name of its own."""
    if len(text) > 1 and (text[1].isupper() or text[1].isdigit()):
        return text
    return text[:1].lower() + text[1:]


def place(path: str, step: str | None = None) -> tuple[str, str]:
    """(the rows, the field) a path names, in words: 'people[1].statements[0].taken_at' ->
    ('Person 2, statement 1', 'When it was taken'); 'court_case_number' -> ('', 'Court case number');
    'subjects[0]' -> ('Subject 1', ''). `step`: the step whose form shows it ('outcome' is 'Answer' in the Touhy
    response's form)."""
    rows, field = _place(path)
    if step in STEPS and path in STEPS[step]:
        field = STEPS[step][path]
    return rows, field


def _place(path: str) -> tuple[str, str]:
    rows: list[str] = []
    field = ""
    parent: str | None = None
    items = parts(path)
    for i, part in enumerate(items):
        following = items[i + 1] if i + 1 < len(items) else None
        if isinstance(part, str) and part.startswith("["):  # people[P1]: a key, not a row number
            rows.append(f"{ROWS.get(parent or '', label(parent or ''))} {part[1:-1]}")
            field = ""
        elif isinstance(part, int):
            rows.append(f"{ROWS.get(parent or '', label(parent or ''))} {part + 1}")
            field = ""
        elif isinstance(following, int) or (isinstance(following, str) and following.startswith("[")):
            parent = part  # a list: its row follows
        elif following is not None and part in CONTEXT_GROUPS:
            parent = part  # a group: authority.finding
        else:
            field = field_label(part, parent)
            parent = part
    if rows:
        rows = [rows[0]] + [_lower(r) for r in rows[1:]]
    return ", ".join(rows), field


# Groups whose fields are labelled in context (authority.finding: 'Prong 1 finding').
CONTEXT_GROUPS = {parent for parent, _ in CONTEXT} | {"contact", "held_elsewhere", "injuries", "held"}


def where(path: str) -> str:
    """The path in words, as a heading: 'Person 2, statement 1: taken at'; 'Court case number'."""
    rows, field = place(path)
    if rows and field:
        return f"{rows}: {_lower(field)}"
    return rows or field or "The form"


def say(path: str, predicate: str) -> str:
    """What is said of the field, named first: 'Court case number is required when …', 'Statement 1: taken at
    must be a date and time', 'Subject 1: the disposition …'."""
    predicate = predicate.strip()
    if (named_inside := _LEADING_PATH.match(predicate)) is not None:  # 'people[0].name: …' names its own field
        path, predicate = named_inside.group(1), predicate[named_inside.end() :]
    predicate = plain(predicate)
    rows, field = place(path) if path and path != "body" else ("", "")
    first = predicate.split(" ", 1)[0].lower()
    verb = first in _VERBS
    if rows and field:
        return f"{rows}: {_lower(field)} {predicate}" if verb else f"{rows}, {_lower(field)}: {predicate}"
    named = rows or field
    if not named:
        return predicate[:1].upper() + predicate[1:]
    return f"{named} {predicate}" if verb and field else f"{named}: {predicate}"


def plain(message: str) -> str:
    """A domain message with no enum value and no field path left: "is required when the decision is 'charged'"
    -> 'is required when the decision is charged'; 'subjects[0].finding: …' -> 'Subject 1: immunity finding …: …'."""

    def quoted(match: re.Match[str]) -> str:
        value = match.group(1)
        return phrase(value) if value in _ENUM_VALUES else match.group(0)

    def path(match: re.Match[str]) -> str:
        found = match.group(0)
        colon = found.endswith(":")
        text = where(found.rstrip(":"))
        return f"{text}:" if colon else _lower(text)

    def bare(match: re.Match[str]) -> str:  # a field or a value named alone: 'before started_at', 'legal_review'
        name = match.group(0)
        if name in LABELS:
            return _lower(LABELS[name])
        return phrase(name) if name in _ENUM_VALUES else name

    return _BARE.sub(bare, _PATH.sub(path, _QUOTED.sub(quoted, message)))


def _accepted(expected: str) -> str:
    """pydantic's "'identified', 'refused' or 'not_present'" -> 'Identified, Refused, Not present'."""
    values = re.findall(r"'([^']*)'", expected)
    return ", ".join(label(v) for v in values) if values else expected


def _count(n: Any, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


# What pydantic's error types that need no detail say, in words.
SAID = {
    "missing": "is required",
    "datetime_parsing": "must be a date and time",
    "datetime_from_date_parsing": "must be a date and time",
    "datetime_type": "must be a date and time",
    "datetime_object_invalid": "must be a date and time",
    "timezone_aware": "must be a date and time with its time zone",
    "date_parsing": "must be a date",
    "date_from_datetime_parsing": "must be a date",
    "date_from_datetime_inexact": "must be a date",
    "date_type": "must be a date",
    "time_delta_parsing": "must be a length of time",
    "time_delta_type": "must be a length of time",
    "bool_parsing": "must be yes or no",
    "bool_type": "must be yes or no",
    "int_parsing": "must be a whole number",
    "int_type": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_parsing": "must be a number",
    "float_type": "must be a number",
    "decimal_parsing": "must be a number",
    "decimal_type": "must be a number",
    "string_pattern_mismatch": "is not in a form this field takes",
    "string_type": "must be text",
    "string_unicode": "must be text",
    "extra_forbidden": "is not a field of this form",
    "uuid_parsing": "is not a valid reference",
    "uuid_type": "is not a valid reference",
    "url_parsing": "must be a web address",
    "url_type": "must be a web address",
    "url_scheme": "must be a web address",
    "list_type": "must be a list",
    "tuple_type": "must be a list",
    "set_type": "must be a list",
    "dict_type": "must be a group of fields",
    "model_type": "must be a group of fields",
    "model_attributes_type": "must be a group of fields",
    "json_invalid": "is not valid JSON",
}


def predicate(kind: str, ctx: dict[str, Any] | None, message: str) -> str:
    """What pydantic's error type says, in words."""
    ctx = ctx or {}
    if kind in SAID:
        return SAID[kind]
    if kind in ("enum", "literal_error"):
        return f"must be one of: {_accepted(str(ctx.get('expected', '')))}"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        words = {
            "greater_than": "more than",
            "greater_than_equal": "at least",
            "less_than": "less than",
            "less_than_equal": "at most",
        }
        bound = next(iter(ctx.values()), "")
        return f"must be {words[kind]} {bound}"
    if kind == "string_too_short":
        least = ctx.get("min_length", 1)
        return "must not be blank" if least == 1 else f"must be at least {_count(least, 'character', 'characters')}"
    if kind == "string_too_long":
        return f"must be at most {_count(ctx.get('max_length'), 'character', 'characters')}"
    if kind == "too_short":
        least = ctx.get("min_length", 1)
        return "needs at least one" if least == 1 else f"needs at least {least}"
    if kind == "too_long":
        return f"may have at most {ctx.get('max_length')}"
    if kind in ("value_error", "assertion_error"):
        return message.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    return _lower(message) if message else "is not accepted"


def pydantic_text(path: str, kind: str, ctx: dict[str, Any] | None, message: str) -> str:
    """One pydantic error in words: ('recordings[0].ended_at', 'datetime_parsing', …) ->
    'Recording 1: ended at must be a date and time'."""
    return say(path, predicate(kind, ctx, message))


def text_of(field: str | None, message: str) -> str:
    """A domain refusal (a Rejection, a validator's, the clock's or the policy's) in words."""
    return say(field or "", message)


def _heads(path: str, step: str | None) -> list[str]:
    """How `say` may begin a refusal of this path, in its order of preference."""
    rows, field = place(path, step)
    field_small = _lower(field)
    return [f"{rows}: {field_small} ", f"{rows}, {field_small}: ", f"{field} ", f"{field}: ", f"{rows}: "]


def moved(text: str, old: str, new: str, step: str | None = None) -> str:
    """The words of a refusal whose field was renamed (a form's row numbered as the form shows it), or said in the
    words of the step's own form (`step`)."""
    for before, after in zip(_heads(old, None), _heads(new, step)):
        if before.strip(": ,") and text.startswith(before):
            return after + text[len(before) :]
    return text
