"""Filing a case and taking a step: the one code path behind the JSON API and the reviewer's desk."""

import hashlib
import json
import uuid
from datetime import UTC, datetime

import structlog
from pydantic import BaseModel
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client, WithStartWorkflowOperation, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDConflictPolicy
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from referrals import actor_assertions
from referrals.api.deps import actor_of
from referrals.api.errors import (
    REJECTION_STATUS,
    ApiError,
    policy_zone,
    problem,
    refuse_clock_problems,
    refuse_outside_policy,
)
from referrals.codec import UNENCRYPTED
from referrals.config import Settings
from referrals.domain import search_attributes as sa
from referrals.domain.case import CaseState, IncidentInput, workflow_id_for
from referrals.domain.enums import Stage
from referrals.domain.errors import RejectionKind
from referrals.domain.events import StepResult
from referrals.domain.messages import (
    FilingRequest,
    IncidentFiling,
    Step,
)
from referrals.domain.policy import Policy
from referrals.domain.steps import StepSpec
from referrals.sealing import Sealer
from referrals.store import cases
from referrals.store.tables import AppUser, Incident
from referrals.workflows.incident import IncidentWorkflow
from referrals.workflows.status import summary

log = structlog.get_logger()
# Idempotency keys map to case ids in a namespace of their own, per filing user.
IDEMPOTENCY_NAMESPACE = uuid.UUID("6f1c3a52-8d0e-4f4e-9a57-2b8f4f0c1d11")


def filing_hash(filing: IncidentFiling) -> str:
    # A filing without people hashes as it did before they could be named (Idempotency-Key retries across an upgrade).
    body = filing.model_dump(mode="json", exclude=None if getattr(filing, "people", None) else {"people"})
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def require_same_filing(incident: Incident, request_hash: str) -> None:
    if incident.request_hash != request_hash:
        raise ApiError(
            409, "this Idempotency-Key was already used for a different filing", {"field": "Idempotency-Key"}
        )


async def file_case(
    filing: FilingRequest | IncidentFiling,
    user: AppUser,
    session: AsyncSession,
    client: Client,
    settings: Settings,
    policy: Policy,
    idempotency_key: str | None,
) -> tuple[Incident, bool]:
    """The stored case, and whether this request created it (False: an earlier one with the same key did)."""
    refuse_clock_problems(filing, policy.zone)
    refuse_outside_policy(filing, policy)
    request_hash = filing_hash(filing)
    if idempotency_key:
        case_id = str(uuid.uuid5(IDEMPOTENCY_NAMESPACE, f"{user.id}:{idempotency_key}"))
        existing = await cases.get_incident(session, case_id)
        if existing is not None:
            require_same_filing(existing, request_hash)
            return existing, False
    else:
        case_id = str(uuid.uuid4())
    case_number = await cases.next_case_number(session, policy.case_prefix, datetime.now(UTC).year)
    await session.commit()
    people = getattr(filing, "people", [])
    if isinstance(filing, FilingRequest):
        filing = IncidentFiling.model_validate(filing.model_dump(exclude={"people"}))
    sealer = Sealer.of(settings.effective_encryption_keys)
    inp = IncidentInput(
        case_id=case_id,
        case_number=case_number,
        filed_by=actor_of(user),
        filing=filing,
        policy=policy,
        request_hash=request_hash,
        people=[sealer.person(p) for p in people],
        continue_after_events=settings.continue_after_events,
        documents_quiet_seconds=settings.documents_quiet_seconds,
    )
    # Start and wait for the filing to be stored in one call; a concurrent retry with the same
    # Idempotency-Key joins the running workflow instead of starting a second one.
    await client.execute_update_with_start_workflow(
        IncidentWorkflow.filing_recorded,
        start_workflow_operation=WithStartWorkflowOperation(
            IncidentWorkflow.run,
            inp,
            id=workflow_id_for(case_id),
            task_queue=settings.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            static_summary=summary(case_number, filing.district),
            search_attributes=TypedSearchAttributes(
                [
                    SearchAttributePair(sa.CASE_NUMBER, case_number),
                    SearchAttributePair(sa.CASE_STAGE, Stage.INVESTIGATION.value),
                    SearchAttributePair(sa.DISTRICT, filing.district),
                ]
            ),
        ),
    )
    incident = await cases.get_incident(session, case_id)
    assert incident is not None  # filing_recorded answers once the case is stored
    require_same_filing(incident, request_hash)  # a concurrent filing with the same key won
    return incident, True


def _refusal(cause: BaseException | None) -> ApiError:
    if isinstance(cause, ApplicationError) and cause.type in (actor_assertions.REFUSED, UNENCRYPTED):
        # The worker did not believe the API: its keys or its clock differ from the API's, never the person's fault.
        log.error("step_refused_by_worker", reason=cause.message)
        return ApiError(
            500,
            f"the worker refused the step ({cause.message}); REFERRALS_ACTOR_KEYS and "
            "REFERRALS_ENCRYPTION_KEYS must be the same in the API and the worker, and their clocks "
            "agree",
        )
    if isinstance(cause, ApplicationError) and cause.type in RejectionKind.__members__.values():
        assert cause.type is not None  # one of RejectionKind's values
        detail = cause.details[0] if cause.details else {}
        field = detail.get("field") if isinstance(detail, dict) else None
        message = f"{field}: {cause.message}" if field else cause.message
        details = [problem(field, cause.message, cause.type.lower())] if field else None
        return ApiError(REJECTION_STATUS[RejectionKind(cause.type)], message, details)
    return ApiError(500, "the step failed unexpectedly")


def _update_id(operation: str, user_id: str, key: str | None, body: BaseModel) -> str | None:
    """The same step sent again by the same person with the same Idempotency-Key and body is the
    same workflow update: Temporal runs it once and answers every copy with its outcome."""
    if key is None:
        return None
    sent = json.dumps([user_id, key, body.model_dump(mode="json")], sort_keys=True)
    return f"{operation}-{hashlib.sha256(sent.encode()).hexdigest()}"


async def take_step(
    spec: StepSpec,
    body: BaseModel,
    incident: Incident,
    user: AppUser,
    client: Client,
    session: AsyncSession,
    settings: Settings,
    idempotency_key: str | None,
) -> Incident:
    """Runs the step as a workflow update; its validator's refusal becomes the ApiError to answer with.
    Returns the case as stored after the step (the update returns once its change is stored), read whole: `incident`
    may come without the case's JSON (`deps.StepIncident`)."""
    refuse_clock_problems(body, policy_zone(settings.policy_file))
    update_id = _update_id(spec.name, user.id, idempotency_key, body)
    # Sent again and already stored: answered as the first time, by any run of the case, or once it has closed
    # (Temporal de-duplicates a run's own updates only; a case continued as new is a new run).
    if update_id is not None and await cases.recorded_by(session, incident.id, update_id):
        await cases.read_again(session, incident)
        return incident
    if incident.stage == Stage.CLOSED:
        raise ApiError(409, f"the case is closed ({incident.disposition})")
    handle: WorkflowHandle[IncidentWorkflow, CaseState] = client.get_workflow_handle_for(
        IncidentWorkflow.run, incident.workflow_id
    )
    try:
        payload = Sealer.of(settings.effective_encryption_keys).for_workflow(body, spec.workflow_payload)
        await handle.execute_update(
            spec.name,
            Step(actor=actor_of(user), payload=payload),
            id=update_id,
            result_type=StepResult,
        )
    except WorkflowUpdateFailedError as exc:
        raise _refusal(exc.cause) from exc
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:  # the workflow completed: the case closed meanwhile
            raise ApiError(409, "the case is closed") from exc
        raise
    await cases.read_again(session, incident)
    return incident
