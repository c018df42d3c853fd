"""A step's actor cannot be forged, even by someone who reaches Temporal directly: every update carries an assertion
the API signed (referrals/actor_assertions.py), and the worker refuses one whose assertion is missing, forged, or made for
another case, step, request or payload, before anything enters history; and it refuses unencrypted payloads."""

import asyncio
import base64
import json
import os
import uuid

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import EventType
from temporalio.client import (
    Client,
    Interceptor,
    OutboundInterceptor,
    WorkflowFailureError,
    WorkflowUpdateFailedError,
)

from referrals import actor_assertions
from referrals.actor_assertions import HEADER, sign, verify
from referrals.codec import parse_keys
from referrals.devstack import temporal
from referrals.domain.case import workflow_id_for
from referrals.domain.enums import Role
from referrals.domain.messages import Actor, Step, SupervisorIdentification
from referrals.temporal_client import data_converter
from referrals.workflows.incident import IncidentWorkflow
from tests.support.keys import TEST_ACTOR_KEYS, TEST_KEYS
from tests.support.scenario import IDENTIFIED, Driver

KEYS = parse_keys("k-1:" + base64.b64encode(b"k" * 32).decode())
OFFICER = Actor(user_id="u-1", name="P.O. Ana Ruiz", roles=[Role.OFFICER], district="010")
FORGED = Actor(
    user_id="00000000-0000-0000-0000-00000000f00d", name="FORGED ACTOR", roles=[Role.SUPERVISOR], district="010"
)
STEP = Step(actor=OFFICER, payload=SupervisorIdentification.model_validate(IDENTIFIED))
NOW = 1_800_000_000.0


def _check(
    assertion: bytes | None,
    *,
    args=(STEP,),
    workflow_id="incident-a",
    update="supervisor_identification",
    update_id="r-1",
    keys=KEYS,
    now=NOW,
) -> str | None:
    return verify(
        keys,
        assertion,
        workflow_id=workflow_id,
        update=update,
        update_id=update_id,
        payload_sha256=actor_assertions.digest(list(args)),
        actor=actor_assertions._actor(list(args)),
        now=now,
    )


def _signed(**changes) -> bytes:
    made = {
        "workflow_id": "incident-a",
        "update": "supervisor_identification",
        "update_id": "r-1",
        "args": [STEP],
        "now": NOW,
    } | changes
    return sign(KEYS, **made)


# --- the rule, without a server


def test_an_assertion_holds_for_the_update_it_was_made_for():
    assert _check(_signed()) is None
    assert _check(_signed(now=NOW - 299)) is None


@pytest.mark.parametrize(
    "assertion, reason",
    [
        (None, "carries no actor assertion"),
        (b"", "carries no actor assertion"),
        (b"not json", "not readable"),
        (b'{"claims": [], "mac": "x"}', "not signed by a key"),
        (json.dumps({"claims": {"kid": "k-1"}, "mac": "AAAA"}).encode(), "not signed by a key"),
    ],
)
def test_a_missing_or_unreadable_assertion_is_refused(assertion, reason):
    assert reason in _check(assertion)


def test_an_assertion_is_refused_for_another_case_step_request_payload_or_actor():
    assert _check(_signed(), workflow_id="incident-b") == "the step's actor assertion was made for another case"
    assert _check(_signed(), update="command_approval") == "the step's actor assertion was made for another step"
    assert _check(_signed(), update_id="r-2") == "the step's actor assertion was made for another request"
    other = Step(actor=OFFICER, payload=SupervisorIdentification.model_validate(IDENTIFIED | {"badge": "9999"}))
    assert _check(_signed(), args=[other]) == "the step's actor assertion was made for another payload"
    assert (
        _check(_signed(), args=[Step(actor=FORGED, payload=STEP.payload)])
        == "the step's actor assertion was made for another payload"
    )


def test_an_assertion_with_its_claims_changed_or_signed_with_another_key_is_refused():
    sent = json.loads(_signed())
    sent["claims"]["user_id"] = FORGED.user_id  # the claims rewritten, the MAC kept
    assert "not signed by a key" in _check(json.dumps(sent).encode())
    other_key = parse_keys("k-1:" + base64.b64encode(b"x" * 32).decode())
    assert "not signed by a key" in _check(
        sign(
            other_key,
            workflow_id="incident-a",
            update="supervisor_identification",
            update_id="r-1",
            args=[STEP],
            now=NOW,
        )
    )


def test_an_old_or_future_assertion_is_refused_and_the_reason_never_echoes_it():
    assert _check(_signed(now=NOW - 301)) == "the step's actor assertion is older than 5 minutes"
    assert _check(_signed(now=NOW + 120)) == "the step's actor assertion is dated in the future"
    for assertion in (_signed(now=NOW - 301), _signed(), b"garbage"):
        reason = _check(assertion, workflow_id="incident-b") or ""
        assert assertion.decode() not in reason and "mac" not in reason and "u-1" not in reason


def test_a_case_s_filer_is_its_actor():
    from referrals.domain.case import IncidentInput

    filed = IncidentInput.model_construct(filed_by=OFFICER)
    assert actor_assertions._actor([filed]) == {"user_id": "u-1", "roles": ["officer"], "district": "010"}
    assert actor_assertions._actor([]) == {"user_id": None, "roles": [], "district": None}


def test_after_a_rotation_the_new_key_signs_and_the_old_one_still_verifies():
    new = parse_keys("k-2:" + base64.b64encode(b"n" * 32).decode())
    rotated = new + KEYS
    assert json.loads(sign(rotated, workflow_id="w", update="u", update_id="i", args=[STEP]))["claims"]["kid"] == "k-2"
    assert _check(_signed(), keys=rotated) is None  # signed before the rotation, under k-1
    assert "not signed by a key" in _check(
        sign(new, workflow_id="incident-a", update="supervisor_identification", update_id="r-1", args=[STEP], now=NOW)
    )  # a worker not yet rotated


# --- against the real dev server and worker


class _Header(Interceptor):
    """A client that sends whatever header it is given: an attacker's client, or one without the API's key."""

    def __init__(self, header: bytes | None) -> None:
        self.header = header

    def intercept_client(self, next: OutboundInterceptor) -> OutboundInterceptor:
        outer = self

        class Sending(OutboundInterceptor):
            async def start_workflow_update(self, input):
                input.update_id = input.update_id or str(uuid.uuid4())
                if outer.header is not None:
                    input.headers = {
                        **input.headers,
                        HEADER: Payload(metadata={"encoding": b"json/plain"}, data=outer.header),
                    }
                return await super().start_workflow_update(input)

        return Sending(next)


async def _client(settings, header: bytes | None = None) -> Client:
    """Encrypts with the product's key (as the codec endpoint once let anyone do), and signs nothing itself."""
    return await Client.connect(
        settings.temporal_address, data_converter=data_converter(TEST_KEYS), interceptors=[_Header(header)]
    )


def _accepted_updates(history) -> int:
    return sum(1 for e in history.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED)


async def _unchanged(d: Driver, dev_server, case_id: str, accepted: int) -> None:
    await d.settled(case_id)
    case = (await d.get(case_id)).json()
    assert case["tasks"]["supervisor_identification"]["status"] == "open"
    assert case["supervisor_identification"] is None
    assert not any(e["kind"] == "supervisor_identification_recorded" for e in (await d.events(case_id))["items"])
    history = await dev_server.client.get_workflow_handle(workflow_id_for(case_id)).fetch_history()
    assert _accepted_updates(history) == accepted  # nothing entered history


async def test_an_update_sent_straight_to_temporal_with_a_forged_actor_is_refused(api, people, dev_server, settings):
    d = Driver(api, people)
    cid = (await d.new_case())["id"]
    workflow_id = workflow_id_for(cid)
    before = _accepted_updates(await dev_server.client.get_workflow_handle(workflow_id).fetch_history())
    forged = json.dumps({"actor": FORGED.model_dump(mode="json"), "payload": IDENTIFIED})

    # The probe's form: the temporal CLI, plain JSON, no assertion (run beside the worker, in this event loop).
    cli = await asyncio.create_subprocess_exec(
        str(temporal.binary("temporal")),
        "workflow",
        "update",
        "execute",
        "--address",
        settings.temporal_address,
        "--workflow-id",
        workflow_id,
        "--name",
        "supervisor_identification",
        "--input",
        forged,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    said = (await asyncio.wait_for(cli.communicate(), 60))[0].decode()
    assert cli.returncode != 0
    assert "the payload reached the worker unencrypted: steps are taken through the API" in said
    await _unchanged(d, dev_server, cid, before)

    # Encrypted with the product's key, and no assertion.
    step = Step(actor=FORGED, payload=SupervisorIdentification.model_validate(IDENTIFIED))
    handle = (await _client(settings)).get_workflow_handle(workflow_id)
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(IncidentWorkflow.supervisor_identification, step)
    assert refused.value.cause.message == "the step carries no actor assertion: steps are taken through the API"
    assert refused.value.cause.type == actor_assertions.REFUSED

    # An assertion signed with a key the worker does not hold.
    guess = parse_keys("guess:" + base64.b64encode(os.urandom(32)).decode())
    handle = (
        await _client(
            settings,
            sign(guess, workflow_id=workflow_id, update="supervisor_identification", update_id="x", args=[step]),
        )
    ).get_workflow_handle(workflow_id)
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(IncidentWorkflow.supervisor_identification, step, id="x")
    assert "not signed by a key this worker holds" in refused.value.cause.message
    await _unchanged(d, dev_server, cid, before)


async def test_a_genuine_assertion_replayed_onto_another_case_or_payload_is_refused(api, people, dev_server, settings):
    d = Driver(api, people)
    first, second = (await d.new_case())["id"], (await d.new_case())["id"]
    keys = parse_keys(TEST_ACTOR_KEYS)
    step = Step(actor=FORGED, payload=SupervisorIdentification.model_validate(IDENTIFIED))
    # What the API signed for the first case (an attacker who read one from a history).
    genuine = sign(
        keys, workflow_id=workflow_id_for(first), update="supervisor_identification", update_id="seen", args=[step]
    )
    before = _accepted_updates(await dev_server.client.get_workflow_handle(workflow_id_for(second)).fetch_history())
    handle = (await _client(settings, genuine)).get_workflow_handle(workflow_id_for(second))
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(IncidentWorkflow.supervisor_identification, step, id="seen")
    assert refused.value.cause.message == "the step's actor assertion was made for another case"
    await _unchanged(d, dev_server, second, before)

    # On its own case, with another payload: a badge of the attacker's choosing.
    changed = Step(actor=FORGED, payload=SupervisorIdentification.model_validate(IDENTIFIED | {"badge": "0000"}))
    handle = (await _client(settings, genuine)).get_workflow_handle(workflow_id_for(first))
    before = _accepted_updates(await dev_server.client.get_workflow_handle(workflow_id_for(first)).fetch_history())
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(IncidentWorkflow.supervisor_identification, changed, id="seen")
    assert refused.value.cause.message == "the step's actor assertion was made for another payload"
    await _unchanged(d, dev_server, first, before)

    # The step through the API still works, and its history carries the assertion, not the key.
    case = await d.ok(first, "supervisor-identification", "officer", IDENTIFIED)
    assert case["tasks"]["supervisor_identification"]["completed_by"]["name"] == "Test officer"
    history = await dev_server.client.get_workflow_handle(workflow_id_for(first)).fetch_history()
    accepted = [e for e in history.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED]
    header = accepted[-1].workflow_execution_update_accepted_event_attributes.accepted_request.input.header
    claims = json.loads(header.fields[HEADER].data)["claims"]
    assert claims["user_id"] == people.ids["officer"] and claims["roles"] == ["officer"]
    assert claims["workflow_id"] == workflow_id_for(first) and claims["update"] == "supervisor_identification"
    stored = b"".join(event.SerializeToString() for event in history.events)
    assert base64.b64decode(TEST_ACTOR_KEYS.split(":", 1)[1]) not in stored


async def test_a_case_started_straight_in_temporal_with_a_forged_filer_never_reaches_the_desk(
    api, people, dev_server, settings, sessions
):
    from sqlalchemy import text

    from referrals.domain.case import IncidentInput
    from referrals.domain.messages import IncidentFiling
    from tests.support.policies import CHICAGO
    from tests.support.scenario import FILING

    async def stored(case_id: str) -> int:
        async with sessions() as session:
            return (
                await session.exec(
                    text("SELECT count(*) FROM incident WHERE id = :id"),  # type: ignore[call-overload]
                    params={"id": case_id},
                )
            ).scalar_one()

    case_id = str(uuid.uuid4())
    inp = IncidentInput(
        case_id=case_id,
        case_number="CPD-2026-999999",
        filed_by=FORGED,
        filing=IncidentFiling.model_validate(FILING),
        policy=CHICAGO,
        request_hash="forged",
    )
    # Encrypted with the product's key, no assertion: the run fails before it records anything.
    handle = await (await _client(settings)).start_workflow(
        IncidentWorkflow.run, inp, id=workflow_id_for(case_id), task_queue=settings.task_queue
    )
    with pytest.raises(WorkflowFailureError) as failed:
        await handle.result()
    assert failed.value.cause.message == "the step carries no actor assertion: steps are taken through the API"
    assert await stored(case_id) == 0

    # The CLI's plain JSON: refused as unencrypted.
    plain_id = str(uuid.uuid4())
    cli = await asyncio.create_subprocess_exec(
        str(temporal.binary("temporal")),
        "workflow",
        "start",
        "--address",
        settings.temporal_address,
        "--workflow-id",
        workflow_id_for(plain_id),
        "--type",
        "IncidentWorkflow",
        "--task-queue",
        settings.task_queue,
        "--input",
        inp.model_copy(update={"case_id": plain_id}).model_dump_json(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    await asyncio.wait_for(cli.communicate(), 60)
    with pytest.raises(WorkflowFailureError) as failed:
        await dev_server.client.get_workflow_handle(workflow_id_for(plain_id)).result()
    assert "unencrypted" in str(failed.value.cause.message)
    assert await stored(plain_id) == 0

    # Filed through the API, the same filing starts, signed.
    assert (await Driver(api, people).new_case())["filed_by"]["name"] == "Test officer"
