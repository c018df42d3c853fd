"""The human steps of the lifecycle: each one a workflow update, refused by its validator."""

import hashlib
import json
from typing import Annotated, Any

from fastapi import APIRouter, Header
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from api.deps import ClientDep, CurrentUser, SessionDep, SettingsDep, VisibleIncident, actor_of, permits
from api.errors import REJECTION_STATUS, ApiError, documented, refuse_clock_problems
from api.views import CaseOut, case_out
from domain.enums import Stage
from domain.errors import RejectionKind
from domain.messages import (
    CommandApproval,
    FootageHold,
    LegalReview,
    ReferralAcknowledgement,
    Step,
    SupervisorIdentification,
    ViolationReport,
    Withdrawal,
)
from domain.permissions import Operation
from workflows.incident import IncidentWorkflow

router = APIRouter(prefix="/incidents/{case_id}", tags=["lifecycle steps"],
                   responses=documented(401, 403, 404, 409, 413, 422, 429, 503))


def _refusal(cause: BaseException | None) -> ApiError:
    if isinstance(cause, ApplicationError) and cause.type in RejectionKind.__members__.values():
        detail = cause.details[0] if cause.details else {}
        field = detail.get("field") if isinstance(detail, dict) else None
        message = f"{field}: {cause.message}" if field else cause.message
        details = [{"field": field, "message": cause.message}] if field else None
        return ApiError(REJECTION_STATUS[RejectionKind(cause.type)], message, details)
    return ApiError(500, "the step failed unexpectedly")


def _update_id(operation: Operation, user_id: str, key: str | None, body: Any) -> str | None:
    """The same step sent again by the same person with the same Idempotency-Key and body is the
    same workflow update: Temporal runs it once and answers every copy with its outcome."""
    if key is None:
        return None
    sent = json.dumps([user_id, key, body.model_dump(mode="json")], sort_keys=True)
    return f"{operation.value}-{hashlib.sha256(sent.encode()).hexdigest()}"


def _step_route(path: str, body_model: type, update: Any, operation: Operation, summary: str) -> None:
    async def run_step(body: body_model, incident: VisibleIncident, user: CurrentUser, client: ClientDep,  # type: ignore[valid-type]
                       session: SessionDep, settings: SettingsDep,
                       idempotency_key: Annotated[str | None, Header(min_length=1, max_length=200)] = None,
                       ) -> CaseOut:
        refuse_clock_problems(body)
        if incident.stage == Stage.CLOSED:
            raise ApiError(409, f"the case is closed ({incident.disposition})")
        handle = client.get_workflow_handle_for(IncidentWorkflow.run, incident.workflow_id)
        try:
            await handle.execute_update(update, Step(actor=actor_of(user), payload=body),
                                        id=_update_id(operation, user.id, idempotency_key, body))
        except WorkflowUpdateFailedError as exc:
            raise _refusal(exc.cause) from exc
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:  # the workflow completed: the case closed meanwhile
                raise ApiError(409, "the case is closed") from exc
            raise
        await session.refresh(incident)  # the update returns once its change is stored
        return case_out(incident, settings)

    router.add_api_route(path, run_step, methods=["POST"], response_model=CaseOut, summary=summary,
                         name=operation.value, dependencies=[permits(operation)])


for _path, _body, _update, _operation, _summary in (
    ("/footage-hold", FootageHold, IncidentWorkflow.confirm_footage_hold, Operation.FOOTAGE_HOLD,
     "Confirm preservation holds, recording by recording"),
    ("/supervisor-identification", SupervisorIdentification, IncidentWorkflow.identify_supervisor,
     Operation.SUPERVISOR_IDENTIFICATION, "Record the federal supervisor on scene, or the refusal"),
    ("/violation-report", ViolationReport, IncidentWorkflow.report_violations, Operation.VIOLATION_REPORT,
     "Report the state or local laws allegedly violated"),
    ("/legal-review", LegalReview, IncidentWorkflow.review, Operation.LEGAL_REVIEW,
     "Refer, decline or return, with the immunity analysis"),
    ("/command-approval", CommandApproval, IncidentWorkflow.decide_approval, Operation.COMMAND_APPROVAL,
     "Approve or reject the referral"),
    ("/referral-acknowledgement", ReferralAcknowledgement, IncidentWorkflow.acknowledge_referral,
     Operation.REFERRAL_ACKNOWLEDGEMENT, "Record the prosecutor's acknowledgement"),
    ("/withdrawal", Withdrawal, IncidentWorkflow.withdraw, Operation.WITHDRAW, "Withdraw the case, with a reason"),
):
    _step_route(_path, _body, _update, _operation, _summary)
