"""The floor: a workflow of IncidentWorkflow's shape with no-op bodies, driven straight through the
Temporal SDK. It takes as many updates and runs as many activities, in the same order, as a
referred case does (filing: 3 activities; footage hold 3; supervisor 1; violation report 2 with the
stage change; legal review 4; command approval 5 with the packet's delivery; acknowledgement 2),
so what it costs is what the Temporal server and the SDK cost on this machine.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow

# Activities each step runs, in IncidentWorkflow's order for the scenario of bench/people.py.
SHAPE = {
    "filing_recorded": 3,
    "footage-hold": 3,
    "supervisor-identification": 1,
    "violation-report": 2,
    "legal-review": 4,
    "command-approval": 5,
    "referral-acknowledgement": 2,
}
STEPS = [step for step in SHAPE if step != "filing_recorded"]


@activity.defn
async def nothing(step: str) -> str:
    return step


@workflow.defn
class FloorWorkflow:
    def __init__(self) -> None:
        self._done = 0

    @workflow.run
    async def run(self) -> int:
        await workflow.wait_condition(lambda: self._done == len(SHAPE) and workflow.all_handlers_finished())
        return self._done

    @workflow.update
    async def step(self, name: str) -> int:
        for _ in range(SHAPE[name]):
            await workflow.execute_activity(nothing, name, start_to_close_timeout=timedelta(seconds=10))
        self._done += 1
        return self._done
