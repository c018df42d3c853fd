"""Publishing the public figures: a snapshot, by the Temporal Schedule (daily by default) or at an admin's asking."""

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from referrals.activities.publication import Publisher
    from referrals.domain.publication import PublishRequest, SnapshotEntry

SCHEDULE_ID = "public-stats"
NOW_PREFIX = "public-stats-now-"  # the workflow id of a publication asked for at once, with a uuid after it


@workflow.defn
class PublishStatsWorkflow:
    @workflow.run
    async def run(self) -> SnapshotEntry:
        # The workflow's id is the snapshot's key: the activity retried, or the workflow replayed, keeps one.
        request = PublishRequest(key=workflow.info().workflow_id, as_of=workflow.now())
        return await workflow.execute_activity_method(
            Publisher.publish,
            request,
            start_to_close_timeout=timedelta(minutes=5),
            schedule_to_close_timeout=timedelta(hours=6),
            retry_policy=RetryPolicy(initial_interval=timedelta(seconds=5), maximum_interval=timedelta(minutes=10)),
        )
