"""The Cases page: every case the reader may see, searched and filtered as GET /incidents does."""

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from pydantic import TypeAdapter

from referrals.api import trail
from referrals.api.deps import PolicyDep, SessionDep
from referrals.api.errors import ApiError
from referrals.api.listing import CaseQuery, Day, find_cases
from referrals.domain.enums import Stage
from referrals.domain.messages import District, Key
from referrals.store.tables import Incident
from referrals.web.auth import DeskDep
from referrals.web.pages import options, render

router = APIRouter(prefix="/desk", include_in_schema=False)
PAGE = 25


@router.get("/cases")
async def case_list(
    request: Request,
    desk: DeskDep,
    session: SessionDep,
    policy: PolicyDep,
    q: Annotated[str, Query(max_length=200)] = "",
    stage: Annotated[str, Query(max_length=40)] = "",
    district: Annotated[str, Query(max_length=10)] = "",
    occurred_from: Annotated[str, Query(max_length=10)] = "",
    occurred_to: Annotated[str, Query(max_length=10)] = "",
    cursor: Key = "",
):
    """The search form sends every field, blank ones as empty strings: those filter nothing."""
    searched = {
        k: v.strip()
        for k, v in dict(
            q=q, stage=stage, district=district, occurred_from=occurred_from, occurred_to=occurred_to
        ).items()
        if v.strip()
    }
    rows: list[Incident]
    rows, next_cursor, problem = [], None, None
    try:
        query = CaseQuery(
            q=searched.get("q"),
            stage=_parse(Stage, "stage", searched),
            district=_parse(_district, "district", searched),
            occurred_from=_parse(_day, "occurred_from", searched),
            occurred_to=_parse(_day, "occurred_to", searched),
            limit=PAGE,
            cursor=cursor or None,
        )
        rows, next_cursor = await find_cases(session, desk.user, policy, query)
    except ApiError as refused:
        problem = refused.message
    else:  # the search asked for, never the cases found
        await trail.allowed(request, desk.user, details={**searched, **({"cursor": cursor} if cursor else {})})
    more = f"?{urlencode({**searched, 'cursor': next_cursor})}" if next_cursor else None
    return render(
        request,
        "cases.html",
        422 if problem else 200,
        active="cases",
        rows=rows,
        searched=searched,
        more=more,
        problem=problem,
        stages=options(Stage),
        first_page=not cursor,
    )


def _district(value: str) -> str:
    return TypeAdapter(District).validate_python(value)


def _day(value: str):
    return TypeAdapter(Day).validate_python(value)  # YYYY-MM-DD, as GET /incidents takes it


def _parse(kind, name: str, searched: dict):
    if name not in searched:
        return None
    try:
        return kind(searched[name])
    except ValueError:
        raise ApiError(422, f"{name}: '{searched[name]}' is not a valid value") from None
