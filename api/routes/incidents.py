"""Filing, listing and reading incidents, and their audit trail."""

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response

from api.actions import file_case
from api.deps import (
    ClientDep, CurrentUser, PolicyDep, SessionDep, SettingsDep, VisibleIncident, log_case, permits, visibility,
)
from api.errors import ApiError, documented
from api.views import CaseOut, CasePage, EventList, case_out, case_summary, event_out
from domain.enums import Role, Stage, Task
from domain.messages import District, FilingRequest, Key
from domain.permissions import Operation, allowed
from store import cases
from store.audit import verify_chain

router = APIRouter(prefix="/incidents", tags=["incidents"], responses=documented(401, 422, 429, 503))
REPLAYED = {200: {"model": CaseOut, "description": "the case an earlier filing with this Idempotency-Key made"}}


@router.post("", status_code=201, response_model=CaseOut, dependencies=[permits(Operation.FILE)],
             responses={**REPLAYED, **documented(403, 409, 413)})
async def file_incident(
    filing: FilingRequest, user: CurrentUser, session: SessionDep, client: ClientDep, settings: SettingsDep,
    policy: PolicyDep, request: Request, response: Response,
    idempotency_key: Annotated[str | None, Header(min_length=1, max_length=200)] = None,
):
    incident, created = await file_case(filing, user, session, client, settings, policy, idempotency_key)
    log_case(request, incident.id, incident.case_number, incident.workflow_id)
    response.status_code = 201 if created else 200
    response.headers["Location"] = f"/incidents/{incident.id}"
    return case_out(incident, settings, user)


@router.get("", response_model=CasePage)
async def list_incidents(
    user: CurrentUser, session: SessionDep, settings: SettingsDep, policy: PolicyDep,
    stage: Stage | None = None, task: Task | None = None,
    district: District | None = None,
    overdue: bool = False,
    q: Annotated[str | None, Query(min_length=1, max_length=200, description=(
        "words to find in the case number, OEMC event number, location, summary and narratives (best match "
        "first); the names of the people involved too, for the roles that may read their contact details"))] = None,
    occurred_from: Annotated[date | None, Query(description="incidents on or after this day (department's time)")] = None,
    occurred_to: Annotated[date | None, Query(description="incidents on or before this day (department's time)")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Key | None = None,
):
    if q is not None and "\x00" in q:
        raise ApiError(422, "q: must not contain NUL characters", [{"field": "q", "message": "NUL character"}])
    if occurred_from and occurred_to and occurred_from > occurred_to:
        raise ApiError(422, "occurred_to: must not be before occurred_from",
                       [{"field": "occurred_to", "message": "before occurred_from"}])
    try:
        after = cases.decode_cursor(cursor) if cursor else None
        if after is not None and isinstance(after, int) != bool(q):
            raise ValueError("a cursor of another listing")
    except ValueError:
        raise ApiError(422, "cursor: not a cursor this API returned for this listing",
                       [{"field": "cursor", "message": "invalid"}]) from None
    zone = policy.zone
    rows = await cases.list_incidents(
        session, visible_to=visibility(user), stage=stage, task=task, district=district,
        overdue_at=datetime.now(UTC) if overdue else None, limit=limit + 1, cursor=after, q=q,
        names=allowed(Operation.READ_CONTACT, [Role(r) for r in user.roles]),
        occurred_from=datetime.combine(occurred_from, time(), zone) if occurred_from else None,
        occurred_before=datetime.combine(occurred_to + timedelta(days=1), time(), zone) if occurred_to else None,
    )
    page = rows[:limit]
    next_cursor = None
    if len(rows) > limit:
        next_cursor = cases.encode_offset((after or 0) + limit) if q else cases.encode_cursor(page[-1])
    return CasePage(items=[case_summary(r, settings) for r in page], next_cursor=next_cursor)


@router.get("/{case_id}", response_model=CaseOut, responses=documented(404))
async def get_incident(incident: VisibleIncident, user: CurrentUser, settings: SettingsDep):
    return case_out(incident, settings, user)


@router.get("/{case_id}/events", response_model=EventList, responses=documented(404))
async def list_events(incident: VisibleIncident, session: SessionDep):
    rows = await cases.list_events(session, incident.id)
    return EventList(case_id=incident.id, chain_valid=verify_chain(incident.id, rows) is None,
                     items=[event_out(r) for r in rows])
