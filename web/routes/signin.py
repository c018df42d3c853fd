"""Signing in with one's token, and out."""

import secrets
from datetime import timedelta

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse

from api.deps import SessionDep
from api.errors import ApiError
from store import users, web_sessions
from web.auth import SESSION_COOKIE, SIGNIN_COOKIE, DeskDep, check_csrf, find_desk, read_form, safe_next
from web.pages import render

router = APIRouter(prefix="/desk", include_in_schema=False)
log = structlog.get_logger()


def _secure(request: Request) -> bool:
    return request.app.state.settings.public_url.startswith("https://")


def _sign_in_page(request: Request, back_to: str, status: int = 200, error: str | None = None):
    nonce = secrets.token_urlsafe(24)
    response = render(request, "sign_in.html", status, next=back_to, csrf_token=nonce, error=error)
    response.set_cookie(SIGNIN_COOKIE, nonce, httponly=True, samesite="strict", secure=_secure(request),
                        path="/desk/sign-in", max_age=3600)
    return response


@router.get("/sign-in")
async def sign_in_form(request: Request, session: SessionDep, next: str | None = None):
    if await find_desk(request, session) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return _sign_in_page(request, safe_next(next))


@router.post("/sign-in")
async def sign_in(request: Request, session: SessionDep):
    fields = await read_form(request)
    form = dict(fields)
    back_to = safe_next(form.get("next"))
    check_csrf(request.cookies.get(SIGNIN_COOKIE), fields)
    limiter = request.app.state.auth_failures
    client = request.client.host if request.client else "unknown"
    if limiter.blocked(client):
        raise ApiError(429, "too many failed sign-ins from this computer; wait a minute and try again",
                       headers={"Retry-After": str(limiter.retry_after(client))})
    token = form.get("token", "").strip()
    user = await users.user_for_token(session, token) if token else None
    if user is None:
        limiter.failed(client)
        log.warning("authentication_failed", reason="missing" if not token else "rejected", client=client, via="desk")
        message = "Enter your access token." if not token else "That token is not valid: it may have expired or been revoked."
        return _sign_in_page(request, back_to, 401, message)
    cookie, _ = await web_sessions.open_session(
        session, user, timedelta(hours=request.app.state.settings.web_session_hours))
    log.info("signed_in", user_id=user.id)
    response = RedirectResponse(back_to, status_code=303)
    response.set_cookie(SESSION_COOKIE, cookie, httponly=True, samesite="strict", secure=_secure(request), path="/",
                        max_age=int(request.app.state.settings.web_session_hours * 3600))
    response.delete_cookie(SIGNIN_COOKIE, path="/desk/sign-in")
    return response


@router.post("/sign-out")
async def sign_out(request: Request, desk: DeskDep, session: SessionDep):
    check_csrf(desk.csrf_token, await read_form(request))
    await web_sessions.close(session, request.cookies[SESSION_COOKIE])
    log.info("signed_out", user_id=desk.user.id)
    response = RedirectResponse("/desk/sign-in", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
