"""The Access trail page: GET /access-log's entries for auditors at the desk, newest first and in words (evidence
by its exhibit number and description, a document by its kind and version, a person by name), its filters as a
form, its CSV to download (the API's, oldest first), and whether the chain holds over the period shown."""

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from sqlmodel import col, select

from referrals.api import trail
from referrals.api.deps import SessionDep
from referrals.api.errors import ApiError
from referrals.api.routes.access_log import TrailQuery, csv_response, find_entries
from referrals.domain.enums import Role
from referrals.domain.permissions import Operation, allowed, describe
from referrals.domain.words import label
from referrals.store import access_log
from referrals.store.tables import AccessEntryRow, AppUser, Incident
from referrals.web.auth import Desk, DeskDep
from referrals.web.pages import render

router = APIRouter(prefix="/desk", include_in_schema=False)
PAGE = 200
FIRST_LOOK = timedelta(days=7)  # the page opened without filters shows the last week


async def _reader(request: Request, desk: DeskDep) -> Desk:
    """The signed-in auditor; anyone else is refused (403), and the refusal is an entry too."""
    if not allowed(Operation.READ_ACCESS_LOG, [Role(r) for r in desk.user.roles]):
        await trail.record(
            request,
            trail.action_of(request),
            trail.REFUSED,
            user=desk.user,
            details={"operation": Operation.READ_ACCESS_LOG.value},
        )
        raise ApiError(403, f"{Operation.READ_ACCESS_LOG.value} needs the role {describe(Operation.READ_ACCESS_LOG)}")
    return desk


Reader = Annotated[Desk, Depends(_reader)]


def _time(name: str, value: str, zone) -> datetime | None:
    """A datetime-local field, read on the department's clock (or an ISO time with its offset)."""
    if not value.strip():
        return None
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ApiError(
            422, f"{name}: '{value}' is not a date and time", [{"field": name, "message": "not a date and time"}]
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=zone)


def _query(
    request: Request, case: str, user: str, since: str, until: str, after: int | None, newest_first: bool = False
) -> TrailQuery:
    zone = request.app.state.policy.zone
    if not request.query_params:
        since = (datetime.now(UTC) - FIRST_LOOK).astimezone(zone).strftime("%Y-%m-%dT%H:%M")
    return TrailQuery(
        case=case.strip() or None,
        user=user.strip() or None,
        since=_time("since", since, zone),
        until=_time("until", until, zone),
        after=after,
        limit=PAGE,
        newest_first=newest_first,
    )


Text = Annotated[str, Query(max_length=320)]


@router.get("/access-log")
async def access_log_page(
    request: Request,
    desk: Reader,
    session: SessionDep,
    case: Text = "",
    user: Text = "",
    since: Text = "",
    until: Text = "",
    before: Annotated[int | None, Query(ge=0)] = None,
):
    """Newest first: `before` is the last (oldest) entry of the page before, the next page's older entries."""
    query = _query(request, case, user, since, until, before, newest_first=True)
    form = dict(
        case=case, user=user, since=since if request.query_params else _shown(query.since, request), until=until
    )
    rows: list[AccessEntryRow]
    checked: list[access_log.Verified]
    rows, next_before, problem, chain, checked = [], None, None, None, []
    try:
        rows, next_before = await find_entries(session, query)
    except ApiError as refused:
        problem = refused.message
    else:
        # The chain over the period asked for (every entry when no start is given): `referrals access-log verify`.
        # With no start given, the last week's: the whole chain is `referrals access-log verify`'s (seconds at a
        # million entries), not a page's.
        chain = await access_log.verify(
            request.app.state.sessions, since=query.since or datetime.now(UTC) - FIRST_LOOK, checked=checked
        )
        asked_for = {k: v for k, v in query.filters().items() if k != "after"}
        await trail.allowed(request, desk.user, details={**asked_for, **({"before": str(before)} if before else {})})
    numbers, items = await _cases(session, {row.case_id for row in rows if row.case_id})
    items.update(await _people(session, {row.target for row in rows if row.target and row.target not in items}))
    asked = {name: value for name, value in form.items() if value}
    more = f"?{urlencode({**asked, 'before': next_before})}" if next_before is not None else None
    download = f"{request.url.path}.csv?{urlencode(asked)}"  # the API's CSV: every entry asked for, oldest first
    return render(
        request,
        "access_log.html",
        422 if problem else 200,
        active="access_log",
        rows=rows,
        form=form,
        numbers=numbers,
        items=items,
        said={row.seq: in_words(row.details) for row in rows},
        problem=problem,
        chain=chain,
        checked=checked[0] if checked else None,
        since=query.since,
        more=more,
        download=download,
        continued=before is not None,
    )


@router.get("/access-log.csv")
async def access_log_csv(
    request: Request,
    desk: Reader,
    session: SessionDep,
    case: Text = "",
    user: Text = "",
    since: Text = "",
    until: Text = "",
    after: Annotated[int | None, Query(ge=0)] = None,
):
    query = _query(request, case, user, since, until, after)
    rows, next_after = await find_entries(session, query)
    await trail.allowed(request, desk.user, details=query.filters())
    following = {**request.query_params, "after": str(next_after)} if next_after is not None else None
    return csv_response(rows, f"{request.url.path}?{urlencode(following)}" if following else None)


def _shown(when: datetime | None, request: Request) -> str:
    return when.astimezone(request.app.state.policy.zone).strftime("%Y-%m-%dT%H:%M") if when else ""


async def _cases(session, ids: set[str]) -> tuple[dict[str, str], dict[str, str]]:
    """The cases' numbers by id, and what each of their evidence items and documents is, by its id: 'C3 Photo: injury
    to the left palm' (its exhibit number, as the memo and the packet print it), 'Referral packet version 2'."""
    if not ids:
        return {}, {}
    found = await session.exec(
        select(Incident.id, Incident.case_number, Incident.state["evidence"], Incident.state["documents"]).where(
            col(Incident.id).in_(ids)
        )
    )
    numbers: dict[str, str] = {}
    items: dict[str, str] = {}
    for case_id, number, evidence, documents in found.all():
        numbers[case_id] = number
        for entry in evidence or []:
            item = entry.get("item") or {}
            described = f"{label(item.get('kind', 'evidence'))}: {item.get('description', '')}"
            items[str(item.get("id"))] = f"C{entry.get('number')} {described}" + (
                " (removed from the case)" if entry.get("removed") else ""
            )
        for document in documents or []:
            items[str(document.get("id"))] = (
                f"{label(document.get('kind', 'document'))} version {document.get('version')}"
            )
    return numbers, items


async def _people(session, ids: set[str]) -> dict[str, str]:
    """The people an administrator's entry names (a user created, a token revoked), by their user id."""
    if not ids:
        return {}
    found = await session.exec(select(AppUser.id, AppUser.name).where(col(AppUser.id).in_(ids)))
    return {user_id: name for user_id, name in found.all()}


# What a detail's key says, where its own name would not (any other key: its name in words).
KEYS = {
    "q": "words",
    "after": "after the step",
    "before": "before entry",
    "thumbnail": "thumbnail bytes",
    "payloads": "payloads",
    "via": "through",
    "csrf_token": "form token sent",
    "occurred_from": "occurred from",
    "occurred_to": "occurred to",
    "custody_event": "custody event",
}
# Values said otherwise than their code's label.
VALUES = {"oidc": "the department's sign-in (OIDC)", "token": "an access token"}
# Keys whose values are codes said in words (an operation, a reason, a role).
CODED = {"operation", "reason", "roles", "stage", "via", "format", "after"}


def in_words(details: str | dict) -> str:
    """An entry's details as a reader says them: 'words "Karlov"; stage: Under review', never its JSON."""
    given = json.loads(details) if isinstance(details, str) else details
    return "; ".join(_said(key, value) for key, value in given.items() if value not in (None, "", [], {}))


def _said(key: str, value) -> str:
    name = KEYS.get(key, key.replace("_", " "))
    if isinstance(value, dict):
        return f"{name}: " + ", ".join(_said(k, v) for k, v in value.items())
    values = value if isinstance(value, list) else [value]
    shown = [VALUES.get(str(v)) or label(v) if key in CODED else str(v) for v in values]
    if key == "q":
        return f"{name} “{shown[0]}”"
    if key == "bytes" and (sent := re.fullmatch(r"(\d+)-(\d+)/(\d+)", str(value))):
        return f"bytes {sent[1]}–{sent[2]} of {sent[3]} sent"
    if isinstance(value, bool):
        return name if value else f"not {name}"
    return f"{name}: {', '.join(shown)}"
