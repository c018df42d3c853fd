"""Every request answers within a deadline: past it, 503 with the error shape instead of a hang.

A step waits for its change to be stored; while PostgreSQL or the worker is away that can take
longer than anyone should wait on an open connection. The change itself is not lost: the workflow
applies it when the parts return, and sending the step again with the same Idempotency-Key
answers with its outcome instead of applying it twice.
"""

import asyncio

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from referrals.api.bodylimit import streams
from referrals.api.errors import error_response

log = structlog.get_logger()


class RequestDeadline:
    def __init__(self, app: ASGIApp, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # An upload or a video takes as long as its bytes do. The Temporal UI's proxy (referrals/web/temporal_ui.py) has its
        # own timeout: the UI long-polls a running case's history for about 20 s, as Temporal's server holds it.
        if scope["type"] != "http" or streams(scope) or scope["path"].startswith("/temporal/"):
            await self.app(scope, receive, send)
            return
        responded = False

        async def tracked(message: Message) -> None:
            nonlocal responded
            responded = responded or message["type"] == "http.response.start"
            await send(message)

        deadline = asyncio.timeout(self.seconds)
        try:
            async with deadline:
                await self.app(scope, receive, tracked)
        except Exception:
            # Cancelled at the deadline, the app may surface another exception than TimeoutError
            # (the Temporal client turns it into WorkflowUpdateRPCTimeoutOrCancelledError).
            if not deadline.expired() or responded:  # not ours, or too late to answer differently
                raise
            log.warning("request_deadline_passed", path=scope["path"], seconds=self.seconds)
            message = (
                f"the request did not finish within {self.seconds:g} s; a change it asked for may still be "
                "applied: send it again with the same Idempotency-Key, or read the case first"
            )
            await error_response(503, message)(scope, receive, send)
