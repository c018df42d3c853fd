"""One case at the desk: everything about it on one page, and the forms of the steps the reader may take now.

Visibility, permissions, validation and the step itself are the API's own (referrals/api/deps.py, referrals/api/actions.py):
a step sent from here is the same workflow update as one sent to POST /incidents/{id}/<step>."""

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from referrals.api import trail
from referrals.api.actions import take_step
from referrals.api.deps import ClientDep, SessionDep, SettingsDep, visible_incident
from referrals.api.errors import ApiError
from referrals.api.routes.documents import pdf_out
from referrals.api.views import person_out
from referrals.documents import exhibits
from referrals.documents.pdf import PDF
from referrals.documents.text import Clock
from referrals.domain import corrections, steps
from referrals.domain.case import CaseState, RecordingState, TaskState, purge_status
from referrals.domain.content_types import DOCX
from referrals.domain.enums import (
    INVESTIGATION_TASKS,
    ApprovalDecision,
    ChargingKind,
    EvidenceKind,
    EvidenceSource,
    FederalRecord,
    LegalBasis,
    NameWithheld,
    PersonPart,
    ProngFinding,
    ProsecutionOutcome,
    RemovalResult,
    ReviewDecision,
    Role,
    SubjectDisposition,
    SupervisorOutcome,
    Task,
    TouhyOutcome,
    Verification,
)
from referrals.domain.messages import Key
from referrals.domain.permissions import Operation, allowed, describe
from referrals.domain.refusal_words import moved, text_of
from referrals.domain.steps import StepSpec
from referrals.domain.steps.confirming import consequence
from referrals.sealing import Sealer
from referrals.store import cases, documents
from referrals.store.audit import verify_chain
from referrals.store.tables import AppUser, Incident
from referrals.web import prefill, review_form
from referrals.web.auth import Desk, DeskDep, check_csrf, read_form
from referrals.web.choices import merge_other
from referrals.web.forms import nest, parse, yes_no
from referrals.web.pages import options, render
from referrals.web.step_forms import (
    DEFAULT_ROWS,
    LISTS,
    MOST_ROWS,
    compact_rows,
    drop_blank_groups,
    edit_rows,
    field_errors,
    form_values,
    in_form,
)

router = APIRouter(prefix="/desk/cases", include_in_schema=False)

# Fields a person cannot type, added to what a form sent (referrals/web/review_form.py).
PREPARE: dict[str, Callable[[list[tuple[str, str]], CaseState], list[tuple[str, str]]]] = {
    # (an element's exhibits ticked by key: referrals/web/prefill.py)
    steps.LEGAL_REVIEW.name: lambda sent, state: review_form.legal_review(
        prefill.cite_exhibits(sent, exhibits.citable(state))
    ),
    steps.CHARGING_DECISION.name: lambda sent, state: review_form.charging_decision(sent),
    # (the supervisor chosen from the federal personnel fills what was left blank)
    steps.SUPERVISOR_IDENTIFICATION.name: lambda sent, state: prefill.supervisor(sent, state.details.federal_personnel),
}
ALLEGATION_ROWS = 3
REFUSALS = (403, 409, 422)


@dataclass
class Refused:
    """A step the workflow or the model refused: shown again with what was sent and why."""

    operation: str
    message: str
    errors: dict[str, str] = field(default_factory=dict)
    values: dict[str, str | list[str]] = field(default_factory=dict)
    problem: bool = True  # False: a message that refuses nothing ("nothing was sent"), shown without a summary


@dataclass
class RecordingView:
    recording: RecordingState
    days_left: int
    status: str  # "purged" | "inside_margin" (of the hold safety margin) | "ok"; held or not, see recording


def _roles(user: AppUser) -> list[Role]:
    return [Role(r) for r in user.roles]


def actions(state: CaseState, roles: list[Role]) -> list[StepSpec]:
    """The steps with a form this reader may take on the case now: those of its open tasks, in the lifecycle's
    order, then the others the case offers now, as declared (referrals/domain/steps)."""
    found = [s for s in steps.STEPS if s.form and s.offered_now(state) and allowed(s.name, roles)]
    order = list(Task)
    return sorted(found, key=lambda s: order.index(s.task) if s.task is not None else len(order))


def _correctable(state: CaseState, terms: dict[str, str]) -> list[tuple[str, str]]:
    """The filed facts of this case a correction may name, as (path, words): 'Officer 1: star (P.O. Ana Ruiz)'."""
    paths = [(key, corrections.words(key, terms)) for key in corrections.DETAILS]
    for name, (_, keys) in corrections.LISTS.items():
        for i, item in enumerate(getattr(state.details, name)):
            shown = getattr(item, "name", None) or getattr(item, "agency", "")
            paths += [
                (path, f"{corrections.words(path, terms)} ({shown})") for path in (f"{name}[{i}].{key}" for key in keys)
            ]
    for person in state.people:
        if person.name:
            shown = person.name
        else:
            assert person.name_withheld is not None  # a person without a name has why (the model's validator)
            shown = f"name {person.name_withheld.value}"
        paths += [
            (path, f"{corrections.words(path, terms)} ({shown})")
            for path in (f"people[{person.id}].{key}" for key in ("part", "name", "language"))
        ]
    return paths


def _opening_rows(state: CaseState, refused: Refused | None) -> dict[str, int]:
    """The rows a form opens with: after a refusal, those sent; the review, one subject per federal person."""
    rows = {"subjects": min(max(len(state.details.federal_personnel), 1), MOST_ROWS["subjects"])}
    if refused is not None and (spec := steps.step(refused.operation)) is not None and spec.rows:
        rows |= edit_rows(refused.values, spec.rows, "", "")[1]
    return rows


def _recordings(state: CaseState, policy, now: datetime) -> list[RecordingView]:
    views = []
    for r in state.recordings:
        views.append(RecordingView(r, (r.purge_at - now).days, purge_status(r, now, policy) or "ok"))
    return views


def _next_due(state: CaseState) -> tuple[Task, TaskState] | None:
    """The open task due first, for the page's summary: its deadline and the role it waits on."""
    due = [(task, state.tasks[task]) for task in state.open_tasks() if state.tasks[task].due_at is not None]
    return min(due, key=lambda pair: pair[1].due_at or datetime.max.replace(tzinfo=UTC), default=None)


def _unheld(state: CaseState) -> list[RecordingState]:
    """The recordings still to hold in this investigation round: one row each in the hold form."""
    return [r for r in state.recordings if r.hold_round != state.investigation_round]


async def case_page(
    request: Request,
    desk: Desk,
    session,
    settings,
    incident: Incident,
    status: int = 200,
    done: str | None = None,
    refused: Refused | None = None,
    rows: dict[str, int] | None = None,
) -> Response:
    policy = request.app.state.policy
    now = datetime.now(UTC)
    state = CaseState.model_validate(incident.state)
    events = await cases.list_events(session, incident.id)
    can = actions(state, _roles(desk.user))
    alleged = state.alleged_statutes()
    correctable, correction_controls = prefill.correctable(
        _correctable(state, policy.words.terms()), policy.zone, policy.words.terms()
    )
    reads_contact = allowed(Operation.READ_CONTACT, _roles(desk.user))
    sealer = Sealer.of(settings.effective_encryption_keys) if reads_contact else None
    # Every answer that shows the case is a read of it: the page itself, and the page again after a step's refusal
    # or a row added to a form.
    await trail.record(
        request,
        "read_case",
        trail.ALLOWED,
        user=desk.user,
        case_id=incident.id,
        details={} if request.method == "GET" else {"after": request.url.path.rsplit("/", 1)[-1]},
    )
    return render(
        request,
        "case.html",
        status,
        active=None,
        incident=incident,
        state=state,
        tasks=[(task, state.tasks[task]) for task in Task if task in state.tasks],  # in lifecycle order
        next_due=_next_due(state),
        recordings=_recordings(state, policy, now),
        people=[person_out(person.model_dump(), sealer) for person in state.people],
        unheld=_unheld(state),
        events=events,
        chain_break=verify_chain(incident.id, events),
        documents=await documents.list_for_case(session, incident.id),
        pdfs={
            document_id: pdf_out(row, row.filename, "")
            for document_id, row in (await documents.pdfs_for_case(session, incident.id)).items()
        },
        temporal_url=settings.workflow_url(incident.workflow_id),
        actions=can,
        # A double submit is one workflow update (one evidence item, for the upload form).
        keys={name: secrets.token_urlsafe(18) for name in [*(s.name for s in can), steps.ADD_EVIDENCE.name]},
        # (an evidence item added says so beside the evidence list: case.html)
        notice=spec.done if done is not None and (spec := steps.step(done)) is not None and spec.form else None,
        refused=refused,
        allegation_rows=ALLEGATION_ROWS,
        # An element's exhibits by their keys, as the memo and the packet print them: "A1 at 13:09:40; C2".
        cite=lambda cited: exhibits.cited(state, cited, lambda at, fmt: at.astimezone(policy.zone).strftime(fmt)),
        rows={**DEFAULT_ROWS, **_opening_rows(state, refused), **(rows or {})},
        # What a form opens with when nothing was sent: the review's subjects from the federal personnel.
        initial={steps.LEGAL_REVIEW.name: prefill.review_subjects(state.details.federal_personnel)},
        findings=prefill.findings(),
        finding_words=prefill.finding_words,
        # A correctable field's label, control and a value in words (referrals/domain/corrections.py).
        correction=lambda path, value=None: corrections.describe(path, value, policy.zone, policy.words.terms()),
        most_rows=MOST_ROWS,
        choices={
            "outcome": options(SupervisorOutcome),
            "verification": options(Verification),
            "camera_id": [
                (r.camera_id, f"{r.camera_id} ({policy.words.badge} {r.officer_star})") for r in state.recordings
            ],
            "statute": [(s.citation, f"{s.citation}: {s.title}") for s in policy.statutes],
            "review_decision": options(ReviewDecision),
            "charges": [(s.citation, f"{s.citation}: {s.title}") for s in policy.statutes],
            "return_tasks": options(INVESTIGATION_TASKS),
            "prong": options(ProngFinding),
            "legal_basis": options(LegalBasis),
            # Each alleged statute with its elements, for a charge's rows in each subject's section.
            "charge_elements": [
                (c, s.title if (s := policy.statute(c)) else "", s.elements if s else []) for c in alleged
            ],
            "charging": options(ChargingKind),
            "referred_subjects": state.referred_subjects() or ["the defendant"],
            "subject_disposition": options(SubjectDisposition),
            "held_subjects": [
                (s.subject, f"{s.subject} ({s.agency}), to review by {s.held.review_by:%d %b %Y}")
                for s in state.held_subjects()
                if s.held is not None
            ],
            "removal_result": options(RemovalResult),
            "touhy_agencies": [(a.code, f"{a.code}: {a.name}") for a in policy.touhy.agencies],
            "federal_record": options(FederalRecord),
            "touhy_unanswered": [
                (r.id, f"{r.id}: {r.agency}, due {r.due_at.astimezone(policy.zone):%d %b %Y}")
                for r in state.unanswered_touhy()
            ],
            "touhy_outcome": options(TouhyOutcome),
            "prosecution_outcome": options(ProsecutionOutcome),
            "approval": options(ApprovalDecision),
            "part": options(PersonPart),
            "name_withheld": options(NameWithheld),
            "flag_reasons": [(f.code, f.label) for f in policy.recording_flags],
            "correctable": correctable,
            "correction_controls": correction_controls,
            "federal_personnel": prefill.person_choices(state.details.federal_personnel),
            "exhibits": prefill.exhibit_choices(
                exhibits.listing(
                    state,
                    Clock.in_zone(policy.time_zone),
                    policy.words.badge,
                    {o.star: o.name for o in state.details.officers},
                ),
                exhibits.citable(state),
            ),
            "evidence_kind": options(EvidenceKind),
            "evidence_source": options(EvidenceSource),
        },
    )


@router.get("/{case_id}")
async def show_case(
    request: Request, case_id: Key, desk: DeskDep, session: SessionDep, settings: SettingsDep, done: str | None = None
):
    incident = await visible_incident(request, case_id, desk.user, session)
    return await case_page(request, desk, session, settings, incident, done=done)


@router.get("/{case_id}/documents/{document_id}")
async def download(
    request: Request,
    case_id: Key,
    document_id: Key,
    desk: DeskDep,
    session: SessionDep,
    format: Literal["docx", "pdf"] = "docx",
):
    incident = await visible_incident(request, case_id, desk.user, session)
    row = await documents.get(session, incident.id, document_id)
    pdf = await documents.pdf_of(session, document_id) if row is not None and format == "pdf" else None
    if row is None or format == "pdf" and (pdf is None or pdf.content is None):
        await trail.record(
            request, trail.action_of(request), trail.NOT_FOUND, user=desk.user, case_id=incident.id, target=document_id
        )
        raise ApiError(404, f"no document {document_id} in this case" if row is None else "this document has no PDF")
    shown = {"details": {"format": "pdf"}} if format == "pdf" else {}
    await trail.allowed(request, desk.user, case_id=incident.id, target=document_id, **shown)
    content, media_type, name, sha256 = (
        (pdf.content, PDF, pdf.filename, pdf.sha256 or "")
        if pdf is not None and pdf.content is not None
        else (row.content, DOCX, row.filename, row.sha256)
    )
    return Response(
        content,
        media_type=media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "X-Content-SHA256": sha256,
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.post("/{case_id}/steps/{operation}")
async def take(
    request: Request,
    case_id: Key,
    operation: str,
    desk: DeskDep,
    session: SessionDep,
    client: ClientDep,
    settings: SettingsDep,
):
    fields = await read_form(request)
    check_csrf(desk.csrf_token, fields)
    fields = merge_other(fields)  # a list's "another" replaced by what was typed beside it (web/choices.py)
    kind = steps.step(operation)
    if kind is None or not kind.form:
        raise ApiError(404, f"no step {operation}")
    if not allowed(kind.name, _roles(desk.user)):
        await trail.record(
            request, operation, trail.REFUSED, user=desk.user, case_id=case_id, details={"operation": operation}
        )
        raise ApiError(403, f"{kind.name} needs the role {describe(kind.name)}")
    incident = await visible_incident(request, case_id, desk.user, session)
    key = next((value.strip() for name, value in fields if name == "idempotency_key"), "")[:200] or None
    edit = next(((name, value) for name, value in fields if name in ("add", "remove", "choose")), None)
    if (
        edit is not None
    ):  # a row added or removed, a choice made: the same form again, with what was typed, nothing sent
        values, rows = edit_rows(form_values(fields), kind.rows, *edit)
        if edit == ("choose", prefill.PERSON):  # the supervisor chosen from the federal personnel: their details
            personnel = CaseState.model_validate(incident.state).details.federal_personnel
            values = prefill.supervisor_values(values, personnel)
        refused = Refused(operation, "", {}, values)
        return await case_page(request, desk, session, settings, incident, refused=refused, rows=rows)
    if any(name == "back" for name, _ in fields):  # the confirmation page's "Change what I entered": nothing sent
        values, rows = edit_rows(form_values(fields), kind.rows, "", "")
        refused = Refused(operation, "nothing was sent; what you entered is in the form below.", {}, values, False)
        return await case_page(request, desk, session, settings, incident, refused=refused, rows=rows)
    # A choice that cannot be undone is sent only once confirmed (referrals/domain/steps/confirming.py); the
    # checks above (CSRF, role, visibility) have run whatever the form says.
    confirmed = any(name == "confirmed" for name, _ in fields)
    irreversible = consequence(kind.name, form_values(fields), incident.case_number)
    sent, back = fields, {}
    for name, prefilled in kind.rows:
        sent, back[name] = compact_rows(sent, name, prefilled)
    sent = drop_blank_groups(sent, kind.groups)
    try:
        if kind.name in PREPARE:
            sent = PREPARE[kind.name](sent, CaseState.model_validate(incident.state))
        body = parse(kind.request, yes_no(nest(sent, request.app.state.policy.zone, lists=LISTS)))
        if irreversible is None or confirmed:
            await take_step(kind, body, incident, desk.user, client, session, settings, key)
    except ApiError as exc:
        if exc.status not in REFUSALS:
            raise
        details = review_form.details_in_form(exc.details, sent)
        if back and isinstance(details, list):
            for name, renumbered in back.items():
                details = in_form(details, name, renumbered)
        message = text_of(None, exc.message)  # (a refusal naming no field: a stage's, a role's)
        if isinstance(details, list) and details and all(isinstance(d, dict) and d.get("field") for d in details):
            details = [  # the words follow a field renamed to the form's row, and the form's own labels
                {**d, "text": moved(str(d.get("text", "")), was["field"], d["field"], kind.name)}
                if isinstance(was, dict)
                else d
                for d, was in zip(details, exc.details if isinstance(exc.details, list) else details)
            ]
            message = "; ".join(str(d.get("text") or d.get("message")) for d in details)
        refused = Refused(operation, message, field_errors(details), form_values(fields))
        await session.refresh(incident)
        return await case_page(request, desk, session, settings, incident, exc.status, refused=refused)
    if irreversible is not None and not confirmed:
        return await confirm_page(request, desk, incident, kind, irreversible, fields)
    return RedirectResponse(f"/desk/cases/{incident.id}?done={operation}", status_code=303)


async def confirm_page(
    request: Request, desk: Desk, incident: Incident, kind: StepSpec, irreversible: str, fields: list[tuple[str, str]]
) -> Response:
    """The step's consequence in words, what was entered carried in hidden fields (the template escapes them) with
    the same CSRF token and idempotency key, a button that sends it all again confirmed, and ways back."""
    await trail.record(
        request, "read_case", trail.ALLOWED, user=desk.user, case_id=incident.id, details={"after": kind.name}
    )
    carried = [(name, value) for name, value in fields if name not in ("confirmed", "back", "add", "remove")]
    return render(
        request,
        "confirm.html",
        active=None,
        incident=incident,
        step=kind,
        consequence=irreversible,
        carried=carried,
    )
