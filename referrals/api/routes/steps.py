"""The human steps of the lifecycle: a route per declared step (referrals/domain/steps), each a workflow update
refused by its validator."""

from typing import Annotated

from fastapi import APIRouter, Header

from referrals.api.actions import take_step
from referrals.api.deps import ClientDep, CurrentUser, SessionDep, SettingsDep, StepIncident, VisibleIncident, permits
from referrals.api.errors import ApiError, documented
from referrals.api.views import CaseOut, case_out
from referrals.domain import steps
from referrals.domain.case import CaseState
from referrals.domain.messages import Key, TouhyAnswer, TouhyResponse
from referrals.domain.steps import StepSpec

router = APIRouter(
    prefix="/incidents/{case_id}",
    tags=["lifecycle steps"],
    responses=documented(401, 403, 404, 409, 413, 422, 429, 503),
)


def step_route(target: APIRouter, spec: StepSpec) -> None:
    """POST <spec.api_path>: the step's request model as the body; the case as stored after it as the answer."""

    async def run_step(
        body: spec.request,  # type: ignore[name-defined]
        incident: StepIncident,
        user: CurrentUser,
        client: ClientDep,
        session: SessionDep,
        settings: SettingsDep,
        idempotency_key: Annotated[str | None, Header(min_length=1, max_length=200)] = None,
    ) -> CaseOut:
        stored = await take_step(spec, body, incident, user, client, session, settings, idempotency_key)
        return case_out(stored, settings, user)

    target.add_api_route(
        spec.api_path,
        run_step,
        methods=["POST"],
        response_model=CaseOut,
        summary=spec.summary,
        name=spec.name,
        dependencies=[permits(spec.name)],
    )


for _spec in steps.STEPS:
    if _spec.routed:
        step_route(router, _spec)


TOUHY = steps.TOUHY_RESPONSE


@router.post(
    TOUHY.api_path,
    response_model=CaseOut,
    summary=TOUHY.summary,
    name=TOUHY.name,
    dependencies=[permits(TOUHY.name)],
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
