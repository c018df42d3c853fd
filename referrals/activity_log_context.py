"""The worker's activities' log lines, each bound to its activity: apart from referrals/logs.py, so that a command that
logs does not load the Temporal worker."""

from typing import Any

import structlog
from temporalio import activity
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput, Interceptor


class ActivityLogContext(Interceptor):
    """Binds the running activity's workflow id, run id and type to its log lines; activities add the
    case number from their input."""

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _BindActivity(next)


class _BindActivity(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        info = activity.info()
        with structlog.contextvars.bound_contextvars(
            workflow_id=info.workflow_id, run_id=info.workflow_run_id, activity=info.activity_type
        ):
            return await self.next.execute_activity(input)
