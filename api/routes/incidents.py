"""Filing, listing and reading incidents, and their audit trail."""

import hashlib
import json
import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response
from temporalio.client import WithStartWorkflowOperation
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDConflictPolicy

from api.deps import (
    ClientDep, CurrentUser, PolicyDep, SessionDep, SettingsDep, VisibleIncident, actor_of, log_case, permits, visibility,
)
from api.errors import ApiError, documented, refuse_clock_problems
from api.views import CaseOut, CasePage, EventList, case_out, case_summary, event_out
from domain import search_attributes as sa
from domain.case import IncidentInput, workflow_id_for
from domain.enums import Stage, Task
from domain.messages import District, IncidentFiling, Key
from domain.permissions import Operation
from store import cases
from store.audit import verify_chain
from workflows.incident import IncidentWorkflow
from workflows.status import summary

router = APIRouter(prefix="/incidents", tags=["incidents"], responses=documented(401, 422, 429, 503))
# Idempotency keys map to case ids in a namespace of their own, per filing user.
IDEMPOTENCY_NAMESPACE = uuid.UUID("6f1c3a52-8d0e-4f4e-9a57-2b8f4f0c1d11")


def _request_hash(filing: IncidentFiling) -> str:
    return hashlib.sha256(json.dumps(filing.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()


REPLAYED = {200: {"model": CaseOut, "description": "the case an earlier filing with this Idempotency-Key made"}}


@router.post("", status_code=201, response_model=CaseOut, dependencies=[permits(Operation.FILE)],
             responses={**REPLAYED, **documented(403, 409, 413)})
async def file_incident(
    filing: IncidentFiling, user: CurrentUser, session: SessionDep, client: ClientDep, settings: SettingsDep,
    policy: PolicyDep, request: Request, response: Response,
    idempotency_key: Annotated[str | None, Header(min_length=1, max_length=200)] = None,
):
    refuse_clock_problems(filing)
    request_hash = _request_hash(filing)
    if idempotency_key:
        case_id = str(uuid.uuid5(IDEMPOTENCY_NAMESPACE, f"{user.id}:{idempotency_key}"))
        existing = await cases.get_incident(session, case_id)
        if existing is not None:
            log_case(request, existing.id, existing.case_number, existing.workflow_id)
            _require_same_request(existing, request_hash)
            response.status_code = 200
            response.headers["Location"] = f"/incidents/{case_id}"
            return case_out(existing, settings)
    else:
        case_id = str(uuid.uuid4())
    case_number = await cases.next_case_number(session, policy.case_prefix, datetime.now(UTC).year)
    await session.commit()
    inp = IncidentInput(case_id=case_id, case_number=case_number, filed_by=actor_of(user), filing=filing,
                        policy=policy, request_hash=request_hash)
    workflow_id = workflow_id_for(case_id)
    log_case(request, case_id, case_number, workflow_id)
    # Start and wait for the filing to be stored in one call; a concurrent retry with the same
    # Idempotency-Key joins the running workflow instead of starting a second one.
    await client.execute_update_with_start_workflow(
        IncidentWorkflow.filing_recorded,
        start_workflow_operation=WithStartWorkflowOperation(
            IncidentWorkflow.run, inp, id=workflow_id, task_queue=settings.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            static_summary=summary(case_number, filing.district),
            search_attributes=TypedSearchAttributes([
                SearchAttributePair(sa.CASE_NUMBER, case_number),
                SearchAttributePair(sa.CASE_STAGE, Stage.INVESTIGATION.value),
                SearchAttributePair(sa.DISTRICT, filing.district),
            ]),
        ),
    )
    incident = await cases.get_incident(session, case_id)
    _require_same_request(incident, request_hash)  # a concurrent filing with the same key won
    response.headers["Location"] = f"/incidents/{case_id}"
    return case_out(incident, settings)


def _require_same_request(incident, request_hash: str) -> None:
    if incident.request_hash != request_hash:
        raise ApiError(409, "this Idempotency-Key was already used for a different filing",
                       {"field": "Idempotency-Key"})


@router.get("", response_model=CasePage)
async def list_incidents(
    user: CurrentUser, session: SessionDep, settings: SettingsDep,
    stage: Stage | None = None, task: Task | None = None,
    district: District | None = None,
    overdue: bool = False,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Key | None = None,
):
    try:
        after = cases.decode_cursor(cursor) if cursor else None
    except ValueError:
        raise ApiError(422, "cursor: not a cursor this API returned", [{"field": "cursor", "message": "invalid"}]) from None
    rows = await cases.list_incidents(
        session, visible_to=visibility(user), stage=stage, task=task, district=district,
        overdue_at=datetime.now(UTC) if overdue else None, limit=limit + 1, cursor=after,
    )
    page = rows[:limit]
    next_cursor = cases.encode_cursor(page[-1]) if len(rows) > limit else None
    return CasePage(items=[case_summary(r, settings) for r in page], next_cursor=next_cursor)


@router.get("/{case_id}", response_model=CaseOut, responses=documented(404))
async def get_incident(incident: VisibleIncident, settings: SettingsDep):
    return case_out(incident, settings)


@router.get("/{case_id}/events", response_model=EventList, responses=documented(404))
async def list_events(incident: VisibleIncident, session: SessionDep):
    rows = await cases.list_events(session, incident.id)
    return EventList(case_id=incident.id, chain_valid=verify_chain(incident.id, rows) is None,
                     items=[event_out(r) for r in rows])
