"""The access trail, for auditors: who read, searched, downloaded, signed in or used the codec, by case, person and
time; JSON, or CSV (Accept: text/csv) with each entry's hashes so the chain can be checked offline."""

import csv
import io
import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, cast
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request, Response
from pydantic import AfterValidator, BaseModel, Field, StringConstraints, WithJsonSchema
from sqlalchemy import or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from referrals.api import trail
from referrals.api.deps import CurrentUser, SessionDep, permits
from referrals.api.errors import ApiError, documented
from referrals.domain.permissions import Operation
from referrals.store import access_log, cases
from referrals.store.tables import AccessEntryRow, AppUser

router = APIRouter(tags=["access trail"], responses=documented(401, 403, 422, 429, 503))


# RFC 3339's date-time: a day, a time to the second or finer, and its offset from UTC.
DATE_TIME = re.compile(
    r"(?P<day>[0-9]{4}-[0-9]{2}-[0-9]{2})[Tt](?P<time>[0-9]{2}:[0-9]{2}:[0-9]{2})(?:\.(?P<fraction>[0-9]+))?"
    r"(?P<offset>[Zz]|[+-][0-9]{2}:[0-9]{2})"
)


def _moment(value: str) -> datetime:
    if found := DATE_TIME.fullmatch(value):
        offset = "+00:00" if found["offset"] in ("Z", "z") else found["offset"]
        fraction = f".{(found['fraction'] or '')[:6]:0<6}"  # finer than a microsecond: to the microsecond
        try:
            return datetime.fromisoformat(f"{found['day']}T{found['time']}{fraction}{offset}")
        except ValueError:
            pass
    raise ValueError("is not a date and time of the calendar with its offset, as 2026-01-31T09:30:00-06:00")


# A time as RFC 3339's date-time, nothing else: not a number of seconds, as a plain datetime takes, and never without
# its offset from UTC. Declared `format: date-time` (issue 33), and read as the schema reads it (a leap second,
# which no clock here records, is refused).
Moment = Annotated[str, WithJsonSchema({"type": "string", "format": "date-time"}), AfterValidator(_moment)]
# Text PostgreSQL can hold: no NUL character.
Name = Annotated[str, StringConstraints(min_length=1, max_length=320, pattern=r"^[^\x00]+$")]
CSV = "text/csv"
COLUMNS = (
    "seq",
    "at",
    "user_id",
    "user_name",
    "who",
    "client",
    "component",
    "action",
    "outcome",
    "case_id",
    "target",
    "details",
    "prev_hash",
    "hash",
)


class AccessEntryOut(BaseModel):
    seq: int = Field(description="the entry's place in the one chain of every entry")
    at: datetime
    user_id: str | None
    user_name: str | None
    who: str | None = Field(description="the identity attempted when nobody was signed in")
    client: str = Field(description="the client's address")
    component: str = Field(description="api, desk, codec or auth")
    action: str = Field(description="what was asked: read_case, list_cases, download_evidence, authenticate, …")
    outcome: str = Field(description="allowed, refused, not_found or failed")
    case_id: str | None
    target: str | None = Field(description="the document or evidence item, if one was asked for")
    details: dict = Field(description="the filters of a search or listing (never its results), the bytes sent, …")
    prev_hash: str
    hash: str = Field(description="SHA-256 of the entry's canonical text and prev_hash (referrals/store/access_log.py)")


class AccessLogPage(BaseModel):
    """Entries oldest first."""

    items: list[AccessEntryOut]
    next_after: int | None = Field(description="`after` for the next page; null on the last page")


@dataclass(frozen=True)
class TrailQuery:
    case: str | None = None  # a case id or case number
    user: str | None = None  # a user id or e-mail (or an identity attempted while nobody was signed in)
    since: datetime | None = None
    until: datetime | None = None
    after: int | None = None
    limit: int = 500
    newest_first: bool = False  # the desk's order; GET /access-log's is oldest first, `after` its cursor

    def filters(self) -> dict[str, str]:
        given = dict(
            case=self.case,
            user=self.user,
            since=self.since and self.since.isoformat(),
            until=self.until and self.until.isoformat(),
            after=self.after and str(self.after),
        )
        return {name: value for name, value in given.items() if value}


async def find_entries(session: AsyncSession, query: TrailQuery) -> tuple[list[AccessEntryRow], int | None]:
    """A page of entries and the `after` of the next page (None: the last). Refuses (422, naming it) an `until`
    not after `since`."""
    if query.since and query.until and query.until <= query.since:
        raise ApiError(422, "until: must be after since", [{"field": "until", "message": "not after since"}])
    case_id = user_id = who = None
    if query.case:
        found = await cases.find(session, query.case)
        case_id = found[0].id if found else query.case  # a read of a case that does not exist names its id
    if query.user:
        user = (
            await session.exec(
                select(AppUser).where(or_(col(AppUser.id) == query.user, col(AppUser.email) == query.user.lower()))
            )
        ).first()
        user_id, who = (user.id, None) if user else (None, query.user)
    rows = await access_log.query(
        session,
        case_id=case_id,
        user_id=user_id,
        who=who,
        since=query.since,
        until=query.until,
        after_seq=query.after,
        limit=query.limit + 1,
        newest_first=query.newest_first,
    )
    page = rows[: query.limit]
    return page, page[-1].seq if len(rows) > query.limit else None


def entry_out(row: AccessEntryRow) -> AccessEntryOut:
    return AccessEntryOut(**row.model_dump(exclude={"details"}), details=json.loads(row.details))


def as_csv(rows: list[AccessEntryRow]) -> str:
    """One row per entry under a header row; times in UTC as each hash covers them, details as their canonical
    JSON, an empty cell for none: with seq, prev_hash and hash, enough to check the chain offline."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow(
            [access_log.at_text(row.at) if name == "at" else _cell(name, getattr(row, name)) for name in COLUMNS]
        )
    return out.getvalue()


FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _cell(name: str, value):
    """A name from the identity provider that a spreadsheet would run as a formula gets a leading apostrophe
    (OWASP's CSV injection advice); take it off before checking that row's hash."""
    if name in ("user_name", "who") and isinstance(value, str) and value.startswith(FORMULA):
        return "'" + value
    return value


def csv_response(rows: list[AccessEntryRow], next_link: str | None, filename: str = "access-log.csv") -> Response:
    headers = {"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"}
    if next_link:
        headers["Link"] = f'<{next_link}>; rel="next"'
    return Response(as_csv(rows).encode(), media_type=f"{CSV}; charset=utf-8", headers=headers)


_ANSWERS: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {CSV: {"schema": {"type": "string"}}},
        "description": "the entries; as CSV (a header row, one row per entry) with Accept: text/csv",
    }
}


@router.get(
    "/access-log",
    response_model=AccessLogPage,
    responses=_ANSWERS,
    dependencies=[permits(Operation.READ_ACCESS_LOG), trail.SETTLED],
    summary="Who read, searched, downloaded, signed in or used the codec (auditors)",
)
async def read_access_log(
    request: Request,
    reader: CurrentUser,
    session: SessionDep,
    case: Annotated[Name | None, Query(description="a case id or case number")] = None,
    user: Annotated[Name | None, Query(description="a user id or e-mail")] = None,
    since: Annotated[
        Moment | None,
        Query(description="entries at or after this time (RFC 3339, with its offset: 2026-01-31T09:30:00-06:00)"),
    ] = None,
    until: Annotated[Moment | None, Query(description="entries before this time (RFC 3339, with its offset)")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
    after: Annotated[int | None, Query(ge=0, le=2**63 - 1, description="next_after of the page before")] = None,
):
    # Moment is a string to the schema; its validator makes the datetime.
    query = TrailQuery(
        case=case,
        user=user,
        since=cast(datetime | None, since),
        until=cast(datetime | None, until),
        after=after,
        limit=limit,
    )
    rows, next_after = await find_entries(session, query)
    await trail.begin(request, reader, details=trail.filters(request))  # reading the trail is itself an entry
    if CSV in request.headers.get("accept", ""):
        following = {**request.query_params, "after": str(next_after)} if next_after is not None else None
        return csv_response(rows, f"/access-log?{urlencode(following)}" if following else None)
    return AccessLogPage(items=[entry_out(row) for row in rows], next_after=next_after)
