"""Who takes a step, proved to the worker.

A step is a workflow update whose argument names its actor. Whoever reaches Temporal's frontend (the UI, a CLI on
the network, a proxy left open) could send one naming anyone, so the API and the CLI sign each update they send:
an *actor assertion* in the update's header names the user, their roles and district, the workflow, the update's
name and id, a hash of its argument and the time, with an HMAC under a key the API and the worker share
(REFERRALS_ACTOR_KEYS; the first key signs, every key verifies, so keys rotate as the payload keys do).

The worker checks it before the update's validator runs, outside the workflow's sandbox: the key never enters
workflow code or history, and the workflow is handed only the verdict. A refused update never enters history.
Validators do not run on replay, so a history replays without the key that signed it.

A case's start is signed the same way (its input names who filed it): a workflow whose input names an actor is
started only on a good assertion, checked once, when its first run first runs (never on replay, nor in a run
continued as new). Its assertion stays good for a day, not minutes, so that a filing made while every worker was
down still starts when one comes back.
"""

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pydantic_core import to_jsonable_python
from temporalio import workflow
from temporalio.api.common.v1 import Payload
from temporalio.client import (
    Interceptor as ClientInterceptor,
)
from temporalio.client import (
    OutboundInterceptor,
    StartWorkflowInput,
    StartWorkflowUpdateInput,
    StartWorkflowUpdateWithStartInput,
    WorkflowHandle,
    WorkflowUpdateHandle,
)
from temporalio.exceptions import ApplicationError
from temporalio.worker import (
    ExecuteWorkflowInput,
    HandleUpdateInput,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
)
from temporalio.worker import (
    Interceptor as WorkerInterceptor,
)

HEADER = "referrals-actor-assertion"
# An assertion is good for this long after it was made (the API's request gives up after 20 s), and is refused if
# it claims to be made further in the future than clocks drift apart.
MAX_AGE_SECONDS = 300
START_MAX_AGE_SECONDS = 24 * 3600
FUTURE_SKEW_SECONDS = 60
# The application error's type the API reads (referrals/api/actions.py): a step refused for its assertion, not its content.
REFUSED = "ActorAssertionRefused"
_VERIFY = "referrals_verify_actor_assertion"  # the worker's check, called from inside the sandbox
Keys = list[tuple[str, bytes]]


def digest(args: Sequence[Any]) -> str:
    """The hash of an update's arguments, the same from the objects the API sends and those the worker decodes."""
    canonical = json.dumps(to_jsonable_python(list(args)), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _mac(key: bytes, claims: dict) -> str:
    signed = json.dumps(claims, sort_keys=True, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode().rstrip("=")


def start_of(workflow_type: str) -> str:
    """What a start's assertion names in place of an update's name."""
    return f"start:{workflow_type}"


def _actor(args: Sequence[Any]) -> dict:
    """Who the argument names: a step's actor, or a case's filer."""
    only = args[0] if len(args) == 1 else None
    actor = getattr(only, "actor", None) or getattr(only, "filed_by", None)
    if actor is None:
        return {"user_id": None, "roles": [], "district": None}
    return {
        "user_id": actor.user_id,
        "roles": [str(getattr(r, "value", r)) for r in actor.roles],
        "district": actor.district,
    }


def sign(
    keys: Keys, *, workflow_id: str, update: str, update_id: str, args: Sequence[Any], now: float | None = None
) -> bytes:
    """The assertion for one update, signed with the first key."""
    key_id, key = keys[0]
    claims = {
        "kid": key_id,
        **_actor(args),
        "workflow_id": workflow_id,
        "update": update,
        "update_id": update_id,
        "payload_sha256": digest(args),
        "issued_at": int(now if now is not None else time.time()),
    }
    return json.dumps({"claims": claims, "mac": _mac(key, claims)}, sort_keys=True).encode()


def verify(
    keys: Keys,
    assertion: bytes | None,
    *,
    workflow_id: str,
    update: str,
    update_id: str,
    payload_sha256: str,
    actor: dict,
    now: float | None = None,
    max_age: int = MAX_AGE_SECONDS,
) -> str | None:
    """None when the assertion holds for this update; otherwise why not, in words that never echo it."""
    if not assertion:
        return "the step carries no actor assertion: steps are taken through the API"
    try:
        sent = json.loads(assertion)
        claims, mac = sent["claims"], sent["mac"]
        key = dict(keys).get(claims["kid"]) if isinstance(claims, dict) else None
    except (ValueError, KeyError, TypeError):
        return "the step's actor assertion is not readable"
    if key is None or not isinstance(mac, str) or not hmac.compare_digest(_mac(key, claims), mac):
        return "the step's actor assertion is not signed by a key this worker holds"
    now = now if now is not None else time.time()
    bound = {
        "workflow_id": (workflow_id, "another case"),
        "update": (update, "another step"),
        "update_id": (update_id, "another request"),
        "payload_sha256": (payload_sha256, "another payload"),
    }
    for name, (expected, other) in bound.items():
        if claims.get(name) != expected:
            return f"the step's actor assertion was made for {other}"
    if any(claims.get(name) != value for name, value in actor.items()):
        return "the step's actor assertion names another actor"
    issued = claims.get("issued_at")
    if not isinstance(issued, int) or now - issued > max_age:
        return f"the step's actor assertion is older than {_span(max_age)}"
    if issued - now > FUTURE_SKEW_SECONDS:
        return "the step's actor assertion is dated in the future"
    return None


def _span(seconds: int) -> str:
    return f"{seconds // 3600} hours" if seconds >= 7200 else f"{seconds // 60} minutes"


def _header(data: bytes) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=data)


class SignSteps(ClientInterceptor):
    """The API's and the CLI's clients: every update they send carries its assertion."""

    def __init__(self, keys: Keys) -> None:
        self._keys = keys

    def intercept_client(self, next: OutboundInterceptor) -> OutboundInterceptor:
        return _Signing(next, self._keys)


class _Signing(OutboundInterceptor):
    def __init__(self, next: OutboundInterceptor, keys: Keys) -> None:
        super().__init__(next)
        self._keys = keys

    def _signed(
        self, headers: Mapping[str, Payload], workflow_id: str, update: str, update_id: str, args: Sequence[Any]
    ) -> dict[str, Payload]:
        assertion = sign(self._keys, workflow_id=workflow_id, update=update, update_id=update_id, args=args)
        return {**headers, HEADER: _header(assertion)}

    async def start_workflow(self, input: StartWorkflowInput) -> WorkflowHandle[Any, Any]:
        input.headers = self._signed(input.headers, input.id, start_of(input.workflow), input.id, input.args)
        return await super().start_workflow(input)

    async def start_workflow_update(self, input: StartWorkflowUpdateInput) -> WorkflowUpdateHandle[Any]:
        input.update_id = input.update_id or str(uuid.uuid4())
        input.headers = self._signed(input.headers, input.id, input.update, input.update_id, input.args)
        return await super().start_workflow_update(input)

    async def start_update_with_start_workflow(
        self, input: StartWorkflowUpdateWithStartInput
    ) -> WorkflowUpdateHandle[Any]:
        start = input.start_workflow_input
        start.headers = self._signed(start.headers, start.id, start_of(start.workflow), start.id, start.args)
        update = input.update_workflow_input
        update.update_id = update.update_id or str(uuid.uuid4())
        update.headers = self._signed(
            update.headers, input.start_workflow_input.id, update.update, update.update_id, update.args
        )
        return await super().start_update_with_start_workflow(input)


class VerifySteps(WorkerInterceptor):
    """The worker: an update whose assertion does not hold is refused before its validator runs."""

    def __init__(self, keys: Keys) -> None:
        self._keys = keys

    def _verify(
        self,
        assertion: bytes | None,
        workflow_id: str,
        update: str,
        update_id: str,
        payload_sha256: str,
        actor: dict,
        max_age: int = MAX_AGE_SECONDS,
    ) -> str | None:
        return verify(
            self._keys,
            assertion,
            workflow_id=workflow_id,
            update=update,
            update_id=update_id,
            payload_sha256=payload_sha256,
            actor=actor,
            max_age=max_age,
        )

    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput
    ) -> type[WorkflowInboundInterceptor] | None:
        input.unsafe_extern_functions[_VERIFY] = self._verify
        return _Verifying


class _Verifying(WorkflowInboundInterceptor):
    @staticmethod
    def _check(
        headers: Mapping[str, Payload], update: str, update_id: str, args: Sequence[Any], max_age: int = MAX_AGE_SECONDS
    ) -> None:
        check: Callable[..., str | None] = workflow.extern_functions()[_VERIFY]
        header = headers.get(HEADER)
        reason = check(
            header.data if header is not None else None,
            workflow.info().workflow_id,
            update,
            update_id,
            digest(args),
            _actor(args),
            max_age,
        )
        if reason is not None:
            raise ApplicationError(reason, type=REFUSED, non_retryable=True)

    async def execute_workflow(self, input: ExecuteWorkflowInput) -> Any:
        """A case's first run, when it first runs: its filer must be the one the API signed for. The verdict is
        history's from then on: a replay, or a run continued as new, does not ask again."""
        info = workflow.info()
        if (
            _actor(input.args)["user_id"] is not None
            and info.continued_run_id is None
            and not workflow.unsafe.is_replaying()
        ):
            self._check(
                input.headers, start_of(info.workflow_type), info.workflow_id, input.args, START_MAX_AGE_SECONDS
            )
        return await super().execute_workflow(input)

    def handle_update_validator(self, input: HandleUpdateInput) -> None:
        self._check(input.headers, input.update, input.id, input.args)
        super().handle_update_validator(input)
