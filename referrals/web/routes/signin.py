"""Signing in, with the department's OpenID provider or with one's token, and out; each in the access trail."""

import secrets
from datetime import UTC, datetime, timedelta

import structlog
from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from sqlalchemy import delete
from sqlmodel import col, select

from referrals.api import authentication, oidc
from referrals.api.deps import SessionDep
from referrals.api.errors import ApiError, with_retry_after
from referrals.api.trail import record
from referrals.store import users, web_sessions
from referrals.store.tables import AppUser, OidcLogin
from referrals.store.users import hash_token
from referrals.web.auth import SESSION_COOKIE, SIGNIN_COOKIE, DeskDep, check_csrf, find_desk, read_form, safe_next
from referrals.web.pages import render

router = APIRouter(prefix="/desk", include_in_schema=False)
log = structlog.get_logger()
STATE_COOKIE = "referrals_oidc_state"  # binds a sign-in at the provider to the browser that began it
LOGIN_MINUTES = 10  # a sign-in begun at the provider must come back within this
NOTICES = {
    "locked": "Your session locked after {minutes} minutes without activity. Sign in again to go on.",
    "expired": "Your session reached its time limit. Sign in again to go on.",
    "account_locked": "Your account is locked after repeated failed sign-ins. An administrator can unlock it.",
    "signed_out": "You are signed out.",
}


def _secure(request: Request) -> bool:
    return request.app.state.settings.public_url.startswith("https://")


def _tokens_allowed(request: Request) -> bool:
    """With a provider, people sign in there; tokens stay for service accounts, and the desk takes them only
    outside production."""
    settings = request.app.state.settings
    return settings.oidc_issuer is None or settings.env != "production"


def _redirect_uri(request: Request) -> str:
    return f"{request.app.state.settings.public_url.rstrip('/')}/desk/oidc/callback"


def _sign_in_page(
    request: Request, back_to: str, status: int = 200, error: str | None = None, notice: str | None = None
):
    nonce = secrets.token_urlsafe(24)
    response = render(
        request,
        "sign_in.html",
        status,
        next=back_to,
        csrf_token=nonce,
        error=error,
        notice=notice,
        provider=request.app.state.oidc is not None,
        tokens=_tokens_allowed(request),
    )
    response.set_cookie(
        SIGNIN_COOKIE,
        nonce,
        httponly=True,
        samesite="strict",
        secure=_secure(request),
        path="/desk/sign-in",
        max_age=3600,
    )
    return response


def _refused_page(request: Request, status: int, heading: str, message: str, advice: str | None = None):
    response = render(request, "sign_in_refused.html", status, heading=heading, message=message, advice=advice)
    response.delete_cookie(STATE_COOKIE, path="/desk/oidc")
    response.headers.update(with_retry_after(status, {}) or {})
    return response


async def _open(
    request: Request,
    session,
    user: AppUser,
    back_to: str,
    *,
    via: str,
    id_token: str | None = None,
    details: dict | None = None,
):
    settings = request.app.state.settings
    back_to = safe_next(back_to)  # checked when it came in too: never a redirect off the desk, whatever the caller
    cookie, _ = await web_sessions.open_session(
        session, user, timedelta(hours=settings.web_session_hours), via=via, id_token=id_token
    )
    await record(request, "sign_in", "allowed", user=user, details={"via": via, "roles": user.roles, **(details or {})})
    log.info("signed_in", user_id=user.id, via=via)
    response: Response
    if via == "token":
        response = RedirectResponse(back_to, status_code=303)
    else:
        # Back from the provider, the browser arrives from another site: a SameSite=Strict cookie set now would not
        # go with a redirect in the same chain, so this page moves on from our own origin.
        response = render(request, "moving_on.html", heading="Signed in", next=back_to)
        response.delete_cookie(STATE_COOKIE, path="/desk/oidc")
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        httponly=True,
        samesite="strict",
        secure=_secure(request),
        path="/",
        max_age=int(settings.web_session_hours * 3600),
    )
    response.delete_cookie(SIGNIN_COOKIE, path="/desk/sign-in")
    return response


@router.get("/sign-in")
async def sign_in_form(request: Request, session: SessionDep, next: str | None = None, ended: str | None = None):
    if await find_desk(request, session) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    notice = NOTICES.get(ended or "", "").format(minutes=f"{request.app.state.settings.session_idle_minutes:g}")
    return _sign_in_page(request, safe_next(next), notice=notice or None)


@router.post("/sign-in")
async def sign_in(request: Request, session: SessionDep):
    fields = await read_form(request)
    form = dict(fields)
    back_to = safe_next(form.get("next"))
    check_csrf(request.cookies.get(SIGNIN_COOKIE), fields)
    if not _tokens_allowed(request):
        raise ApiError(403, "sign in with your department account: this desk takes no tokens")
    token = form.get("token", "").strip()
    try:  # the product's tokens only: a provider's access token is for the API
        user = await authentication.token_user(request, session, token, action="sign_in", provider_tokens=False)
    except authentication.Refusal as refusal:
        if refusal.status == 429:
            raise ApiError(
                429, "too many failed sign-ins from this computer; wait a minute and try again", headers=refusal.headers
            ) from None
        message = (
            "Enter your access token."
            if refusal.reason == "missing"
            else refusal.message
            if refusal.reason == "account_locked"
            else "That token is not valid: it may have expired or been revoked."
        )
        return _sign_in_page(request, back_to, 401, message)
    return await _open(request, session, user, back_to, via="token")


@router.get("/sign-in/provider")
async def sign_in_at_provider(request: Request, session: SessionDep, next: str | None = None):
    """Begins the authorization code flow: state, nonce and PKCE verifier kept here (used once), the state also
    in a cookie of this browser, so a sign-in begun elsewhere cannot be finished in it."""
    provider: oidc.Provider | None = request.app.state.oidc
    if provider is None:
        raise ApiError(404, "no identity provider is configured: sign in with a token")
    state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    verifier, challenge = oidc.pkce_pair()
    now = datetime.now(UTC)
    await session.exec(delete(OidcLogin).where(col(OidcLogin.created_at) < now - timedelta(minutes=LOGIN_MINUTES)))
    session.add(
        OidcLogin(
            state_hash=hash_token(state), nonce=nonce, code_verifier=verifier, next=safe_next(next), created_at=now
        )
    )
    await session.commit()
    try:
        url = await provider.authorization_url(
            redirect_uri=_redirect_uri(request), state=state, nonce=nonce, challenge=challenge
        )
    except oidc.ProviderUnavailable as exc:
        log.warning("oidc_provider_unavailable", error=str(exc))
        return _refused_page(
            request,
            503,
            "The sign-in service cannot be reached",
            "Your department's identity provider did not answer. Try again in a few minutes.",
        )
    response = RedirectResponse(url, status_code=303)
    # Lax: it must come back with the provider's redirect, a top-level navigation from another site.
    response.set_cookie(
        STATE_COOKIE,
        state,
        httponly=True,
        samesite="lax",
        secure=_secure(request),
        path="/desk/oidc",
        max_age=LOGIN_MINUTES * 60,
    )
    return response


async def _take_login(session, state: str | None, cookie: str | None) -> OidcLogin | None:
    """The sign-in this callback answers, removed so that it is used once; None when the state is missing,
    unknown, used already, too old, or not this browser's."""
    if not state or not cookie or not secrets.compare_digest(state.encode(), cookie.encode()):
        return None
    login = (await session.exec(select(OidcLogin).where(OidcLogin.state_hash == hash_token(state)))).first()
    if login is None:
        return None
    await session.delete(login)
    await session.commit()
    if login.created_at < datetime.now(UTC) - timedelta(minutes=LOGIN_MINUTES):
        return None
    return login


@router.get("/oidc/callback")
async def provider_callback(
    request: Request,
    session: SessionDep,
    code: str | None = None,
    state: str | None = None,
    error: str | None = None,
    error_description: str | None = None,
    iss: str | None = None,
):
    provider: oidc.Provider | None = request.app.state.oidc
    if provider is None:
        raise ApiError(404, "no identity provider is configured")
    settings = request.app.state.settings

    async def refuse(
        reason: str,
        status: int,
        heading: str,
        message: str,
        advice: str | None = None,
        account: AppUser | None = None,
        who: str | None = None,
    ):
        await authentication.failed(
            request, session, action="sign_in", reason=reason, message=message, account=account, who=who, status=status
        )
        return _refused_page(request, status, heading, message, advice)

    login = await _take_login(session, state, request.cookies.get(STATE_COOKIE))
    if login is None:
        return await refuse(
            "state",
            400,
            "This sign-in cannot be finished",
            "The sign-in was not begun in this browser, was used already, or took too long.",
            "Start again from the sign-in page.",
        )
    if error:
        return await refuse(
            "provider_error",
            401,
            "The sign-in did not succeed",
            f"Your department's sign-in page answered: {error_description or error}.",
        )
    if iss is not None and iss.rstrip("/") != provider.issuer:  # RFC 9207: the answer names who sent it
        return await refuse(
            "issuer",
            400,
            "This sign-in cannot be finished",
            "The answer came from an identity provider this desk does not use.",
        )
    if not code:
        return await refuse("code", 400, "This sign-in cannot be finished", "The provider sent no sign-in code.")
    try:
        tokens = await provider.exchange(code=code, verifier=login.code_verifier, redirect_uri=_redirect_uri(request))
        claims = await provider.id_token_claims(tokens["id_token"], nonce=login.nonce)
    except oidc.Refused as refused:
        return await refuse(
            refused.reason,
            400,
            "This sign-in cannot be finished",
            f"Refused: {refused.message}.",
            "Start again from the sign-in page.",
        )
    except oidc.ProviderUnavailable as exc:
        log.warning("oidc_provider_unavailable", error=str(exc))
        return _refused_page(
            request,
            503,
            "The sign-in service cannot be reached",
            "Your department's identity provider did not answer. Try again in a few minutes.",
        )
    identity = oidc.Identity.from_claims(claims, settings, provider.group_roles)
    known = (await session.exec(select(AppUser).where(AppUser.subject == identity.subject))).first()
    if known is not None and not known.active:
        return await refuse("revoked", 403, "No access", "This account has been revoked here.", account=known)
    if known is not None:
        try:
            await authentication.refuse_if_locked(request, session, known, "sign_in")
        except authentication.Refusal as refusal:
            return _refused_page(request, 403, "Account locked", refusal.message)
    if not oidc.mfa_met(claims, settings):
        return await refuse(
            "mfa",
            403,
            "Multi-factor sign-in required",
            "This desk holds law-enforcement sensitive records, so it needs a sign-in with a second factor "
            "(an authenticator app, a security key or a card), and this sign-in did not use one.",
            "Sign out at your department's sign-in page, then sign in again with your second factor. If you "
            "have none set up, ask your help desk to enrol one.",
            account=known,
            who=identity.subject,
        )
    if not identity.roles:
        return await refuse(
            "no_role",
            403,
            "No access",
            "Your department account is not in any group that has access to this desk.",
            "Ask your administrator to add you to the right group, then sign in again.",
            account=known,
            who=identity.subject,
        )
    try:
        user, changed = await users.from_identity(session, identity)
    except users.AccountTaken:
        return await refuse(
            "email_taken",
            403,
            "No access",
            "Your e-mail address belongs to another account here. Ask an administrator.",
            who=identity.subject,
        )
    if changed:
        await record(request, "user_updated", "allowed", user=user, details=users.change_summary(changed, "sign_in"))
    if not user.active:  # a user taken over by e-mail may be one an admin revoked
        return await refuse("revoked", 403, "No access", "This account has been revoked here.", account=user)
    try:
        await authentication.refuse_if_locked(request, session, user, "sign_in")
    except authentication.Refusal as refusal:
        return _refused_page(request, 403, "Account locked", refusal.message)
    return await _open(request, session, user, login.next, via="oidc", id_token=tokens["id_token"])


@router.post("/sign-out")
async def sign_out(request: Request, desk: DeskDep, session: SessionDep):
    check_csrf(desk.csrf_token, await read_form(request))
    await web_sessions.close(session, request.cookies[SESSION_COOKIE])
    await record(request, "sign_out", "allowed", user=desk.user, details={"via": desk.session.via})
    log.info("signed_out", user_id=desk.user.id)
    provider: oidc.Provider | None = request.app.state.oidc
    there = None
    if provider is not None and desk.session.via == "oidc":
        back = f"{request.app.state.settings.public_url.rstrip('/')}/desk/sign-in?ended=signed_out"
        there = await provider.end_session_url(id_token=desk.session.id_token, post_logout_redirect_uri=back)
    response: Response
    if there:
        # A page, not a redirect: the desk's pages may send forms only to their own origin (CSP form-action).
        request.state.desk = None
        response = render(request, "moving_on.html", heading="Signing you out at your department", next=there)
    else:
        response = RedirectResponse("/desk/sign-in?ended=signed_out", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
