"""Request bodies over the configured size get 413 before anything parses or stores them."""

import re

from referrals.api.errors import error_response

# Evidence uploads and downloads stream, past any limit on a whole body or on a whole request's time: their
# routes enforce their own limit as the bytes pass (referrals/api/routes/evidence.py, REFERRALS_MAX_EVIDENCE_BYTES).
STREAMED = re.compile(r"^/(incidents|desk/cases)/[^/]+/evidence(/[^/]+(/view)?)?/?$")


def streams(scope) -> bool:
    return bool(STREAMED.match(scope.get("path", "")))


class BodyLimit:
    """ASGI middleware: a declared Content-Length over the limit is refused unread; any other body, chunked
    ones included, is read up to the limit and handed on whole."""

    def __init__(self, app, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or streams(scope):
            return await self.app(scope, receive, send)
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            return await self._refuse(scope, receive, send)
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away: let the app see it
                return await self.app(scope, _replay(message, receive), send)
            body += message.get("body", b"")
            if len(body) > self.max_bytes:
                return await self._refuse(scope, receive, send)
            if not message.get("more_body", False):
                break
        whole = {"type": "http.request", "body": bytes(body), "more_body": False}
        await self.app(scope, _replay(whole, receive), send)

    async def _refuse(self, scope, receive, send) -> None:
        # The rest of the body is never read: close the connection rather than drain it.
        response = error_response(
            413, f"the request body is over the limit of {self.max_bytes} bytes", headers={"Connection": "close"}
        )
        await response(scope, receive, send)


def _replay(first: dict, receive):
    pending = [first]

    async def replayed() -> dict:
        return pending.pop() if pending else await receive()

    return replayed
