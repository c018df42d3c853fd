"""An API that cannot start says why in one line, naming the setting to fix, not in a stack trace.

The lifespan raises StartupRefused with the operator's sentence (Temporal unreachable as configured, a database that
refuses TLS...). Starlette reports a failed startup to the server with the whole traceback, which uvicorn prints;
OneLineStartupFailure, the outermost layer, puts the sentence in its place. uvicorn then exits with status 3, at once
(referrals/exiting.py: a Temporal client may have been made)."""

import atexit
import sys
from pathlib import Path

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from referrals import exiting

MARK = "StartupRefused: "


class StartupRefused(Exception):
    """The API cannot start as configured; the message says what to change."""


class OneLineStartupFailure:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return

        async def one_line(message: Message) -> None:
            text = message.get("message") or ""
            if message["type"] == "lifespan.startup.failed" and MARK in text:
                message = {**message, "message": "api: " + text.rsplit(MARK, 1)[1].strip()}
                if "uvicorn" in Path(sys.argv[0]).parts or Path(sys.argv[0]).name == "uvicorn":
                    atexit.register(exiting.now, 3)  # uvicorn's own status for a failed startup
            await send(message)

        await self.app(scope, receive, one_line)
