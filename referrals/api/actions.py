"""Filing a case and taking a step: the one code path behind the JSON API and the reviewer's desk."""

import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog
from pydantic import BaseModel
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client, WithStartWorkflowOperation, WorkflowUpdateFailedError
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDConflictPolicy
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from referrals import actor_assertions
from referrals.api.deps import actor_of
from referrals.api.errors import REJECTION_STATUS, ApiError, refuse_clock_problems, refuse_outside_policy
from referrals.codec import UNENCRYPTED
from referrals.config import Settings
from referrals.domain import search_attributes as sa
from referrals.domain.case import IncidentInput, workflow_id_for
from referrals.domain.enums import Stage
from referrals.domain.errors import RejectionKind
from referrals.domain.messages import (
    Arraignment,
    ChargingDecision,
    CommandApproval,
    FilingRequest,
    FootageHold,
    IncidentFiling,
    LegalReview,
    LegalReviewIn,
    PersonIn,
    ProsecutionOutcomeIn,
    ReferralAcknowledgement,
    RemovalNotice,
    RemovalOutcome,
    Step,
    SupervisorIdentification,
    SupplementIn,
    TouhyResponse,
    ViolationReport,
    Withdrawal,
)
from referrals.domain.permissions import Operation
from referrals.domain.policy import Policy
from referrals.sealing import Sealer
from referrals.store import cases
from referrals.store.tables import AppUser, Incident
from referrals.workflows.incident import IncidentWorkflow
from referrals.workflows.status import summary

log = structlog.get_logger()
# Idempotency keys map to case ids in a namespace of their own, per filing user.
IDEMPOTENCY_NAMESPACE = uuid.UUID("6f1c3a52-8d0e-4f4e-9a57-2b8f4f0c1d11")


@dataclass(frozen=True)
class StepKind:
    operation: Operation
    path: str  # under /incidents/{case_id}
    body: type[BaseModel]
    update: Any  # the workflow's update method
    summary: str
    # The body as the workflow receives it (contact details sealed), where that is not the body itself.
    prepare: Callable[[BaseModel, Sealer], BaseModel] | None = None
    routed: bool = (
        True  # a route of its own at `path` (False: one with more in its path, referrals/api/routes/steps.py)
    )


STEPS = [
    StepKind(
        Operation.FOOTAGE_HOLD,
        "/footage-hold",
        FootageHold,
        IncidentWorkflow.confirm_footage_hold,
        "Confirm preservation holds, recording by recording",
    ),
    StepKind(
        Operation.SUPERVISOR_IDENTIFICATION,
        "/supervisor-identification",
        SupervisorIdentification,
        IncidentWorkflow.identify_supervisor,
        "Record the federal supervisor on scene, or the refusal",
    ),
    StepKind(
        Operation.VIOLATION_REPORT,
        "/violation-report",
        ViolationReport,
        IncidentWorkflow.report_violations,
        "Report the state or local laws allegedly violated",
    ),
    StepKind(
        Operation.LEGAL_REVIEW,
        "/legal-review",
        LegalReviewIn,
        IncidentWorkflow.review,
        "Refer, decline or return, with the analysis per federal subject: the elements of each charge and "
        "the two prongs of Supremacy Clause immunity",
        prepare=lambda body, sealer: LegalReview.model_validate(body.model_dump()),
    ),
    StepKind(
        Operation.COMMAND_APPROVAL,
        "/command-approval",
        CommandApproval,
        IncidentWorkflow.decide_approval,
        "Approve or reject the referral",
    ),
    StepKind(
        Operation.REFERRAL_ACKNOWLEDGEMENT,
        "/referral-acknowledgement",
        ReferralAcknowledgement,
        IncidentWorkflow.acknowledge_referral,
        "Record the prosecutor's acknowledgement",
    ),
    StepKind(
        Operation.CHARGING_DECISION,
        "/charging-decision",
        ChargingDecision,
        IncidentWorkflow.decide_charging,
        "Record the prosecutor's charging decision: charged, declined, grand jury or further investigation",
    ),
    StepKind(
        Operation.ARRAIGNMENT,
        "/arraignment",
        Arraignment,
        IncidentWorkflow.record_arraignment,
        "Record the arraignment in the state court: it opens the 30-day removal window",
    ),
    StepKind(
        Operation.REMOVAL_NOTICE,
        "/removal-notice",
        RemovalNotice,
        IncidentWorkflow.record_removal_notice,
        "Record a notice of removal to federal court (28 U.S.C. § 1442, § 1455)",
    ),
    StepKind(
        Operation.REMOVAL_OUTCOME,
        "/removal-outcome",
        RemovalOutcome,
        IncidentWorkflow.record_removal_outcome,
        "Record what the federal court did with the removal: remanded or retained",
    ),
    StepKind(
        Operation.PROSECUTION_OUTCOME,
        "/prosecution-outcome",
        ProsecutionOutcomeIn,
        IncidentWorkflow.record_prosecution_outcome,
        "Record the prosecution's final outcome: it closes the case",
    ),
    # The desk sends the request's id in the form; the API takes it from the path (referrals/api/routes/steps.py).
    StepKind(
        Operation.TOUHY_RESPONSE,
        "/touhy-requests/{request_id}/response",
        TouhyResponse,
        IncidentWorkflow.record_touhy_response,
        "Record a federal agency's answer to a Touhy request: produced, "
        "partly produced, refused (with the ground stated) or no answer",
        routed=False,
    ),
    StepKind(
        Operation.WITHDRAW, "/withdrawal", Withdrawal, IncidentWorkflow.withdraw, "Withdraw the case, with a reason"
    ),
    StepKind(
        Operation.ADD_PERSON,
        "/people",
        PersonIn,
        IncidentWorkflow.add_person,
        "Add a person involved (victim, witness, complainant, bystander, other), with injuries and statements",
        prepare=lambda body, sealer: sealer.person(body),
    ),
    StepKind(
        Operation.FILE_SUPPLEMENT,
        "/supplements",
        SupplementIn,
        IncidentWorkflow.file_supplement,
        "File a supplementary report: new recordings, people, statements, federal personnel, a narrative, "
        "corrections of filed facts",
        prepare=lambda body, sealer: sealer.supplement(body),
    ),
]
STEP = {kind.operation: kind for kind in STEPS}


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
    refuse_clock_problems(filing)
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
        detail = cause.details[0] if cause.details else {}
        field = detail.get("field") if isinstance(detail, dict) else None
        message = f"{field}: {cause.message}" if field else cause.message
        details = [{"field": field, "message": cause.message}] if field else None
        return ApiError(REJECTION_STATUS[RejectionKind(cause.type)], message, details)
    return ApiError(500, "the step failed unexpectedly")


def _update_id(operation: Operation, user_id: str, key: str | None, body: BaseModel) -> str | None:
    """The same step sent again by the same person with the same Idempotency-Key and body is the
    same workflow update: Temporal runs it once and answers every copy with its outcome."""
    if key is None:
        return None
    sent = json.dumps([user_id, key, body.model_dump(mode="json")], sort_keys=True)
    return f"{operation.value}-{hashlib.sha256(sent.encode()).hexdigest()}"


async def take_step(
    kind: StepKind,
    body: BaseModel,
    incident: Incident,
    user: AppUser,
    client: Client,
    session: AsyncSession,
    settings: Settings,
    idempotency_key: str | None,
) -> Incident:
    """Runs the step as a workflow update; its validator's refusal becomes the ApiError to answer with.
    Returns the case as stored after the step (the update returns once its change is stored)."""
    refuse_clock_problems(body)
    if incident.stage == Stage.CLOSED:
        raise ApiError(409, f"the case is closed ({incident.disposition})")
    handle = client.get_workflow_handle_for(IncidentWorkflow.run, incident.workflow_id)
    try:
        payload = kind.prepare(body, Sealer.of(settings.effective_encryption_keys)) if kind.prepare else body
        await handle.execute_update(
            kind.update,
            Step(actor=actor_of(user), payload=payload),
            id=_update_id(kind.operation, user.id, idempotency_key, body),
        )
    except WorkflowUpdateFailedError as exc:
        raise _refusal(exc.cause) from exc
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:  # the workflow completed: the case closed meanwhile
            raise ApiError(409, "the case is closed") from exc
        raise
    await session.refresh(incident)
    return incident
