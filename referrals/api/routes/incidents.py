"""Filing, listing and reading incidents, and their audit trail."""

from datetime import date
from typing import Annotated, Any, cast

from fastapi import APIRouter, Header, Query, Request, Response

from referrals.api import trail
from referrals.api.actions import file_case
from referrals.api.deps import (
    ClientDep,
    CurrentUser,
    PolicyDep,
    SessionDep,
    SettingsDep,
    VisibleIncident,
    log_case,
    permits,
)
from referrals.api.errors import ApiError, documented
from referrals.api.listing import CaseQuery, Cursor, Day, find_cases
from referrals.api.views import CaseOut, CasePage, EventList, case_out, case_summary, event_out
from referrals.domain.enums import Role, Stage, Task
from referrals.domain.filing_district import district_refusal
from referrals.domain.messages import District, FilingRequest
from referrals.domain.permissions import Operation
from referrals.domain.policy import Policy
from referrals.store import cases
from referrals.store.audit import verify_chain
from referrals.store.tables import AppUser

router = APIRouter(prefix="/incidents", tags=["incidents"], responses=documented(401, 422, 429, 503))
REPLAYED: dict[int | str, dict[str, Any]] = {
    200: {"model": CaseOut, "description": "the case an earlier filing with this Idempotency-Key made"}
}


async def refuse_other_district(request: Request, user: AppUser, district: str, policy: Policy) -> None:
    """403 naming `district` when the person may not file there (referrals/domain/filing_district.py), recorded in the
    access trail as refused; the desk's form asks the same."""
    if problem := district_refusal([Role(r) for r in user.roles], user.district, district, policy):
        await trail.record(
            request,
            trail.action_of(request),
            trail.REFUSED,
            user=user,
            details={"operation": Operation.FILE.value, "district": district},
        )
        raise ApiError(403, f"district: {problem}", [{"field": "district", "message": problem}])


@router.post(
    "",
    status_code=201,
    response_model=CaseOut,
    dependencies=[permits(Operation.FILE)],
    responses={**REPLAYED, **documented(403, 409, 413)},
)
async def file_incident(
    filing: FilingRequest,
    user: CurrentUser,
    session: SessionDep,
    client: ClientDep,
    settings: SettingsDep,
    policy: PolicyDep,
    request: Request,
    response: Response,
    idempotency_key: Annotated[str | None, Header(min_length=1, max_length=200)] = None,
):
    await refuse_other_district(request, user, filing.district, policy)
    incident, created = await file_case(filing, user, session, client, settings, policy, idempotency_key)
    log_case(request, incident.id, incident.case_number, incident.workflow_id)
    response.status_code = 201 if created else 200
    response.headers["Location"] = f"/incidents/{incident.id}"
    return case_out(incident, settings, user)


@router.get("", response_model=CasePage, dependencies=[trail.SETTLED])
async def list_incidents(
    request: Request,
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    policy: PolicyDep,
    stage: Stage | None = None,
    task: Task | None = None,
    district: District | None = None,
    overdue: bool = False,
    q: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=200,
            description=(
                "words to find in the case number, OEMC event number, location, summary and narratives (best match "
                "first); the names of the people involved too, for the roles that may read their contact details"
            ),
        ),
    ] = None,
    occurred_from: Annotated[
        Day | None, Query(description="incidents on or after this day (department's time)")
    ] = None,
    occurred_to: Annotated[Day | None, Query(description="incidents on or before this day (department's time)")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[Cursor | None, Query(description="next_cursor of the page before")] = None,
):
    query = CaseQuery(
        stage=stage,
        task=task,
        district=district,
        overdue=overdue,
        q=q,
        # Day is a string to the schema; its validator makes the date.
        occurred_from=cast(date | None, occurred_from),
        occurred_to=cast(date | None, occurred_to),
        limit=limit,
        cursor=cursor,
    )
    page, next_cursor = await find_cases(session, user, policy, query)
    await trail.begin(request, user, details=trail.filters(request))  # the filters asked for, never the cases
    return CasePage(items=[case_summary(r, settings) for r in page], next_cursor=next_cursor)


@router.get("/{case_id}", response_model=CaseOut, responses=documented(404), dependencies=[trail.SETTLED])
async def get_incident(request: Request, incident: VisibleIncident, user: CurrentUser, settings: SettingsDep):
    await trail.begin(request, user, case_id=incident.id)  # the case is fetched: the answer waits for its entry
    return case_out(incident, settings, user)


@router.get("/{case_id}/events", response_model=EventList, responses=documented(404), dependencies=[trail.SETTLED])
async def list_events(request: Request, incident: VisibleIncident, user: CurrentUser, session: SessionDep):
    rows = await cases.list_events(session, incident.id)
    await trail.begin(request, user, case_id=incident.id)
    return EventList(
        case_id=incident.id, chain_valid=verify_chain(incident.id, rows) is None, items=[event_out(r) for r in rows]
    )
