"""The daily digest of open escalations, started by a Temporal Schedule."""

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from referrals.activities.notifier import Notifier

SCHEDULE_ID = "referrals-daily-digest"


@workflow.defn
class DigestWorkflow:
    @workflow.run
    async def run(self) -> int:
        day = workflow.now().date().isoformat()
        return await workflow.execute_activity_method(
            Notifier.send_digest,
            day,
            start_to_close_timeout=timedelta(minutes=5),
            schedule_to_close_timeout=timedelta(hours=6),
            retry_policy=RetryPolicy(initial_interval=timedelta(seconds=5), maximum_interval=timedelta(minutes=10)),
        )
