"""Users: admins create them (the token is shown once); anyone reads their own record."""

from fastapi import APIRouter

from api.deps import CurrentUser, SessionDep, permits
from api.errors import ApiError, documented
from api.views import NewUserOut, UserOut, user_out
from domain.messages import NewUser
from domain.permissions import Operation
from store import users

router = APIRouter(prefix="/users", tags=["users"], responses=documented(401, 429, 503))


@router.post("", status_code=201, response_model=NewUserOut, dependencies=[permits(Operation.MANAGE_USERS)],
             responses=documented(403, 409, 413, 422))
async def create_user(body: NewUser, session: SessionDep):
    try:
        user, token = await users.create_user(session, body)
    except users.EmailTaken:
        raise ApiError(409, f"a user with e-mail {body.email} exists already",
                       [{"field": "email", "message": "taken"}]) from None
    return NewUserOut(**user_out(user).model_dump(), token=token)


@router.get("/me", response_model=UserOut)
async def me(user: CurrentUser):
    return user_out(user)
