"""The public figures, for anyone, with no sign-in: the latest published snapshot (never live data) as JSON, CSV
and a page, the data dictionary and every snapshot kept, all served from memory (referrals/api/public_cache.py). An admin
publishes a snapshot at once."""

import uuid
from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import Response

from referrals.api import trail
from referrals.api.deps import ClientDep, CurrentUser, SettingsDep, permits
from referrals.api.errors import ApiError, documented
from referrals.api.public_cache import Rendered, Snapshot
from referrals.api.public_documents import PublicStats, SnapshotList, SnapshotListed
from referrals.domain.permissions import Operation
from referrals.domain.publication import Table
from referrals.web.pages import SECURITY_HEADERS
from referrals.workflows.publication import NOW_PREFIX, PublishStatsWorkflow

router = APIRouter(prefix="/public", tags=["public"])

LATEST_MAX_AGE, KEPT_MAX_AGE = 300, 86_400  # a kept snapshot never changes; the latest may, once a day
NONE_YET = (
    "no snapshot of the public figures has been published yet: the schedule publishes the first, or an "
    "admin does at once (POST /public/snapshots)"
)
_HEADERS = {k: v for k, v in SECURITY_HEADERS.items() if k != "Cache-Control"}


def _answer(request: Request, rendered: Rendered, max_age: int = LATEST_MAX_AGE, status: int = 200) -> Response:
    headers = _HEADERS | {"ETag": rendered.etag, "Cache-Control": f"public, max-age={max_age}"}
    asked = request.headers.get("if-none-match")
    if (
        asked
        and status == 200
        and (asked.strip() == "*" or rendered.etag in {tag.strip().removeprefix("W/") for tag in asked.split(",")})
    ):
        return Response(status_code=304, headers=headers)
    return Response(rendered.body, status_code=status, media_type=rendered.media_type, headers=headers)


def _latest(request: Request) -> Snapshot:
    latest = request.app.state.public.latest
    if latest is None:
        raise ApiError(404, NONE_YET)
    return latest


@router.get("/stats", response_model=PublicStats, responses=documented(404))
async def stats(request: Request):
    """The latest snapshot: one-way tables of counts, every count from 1 to the threshold less one suppressed."""
    return _answer(request, _latest(request).json)


@router.get("/stats.csv", response_class=Response, responses={200: {"content": {"text/csv": {}}}, **documented(404)})
async def stats_csv(request: Request):
    """The latest snapshot in long format: published_on, period_end, table, category, label, value, suppressed."""
    return _answer(request, _latest(request).csv)


@router.get("/stats/dictionary.csv", response_class=Response, responses={200: {"content": {"text/csv": {}}}})
async def dictionary(request: Request):
    """The data dictionary: each column of the CSV and each table, with its type and meaning."""
    return _answer(request, request.app.state.public.dictionary)


@router.get("/", response_class=Response, include_in_schema=False)
async def page(request: Request):
    public = request.app.state.public
    return _answer(request, public.page, status=200 if public.latest else 404)


@router.get("/snapshots", response_model=SnapshotList)
async def snapshots(request: Request):
    """Every snapshot kept, newest first, each with its JSON and CSV."""
    return _answer(request, request.app.state.public.listing, max_age=60)


async def _kept(request: Request, snapshot_id: int) -> Snapshot:
    found = await request.app.state.public.snapshot(snapshot_id)
    if found is None:
        raise ApiError(404, f"no snapshot {snapshot_id}")
    return found


@router.get(
    "/snapshots/{snapshot_id}.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}, **documented(404, 422)},
)
async def snapshot_csv(request: Request, snapshot_id: int):
    return _answer(request, (await _kept(request, snapshot_id)).csv, KEPT_MAX_AGE)


@router.get("/snapshots/{snapshot_id}", response_model=PublicStats, responses=documented(404, 422))
async def snapshot(request: Request, snapshot_id: int):
    return _answer(request, (await _kept(request, snapshot_id)).json, KEPT_MAX_AGE)


@router.post(
    "/snapshots",
    status_code=201,
    response_model=SnapshotListed,
    responses=documented(401, 403, 429, 503),
    dependencies=[permits(Operation.PUBLISH_FIGURES)],
)
async def publish_snapshot(request: Request, user: CurrentUser, client: ClientDep, settings: SettingsDep):
    """Publishes a snapshot now (admin): the figures through the end of last month, as the schedule would."""
    entry = await client.execute_workflow(
        PublishStatsWorkflow.run, id=f"{NOW_PREFIX}{uuid.uuid4()}", task_queue=settings.task_queue
    )
    await trail.record(
        request,
        "publish_snapshot",
        trail.ALLOWED,
        user=user,
        target=str(entry.id),
        details={"period_end": entry.period_end, "sha256": entry.sha256},
    )
    await request.app.state.public.refresh()
    return SnapshotListed(
        id=entry.id,
        published_on=entry.published_on,
        period_end=entry.period_end,
        sha256=entry.sha256,
        json=f"/public/snapshots/{entry.id}",
        csv=f"/public/snapshots/{entry.id}.csv",
    )


@dataclass(frozen=True)
class Bar:
    label: str
    value: int | None
    width: float  # in SVG units, of BAR_WIDTH


BAR_WIDTH = 320


def bars(table: Table) -> list[Bar]:
    """A horizontal bar for each shown cell, scaled to the largest; a suppressed cell has none."""
    peak = max((c.value or 0 for c in table.cells), default=0) or 1
    return [Bar(c.label, c.value, round(BAR_WIDTH * (c.value or 0) / peak, 1)) for c in table.cells]


def page_renderer(app):
    """Makes the public page of a snapshot (or of none yet) with the desk's templates, once per snapshot."""

    def render(snapshot: Snapshot | None) -> bytes:
        template = app.state.web_pages.get_template("public.html")
        return template.render(
            snapshot=snapshot, policy=app.state.policy, bars=bars, bar_width=BAR_WIDTH, none_yet=NONE_YET
        ).encode("utf-8")

    return render
