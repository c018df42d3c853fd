"""The Access trail page: GET /access-log's entries for auditors at the desk, its filters as a form, its CSV to
download, and whether the chain holds over the period shown."""

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
from referrals.store import access_log
from referrals.store.tables import AccessEntryRow, Incident
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


def _query(request: Request, case: str, user: str, since: str, until: str, after: int | None) -> TrailQuery:
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
    after: Annotated[int | None, Query(ge=0)] = None,
):
    query = _query(request, case, user, since, until, after)
    form = dict(
        case=case, user=user, since=since if request.query_params else _shown(query.since, request), until=until
    )
    rows: list[AccessEntryRow]
    checked: list[access_log.Verified]
    rows, next_after, problem, chain, checked = [], None, None, None, []
    try:
        rows, next_after = await find_entries(session, query)
    except ApiError as refused:
        problem = refused.message
    else:
        # The chain over the period asked for (every entry when no start is given): `referrals access-log verify`.
        # With no start given, the last week's: the whole chain is `referrals access-log verify`'s (seconds at a
        # million entries), not a page's.
        chain = await access_log.verify(
            request.app.state.sessions, since=query.since or datetime.now(UTC) - FIRST_LOOK, checked=checked
        )
        await trail.allowed(request, desk.user, details=query.filters())
    numbers = await _case_numbers(session, {row.case_id for row in rows if row.case_id})
    asked = {name: value for name, value in form.items() if value}
    more = f"?{urlencode({**asked, 'after': next_after})}" if next_after is not None else None
    download = f"{request.url.path}.csv?{urlencode({**asked, **({'after': after} if after else {})})}"
    return render(
        request,
        "access_log.html",
        422 if problem else 200,
        active="access_log",
        rows=rows,
        form=form,
        numbers=numbers,
        problem=problem,
        chain=chain,
        checked=checked[0] if checked else None,
        since=query.since,
        more=more,
        download=download,
        continued=after is not None,
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


async def _case_numbers(session, ids: set[str]) -> dict[str, str]:
    if not ids:
        return {}
    found = await session.exec(select(Incident.id, Incident.case_number).where(col(Incident.id).in_(ids)))
    return dict(found.all())
