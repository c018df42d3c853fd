"""Who is at the desk: a session cookie (HttpOnly, SameSite=Strict) instead of a bearer token, and
CSRF tokens on every form. Visibility and permissions are the API's own (referrals/api/deps.py)."""

import hmac
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from fastapi import Depends, Request

from referrals.api.deps import SessionDep
from referrals.api.errors import ApiError
from referrals.api.trail import REFUSED, action_of, record
from referrals.store import web_sessions
from referrals.store.tables import AppUser, WebSession

SESSION_COOKIE = "referrals_session"
SIGNIN_COOKIE = "referrals_signin"  # CSRF for the sign-in form itself, before there is a session
CSRF_FIELD = "csrf_token"


@dataclass
class Desk:
    user: AppUser
    session: WebSession

    @property
    def csrf_token(self) -> str:
        return self.session.csrf_token


class SignInRequired(Exception):
    """Answered with a redirect to the sign-in page, coming back here afterwards; `ended` says why a session that
    was there is not any more (locked after idling, or past its absolute limit)."""

    def __init__(self, back_to: str, ended: str | None = None):
        super().__init__(back_to)
        self.back_to = back_to
        self.ended = ended


async def find_desk(request: Request, session) -> Desk | None:
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    settings = request.app.state.settings
    # What a page open in the background asks by itself (the Temporal UI's polls, its codec calls) is no activity:
    # it must not keep an unattended session from locking.
    polled = request.url.path.startswith(("/temporal/api/", "/codec/", "/desk/temporal-ui/auth"))
    found = await web_sessions.find(
        session, cookie, timedelta(minutes=settings.session_idle_minutes), activity=not polled
    )
    if isinstance(found, web_sessions.Ended):
        request.state.session_ended = found.reason
        await record(request, f"session_{found.reason}", "allowed", user=found.user, component="desk")
        return None
    if found is None:
        return None
    request.state.desk = desk = Desk(*found)
    return desk


async def signed_in(request: Request, session: SessionDep) -> AsyncIterator[Desk]:
    desk = await find_desk(request, session)
    if desk is None:
        back_to = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInRequired(
            back_to if request.method == "GET" else request.url.path, getattr(request.state, "session_ended", None)
        )
    try:
        yield desk
    except ForgedForm as forged:
        # A post without this session's token (another site's form riding the cookie, or a page left open past
        # its session): refused, and the auditors see whose session it was sent in.
        await record(
            request,
            request.path_params.get("operation") or action_of(request),
            REFUSED,
            user=desk.user,
            case_id=request.path_params.get("case_id"),
            details={"csrf_token": forged.sent},
            component="desk",
        )
        raise


DeskDep = Annotated[Desk, Depends(signed_in)]


async def read_form(request: Request) -> list[tuple[str, str]]:
    """The urlencoded form the desk's pages send (they upload no files), field by field in order."""
    try:
        return parse_qsl((await request.body()).decode(), keep_blank_values=True, max_num_fields=5000)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ApiError(
            422, f"body: not a readable form ({exc})", [{"field": "body", "message": "unreadable"}]
        ) from None


FORGED = "this form has expired or did not come from this site: reload the page and send it again"


class ForgedForm(ApiError):
    """A form refused for its CSRF token; `sent` says what came instead ("missing" or "wrong"), never the token."""

    def __init__(self, sent: str):
        super().__init__(403, FORGED)
        self.sent = sent


def check_csrf(expected: str | None, fields: list[tuple[str, str]]) -> None:
    sent = next((value for name, value in fields if name == CSRF_FIELD), "")
    if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise ForgedForm("wrong" if sent else "missing")


def sign_in_url(back_to: str, ended: str | None = None) -> str:
    return f"/desk/sign-in?next={quote(back_to, safe='/')}" + (f"&ended={ended}" if ended else "")


# Where a sign-in may send a person afterwards: the desk, or the Temporal UI it serves behind its sign-in.
NEXT_ROOTS = ("/desk/", "/temporal/")
_RAW = re.compile(r"[^\x21-\x7e]|[\\\"'<>`]")  # as sent: printable ASCII only, no backslash, quote or bracket
_DECODED = re.compile(r"[\x00-\x1f\x7f\\]")  # once decoded, anywhere: no control character (CR/LF), no backslash
_DECODED_PATH = re.compile(r"[^\x21-\x7e]|[\"'<>`@]")  # once decoded, in the path: not even a space


def safe_next(value: str | None) -> str:
    """Where to go after signing in: only a path of this site under /desk/ (or the Temporal UI behind it,
    referrals/web/temporal_ui.py), never an open redirect to another site. Anything else is /desk/.

    Refused: another scheme or host (`https://evil.example`, `//evil.example`, `/\\evil`), a path that climbs out
    (`/desk/../x`, `/desk/%2e%2e/x`), control characters (CR/LF: a header split), and all of these percent-encoded,
    once or more (`%2F%2Fevil`, `%252F`). A search's words may be in the query, encoded."""
    default = "/desk/"
    if not value or len(value) > 2000 or _RAW.search(value):
        return default
    forms = [value]
    while len(forms) <= 4:  # each decoding a browser, a proxy or a framework might make on the way
        try:
            decoded = unquote(forms[-1], errors="strict")
        except UnicodeDecodeError:  # `%ff`: no path of ours
            return default
        if decoded == forms[-1]:
            break
        forms.append(decoded)
    else:
        return default  # still changing after four decodings: no real path is written like that
    for form in forms:
        if _DECODED.search(form):
            return default
        parts = urlsplit(form)
        path = parts.path
        if parts.scheme or parts.netloc or not path.startswith(NEXT_ROOTS) or _DECODED_PATH.search(path):
            return default
        if any(segment in ("", ".", "..") for segment in path.split("/")[1:-1]) or path.split("/")[-1] in (".", ".."):
            return default  # no empty segment (`//`), no `.` or `..`: the path stays where it says
    return value
