"""The human steps of the lifecycle: each one a workflow update, refused by its validator."""

from typing import Annotated

from fastapi import APIRouter, Header

from referrals.api.actions import STEP, STEPS, StepKind, take_step
from referrals.api.deps import ClientDep, CurrentUser, SessionDep, SettingsDep, VisibleIncident, permits
from referrals.api.errors import ApiError, documented
from referrals.api.views import CaseOut, case_out
from referrals.domain.case import CaseState
from referrals.domain.messages import Key, TouhyAnswer, TouhyResponse
from referrals.domain.permissions import Operation

router = APIRouter(
    prefix="/incidents/{case_id}",
    tags=["lifecycle steps"],
    responses=documented(401, 403, 404, 409, 413, 422, 429, 503),
)


def _step_route(kind: StepKind) -> None:
    async def run_step(
        body: kind.body,
        incident: VisibleIncident,
        user: CurrentUser,
        client: ClientDep,  # type: ignore[name-defined]
        session: SessionDep,
        settings: SettingsDep,
        idempotency_key: Annotated[str | None, Header(min_length=1, max_length=200)] = None,
    ) -> CaseOut:
        stored = await take_step(kind, body, incident, user, client, session, settings, idempotency_key)
        return case_out(stored, settings, user)

    router.add_api_route(
        kind.path,
        run_step,
        methods=["POST"],
        response_model=CaseOut,
        summary=kind.summary,
        name=kind.operation.value,
        dependencies=[permits(kind.operation)],
    )


for _kind in STEPS:
    if _kind.routed:
        _step_route(_kind)


TOUHY = STEP[Operation.TOUHY_RESPONSE]


@router.post(
    TOUHY.path,
    response_model=CaseOut,
    summary=TOUHY.summary,
    name=TOUHY.operation.value,
    dependencies=[permits(TOUHY.operation)],
)
async def touhy_response(
    request_id: Key,
    body: TouhyAnswer,
    incident: VisibleIncident,
    user: CurrentUser,
    client: ClientDep,
    session: SessionDep,
    settings: SettingsDep,
    idempotency_key: Annotated[str | None, Header(min_length=1, max_length=200)] = None,
) -> CaseOut:
    if CaseState.model_validate(incident.state).touhy_request(request_id) is None:
        raise ApiError(404, f"no Touhy request {request_id} in this case")
    answer = TouhyResponse(request_id=request_id, **body.model_dump())
    stored = await take_step(TOUHY, answer, incident, user, client, session, settings, idempotency_key)
    return case_out(stored, settings, user)
