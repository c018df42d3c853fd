"""Users: admins create them (the token is shown once), revoke them and unlock them; anyone reads their own
record. Every administration action is in the access trail."""

from types import SimpleNamespace

from fastapi import APIRouter, Request

from referrals.api.deps import CurrentUser, SessionDep, permits
from referrals.api.errors import ApiError, documented
from referrals.api.trail import record
from referrals.api.views import NewUserOut, UserOut, user_out
from referrals.domain.messages import Key, NewUser
from referrals.domain.permissions import Operation
from referrals.store import auth_limits, users, web_sessions

router = APIRouter(prefix="/users", tags=["users"], responses=documented(401, 429, 503))
ADMIN = [permits(Operation.MANAGE_USERS)]


@router.post(
    "", status_code=201, response_model=NewUserOut, dependencies=ADMIN, responses=documented(403, 409, 413, 422)
)
async def create_user(request: Request, body: NewUser, session: SessionDep, user: CurrentUser):
    admin = SimpleNamespace(id=user.id, name=user.name)  # now: a refused insert expires the session's objects
    try:
        user, token = await users.create_user(session, body)
    except users.EmailTaken:
        await record(request, "user_create", "refused", user=admin, details={"reason": "email_taken"})
        raise ApiError(
            409, f"a user with e-mail {body.email} exists already", [{"field": "email", "message": "taken"}]
        ) from None
    await record(request, "user_create", "allowed", user=admin, target=user.id, details={"roles": user.roles})
    return NewUserOut(**user_out(user).model_dump(), token=token)


async def _user(request: Request, session, admin, user_id: str, action: str):
    user = await users.find(session, user_id)
    if user is None:
        await record(request, action, "not_found", user=admin, target=user_id)
        raise ApiError(404, f"no user {user_id}")
    return user


@router.post("/{user_id}/revoke", response_model=UserOut, dependencies=ADMIN, responses=documented(403, 404, 422))
async def revoke_user(request: Request, user_id: Key, session: SessionDep, admin: CurrentUser):
    """Revokes the user's token and provider sign-in at once, and ends their desk sessions."""
    user = await _user(request, session, admin, user_id, "token_revoke")
    revoked = await users.revoke(session, user.id)
    assert revoked is not None  # the user _user just found
    ended = await web_sessions.close_all(session, user.id)
    await record(request, "token_revoke", "allowed", user=admin, target=user.id, details={"sessions_ended": ended})
    return user_out(revoked)


@router.post("/{user_id}/unlock", response_model=UserOut, dependencies=ADMIN, responses=documented(403, 404, 422))
async def unlock_user(request: Request, user_id: Key, session: SessionDep, admin: CurrentUser):
    """Unlocks an account locked after failed sign-ins, and forgets those failures."""
    user = await _user(request, session, admin, user_id, "account_unlock")
    was = user.locked_until
    await auth_limits.unlock(session, user)
    await record(
        request,
        "account_unlock",
        "allowed",
        user=admin,
        target=user.id,
        details={"was_locked_until": was.isoformat() if was else None},
    )
    return user_out(user)


@router.get("/me", response_model=UserOut)
async def me(user: CurrentUser):
    return user_out(user)
