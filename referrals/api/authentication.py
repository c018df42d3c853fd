"""Who is calling, for the API and the desk alike: the product's own tokens, or the provider's JWT access tokens;
the failures counted by client address where every API process sees them, and each in the access trail. Valid
credentials always pass; failing attempts from an address past its limit are answered 429."""

from dataclasses import dataclass, field
from datetime import timedelta

import structlog
from fastapi import Request
from sqlmodel.ext.asyncio.session import AsyncSession

from referrals.api import oidc
from referrals.api.client_address import client_address
from referrals.api.trail import record
from referrals.store import auth_limits, users
from referrals.store.tables import AppUser

log = structlog.get_logger()
CLIENT_WINDOW = timedelta(minutes=1)


@dataclass
class Refusal(Exception):
    """Answered 401 (or 429) by the API, and as a page by the desk."""

    status: int
    message: str
    reason: str
    headers: dict[str, str] = field(default_factory=dict)


async def throttle(
    request: Request, session: AsyncSession, *, action: str, failures: int | None = None, who: str | None = None
) -> None:
    """A failing attempt from an address past its limit is answered 429, and not counted, so the wait it names
    holds. Only failing attempts come here: valid credentials always pass, whatever others did from the address."""
    settings = request.app.state.settings
    client = client_address(request)
    if failures is None:
        failures = await auth_limits.count(session, auth_limits.CLIENT, client, CLIENT_WINDOW)
    if failures >= settings.auth_failures_per_minute:
        wait = await auth_limits.retry_after(session, auth_limits.CLIENT, client, CLIENT_WINDOW)
        await record(request, action, "refused", who=who, details={"reason": "too_many_failures"})
        raise Refusal(
            429,
            "too many failed authentications from this client; try again later",
            "too_many_failures",
            {"Retry-After": str(wait)},
        )


async def failed(
    request: Request,
    session: AsyncSession,
    *,
    action: str,
    reason: str,
    message: str,
    account: AppUser | None = None,
    who: str | None = None,
    status: int = 401,
) -> Refusal:
    """Counts the failure against the client's address, never against the account it names: a token is 256
    random bits, so locking the account would stop no guessing and would let anyone lock its owner out. Records
    it in the trail (with the account named, if any) and answers the refusal to raise."""
    await auth_limits.failed(session, auth_limits.CLIENT, client_address(request))
    log.warning("authentication_failed", reason=reason, client=client_address(request), via=action)
    await record(request, action, "failed", user=account, who=who, details={"reason": reason})
    return Refusal(status, message, reason)


async def refuse_if_locked(request: Request, session: AsyncSession, user: AppUser, action: str) -> None:
    """Nothing here locks an account any more (failures count against the address); a lock set before still
    holds until its time passes or an admin unlocks it."""
    if auth_limits.locked(user):
        await record(request, action, "refused", user=user, details={"reason": "account_locked"})
        raise Refusal(
            401 if action == "authenticate" else 403,
            f"this account is locked after repeated failed sign-ins until "
            f"{user.locked_until:%Y-%m-%d %H:%M} UTC; an administrator can unlock it sooner",
            "account_locked",
        )


async def token_user(
    request: Request, session: AsyncSession, token: str | None, *, action: str, provider_tokens: bool = True
) -> AppUser:
    """The user of one of the product's tokens (or, at the API, a provider's access token)."""
    provider: oidc.Provider | None = request.app.state.oidc
    if token and provider is not None and provider_tokens and oidc.looks_like_jwt(token):
        return await provider_token_user(request, session, provider, token)
    user, failures = await users.authenticate(session, token or "", client_address(request), CLIENT_WINDOW)
    if user is None:
        # The same one round trip answers a valid token and a wrong one; only the wrong one meets the limit.
        named = users.account_named(token) if token else None
        await throttle(request, session, action=action, failures=failures, who=named)
        account = await users.find(session, named) if named else None
        raise await failed(
            request,
            session,
            action=action,
            reason="missing" if not token else "rejected",
            account=account,
            who=named,
            message="missing bearer token: send 'Authorization: Bearer <token>'"
            if not token
            else "invalid, expired or revoked bearer token",
        )
    await refuse_if_locked(request, session, user, action)
    return user


async def provider_token_user(request: Request, session: AsyncSession, provider: oidc.Provider, token: str) -> AppUser:
    """The token is checked before the address's limit, so that a genuine one passes whatever others did from
    there; one the provider did not sign (or that has expired) meets the limit first. A genuine token refused here
    (no second factor, no role, revoked) is answered with its reason and counted."""
    settings = request.app.state.settings
    try:
        claims = await provider.access_token_claims(token)
    except oidc.Refused as refused:
        await throttle(request, session, action="authenticate")
        raise await failed(
            request,
            session,
            action="authenticate",
            reason=refused.reason,
            message=f"the provider's access token was refused: {refused.message}",
        ) from None
    except oidc.ProviderUnavailable as exc:
        log.warning("oidc_provider_unavailable", error=str(exc))
        raise Refusal(
            503,
            "the identity provider cannot be reached to check this token; try again shortly",
            "provider_unavailable",
        ) from None
    identity = oidc.Identity.from_claims(claims, settings, provider.group_roles)
    if not oidc.mfa_met(claims, settings):
        raise await failed(
            request,
            session,
            action="authenticate",
            reason="mfa",
            who=identity.subject,
            message="the access token was issued without multi-factor authentication",
        )
    if not identity.roles:
        raise await failed(
            request,
            session,
            action="authenticate",
            reason="no_role",
            who=identity.subject,
            message="the access token's claims map to no role here",
            status=403,
        )
    try:
        user, changed = await users.from_identity(session, identity)
    except users.AccountTaken:
        raise await failed(
            request,
            session,
            action="authenticate",
            reason="email_taken",
            who=identity.subject,
            message="the token's e-mail belongs to another user here; ask an administrator",
            status=403,
        ) from None
    if changed:
        await record(
            request, "user_updated", "allowed", user=user, details=users.change_summary(changed, "access_token")
        )
    if not user.active:
        raise await failed(
            request,
            session,
            action="authenticate",
            reason="revoked",
            account=user,
            message="this account has been revoked",
        )
    await refuse_if_locked(request, session, user, "authenticate")
    return user
