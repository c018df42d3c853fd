"""The request log and the request-latency metric: one line per request, after its answer.

Plain ASGI rather than Starlette's `@app.middleware("http")`, whose `call_next` runs the app in a task of its own and
hands every piece of a request's body across a stream: an evidence upload's gigabyte read through it cost the API
about a quarter of its CPU (issue 32, item 6)."""

import time
from typing import Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = structlog.get_logger()


class RequestLog:
    def __init__(self, app: ASGIApp, latency: Any) -> None:
        self.app = app
        self.latency = latency  # a Histogram labelled (route, method, status)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        structlog.contextvars.clear_contextvars()
        started = time.perf_counter()
        status = 500  # if the app ends without answering, the server answers so

        async def answered(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        await self.app(scope, receive, answered)
        route = getattr(scope.get("route"), "path", "unmatched")  # the template: no ids in metrics
        seconds = time.perf_counter() - started
        self.latency.labels(route, scope["method"], str(status)).observe(seconds)
        log.info(
            "request",
            method=scope["method"],
            route=route,
            status=status,
            ms=round(seconds * 1000, 1),
            **scope.get("state", {}).get("log_fields", {}),  # the case, if any (request.state.log_fields)
        )
