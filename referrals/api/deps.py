"""Typed dependencies: the session, the caller, permissions and case visibility."""

from collections.abc import AsyncIterator
from typing import Annotated

import structlog
from fastapi import Depends, Request
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import or_
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client

from referrals.api import authentication, trail
from referrals.api.errors import ApiError
from referrals.config import Settings
from referrals.domain.enums import Role
from referrals.domain.messages import Actor, Key
from referrals.domain.permissions import allowed, describe
from referrals.domain.policy import Policy
from referrals.store import cases
from referrals.store.tables import AppUser, Incident

log = structlog.get_logger()


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.sessions() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_client(request: Request) -> Client:
    return request.app.state.temporal


def get_policy(request: Request) -> Policy:
    return request.app.state.policy


SettingsDep = Annotated[Settings, Depends(get_settings)]
ClientDep = Annotated[Client, Depends(get_client)]
PolicyDep = Annotated[Policy, Depends(get_policy)]

bearer = HTTPBearer(auto_error=False)


async def current_user(
    request: Request,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> AppUser:
    # Never the token itself in a log or the trail: only that it was missing or not accepted, and from where.
    try:
        return await authentication.token_user(
            request, session, credentials.credentials if credentials else None, action="authenticate"
        )
    except authentication.Refusal as refusal:
        headers = refusal.headers | ({"WWW-Authenticate": "Bearer"} if refusal.status == 401 else {})
        raise ApiError(refusal.status, refusal.message, headers=headers) from None


CurrentUser = Annotated[AppUser, Depends(current_user)]


def actor_of(user: AppUser) -> Actor:
    return Actor(
        user_id=user.id, name=user.name, roles=[Role(r) for r in user.roles], district=user.district, star=user.star
    )


def permits(operation: str):  # an Operation, or a step's name
    """A route dependency refusing callers whose roles may not take this operation."""

    async def check(request: Request, user: CurrentUser) -> None:
        if not allowed(operation, [Role(r) for r in user.roles]):
            await trail.record(
                request,
                trail.action_of(request),
                trail.REFUSED,
                user=user,
                case_id=request.path_params.get("case_id"),
                details={"operation": str(operation)},
            )
            raise ApiError(403, f"{operation} needs the role {describe(operation)}")

    return Depends(check)


def visibility(user: AppUser):
    """SQL condition for the cases a user may see; None when the user sees every case.

    Officers see the cases they filed or appear in; supervisors their district; others all.
    """
    roles = set(user.roles)
    if roles - {Role.OFFICER, Role.SUPERVISOR}:
        return None
    conditions = []
    if Role.OFFICER in roles:
        conditions.append(col(Incident.filed_by_id) == user.id)
        if user.star:
            conditions.append(col(Incident.officer_stars).contains([user.star]))
    if Role.SUPERVISOR in roles and user.district:
        conditions.append(col(Incident.district) == user.district)
    return or_(*conditions) if conditions else col(Incident.id).is_(None)


def log_case(request: Request, case_id: str, case_number: str, workflow_id: str) -> None:
    """Puts the case on this request's log lines: those the route writes, and the access line, which the
    middleware writes outside the route's context (so it reads them from the request's state)."""
    fields = dict(case_id=case_id, case_number=case_number, workflow_id=workflow_id)
    structlog.contextvars.bind_contextvars(**fields)
    request.state.log_fields = fields


async def visible_incident(request: Request, case_id: Key, user: CurrentUser, session: SessionDep) -> Incident:
    return await _visible(request, case_id, user, session, with_case=True)


async def visible_for_step(request: Request, case_id: Key, user: CurrentUser, session: SessionDep) -> Incident:
    """`visible_incident` without the case's JSON: a step reads the case once, after it (`take_step`)."""
    return await _visible(request, case_id, user, session, with_case=False)


async def _visible(request: Request, case_id: Key, user: CurrentUser, session: SessionDep, with_case: bool) -> Incident:
    incident = await cases.get_incident(session, case_id, visible_to=visibility(user), with_case=with_case)
    # A case the caller may not see answers exactly like one that does not exist.
    if incident is None:
        await trail.record(request, trail.action_of(request), trail.NOT_FOUND, user=user, case_id=case_id)
        raise ApiError(404, f"no incident {case_id}")
    log_case(request, incident.id, incident.case_number, incident.workflow_id)
    return incident


VisibleIncident = Annotated[Incident, Depends(visible_incident)]
StepIncident = Annotated[Incident, Depends(visible_for_step)]


_KNOWN: dict[int, frozenset[str]] = {}


async def known_query_parameters(request: Request) -> None:
    """A query parameter the operation does not declare is refused (422, naming it), as an unknown body
    field is: a typo such as `?stgae=` would otherwise list every case as if unfiltered."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or not route.include_in_schema:
        return
    known = _KNOWN.get(id(route))
    if known is None:
        known = _KNOWN[id(route)] = frozenset(_query_names(route.dependant))
    unknown = [name for name in request.query_params if name not in known]
    if unknown:
        raise ApiError(
            422,
            "; ".join(f"{name or '(no name)'}: unknown parameter" for name in unknown),
            [{"field": name, "message": "unknown parameter"} for name in unknown],
        )


def _query_names(dependant) -> set[str]:
    names = {param.alias for param in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names
