"""The floor: the least a durable eight-update lifecycle on Temporal can cost, driven straight through
the Temporal SDK. A workflow started as a case is (update-with-start of its first update), then eight
updates in all, the filing and the seven steps of bench/people.py, in that order; each update runs
exactly one activity whose body is empty, and nothing else: no timers, no search attributes, no
documents, no payload codec. One update, one workflow task and one activity round trip are the least
a step can be and still be durable (recorded in the history before it is answered), so no
implementation of the product on this Temporal server can take less per step; what the floor costs
is what the Temporal server and the SDK cost on this machine, and the product is measured against it.

The service floor's workflow (`ServiceFloorWorkflow`, driven by bench/service_floor.py's app and run by its
worker) is the same lifecycle whose one activity per update inserts one row into PostgreSQL instead.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow

# The updates of a lifecycle, in order: the filing, then the steps (named as bench/people.py's paths).
UPDATES = (
    "filing_recorded",
    "footage-hold",
    "supervisor-identification",
    "violation-report",
    "legal-review",
    "command-approval",
    "referral-acknowledgement",
    "charging-decision",
)
STEPS = UPDATES[1:]

# The service floor's activity, run by its worker (bench/service_floor.py), named here so that this module, which
# the workflow sandbox imports, needs neither psycopg nor FastAPI.
WRITE = "service_floor_write"


@activity.defn
async def nothing() -> None:
    pass


@workflow.defn
class FloorWorkflow:
    def __init__(self) -> None:
        self._done = 0

    @workflow.run
    async def run(self) -> int:
        await workflow.wait_condition(lambda: self._done == len(UPDATES) and workflow.all_handlers_finished())
        return self._done

    @workflow.update
    async def step(self, name: str) -> int:
        await workflow.execute_activity(nothing, start_to_close_timeout=timedelta(seconds=10))
        self._done += 1
        return self._done


@workflow.defn
class ServiceFloorWorkflow:
    """The floor's lifecycle, each update's one activity writing one row (the case's id and the update's name)."""

    def __init__(self) -> None:
        self._done = 0

    @workflow.run
    async def run(self) -> int:
        await workflow.wait_condition(lambda: self._done == len(UPDATES) and workflow.all_handlers_finished())
        return self._done

    @workflow.update
    async def step(self, name: str) -> int:
        await workflow.execute_activity(
            WRITE, args=[workflow.info().workflow_id, name], start_to_close_timeout=timedelta(seconds=10)
        )
        self._done += 1
        return self._done
