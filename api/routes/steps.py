"""The human steps of the lifecycle: each one a workflow update, refused by its validator."""

from typing import Annotated

from fastapi import APIRouter, Header

from api.actions import STEPS, StepKind, take_step
from api.deps import ClientDep, CurrentUser, SessionDep, SettingsDep, VisibleIncident, permits
from api.errors import documented
from api.views import CaseOut, case_out

router = APIRouter(prefix="/incidents/{case_id}", tags=["lifecycle steps"],
                   responses=documented(401, 403, 404, 409, 413, 422, 429, 503))


def _step_route(kind: StepKind) -> None:
    async def run_step(body: kind.body, incident: VisibleIncident, user: CurrentUser, client: ClientDep,  # type: ignore[name-defined]
                       session: SessionDep, settings: SettingsDep,
                       idempotency_key: Annotated[str | None, Header(min_length=1, max_length=200)] = None,
                       ) -> CaseOut:
        stored = await take_step(kind, body, incident, user, client, session, settings, idempotency_key)
        return case_out(stored, settings, user)

    router.add_api_route(kind.path, run_step, methods=["POST"], response_model=CaseOut, summary=kind.summary,
                         name=kind.operation.value, dependencies=[permits(kind.operation)])


for _kind in STEPS:
    _step_route(_kind)
