"""The public figures held in the API's memory, made once per snapshot: a public read runs no query.

A background task asks PostgreSQL every REFERRALS_PUBLIC_REFRESH_SECONDS for the newest snapshot's id and how many
are kept, and loads what changed; a publication through this API refreshes at once."""

import asyncio
import hashlib
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import structlog
from sqlalchemy import func
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import select

from referrals.api import public_documents as documents
from referrals.domain.publication import Figures, SnapshotEntry
from referrals.store import public_snapshots
from referrals.store.tables import PublicSnapshotRow

log = structlog.get_logger()
OLDER_KEPT = 32  # older snapshots held in memory once read (each is immutable)


@dataclass(frozen=True)
class Rendered:
    body: bytes
    media_type: str
    etag: str

    @classmethod
    def of(cls, body: bytes, media_type: str) -> "Rendered":
        return cls(body, media_type, f'"{hashlib.sha256(body).hexdigest()[:40]}"')


@dataclass(frozen=True)
class Snapshot:
    entry: SnapshotEntry
    figures: Figures
    json: Rendered
    csv: Rendered


JSON, CSV, HTML = "application/json", "text/csv; charset=utf-8", "text/html; charset=utf-8"


def _snapshot(row: PublicSnapshotRow, *, latest: bool) -> Snapshot:
    assert row.id is not None  # a stored snapshot: the database numbered it
    figures = Figures.from_json(row.figures)
    return Snapshot(
        entry=public_snapshots.entry(row),
        figures=figures,
        json=Rendered.of(documents.stats_json(row, figures, latest=latest), JSON),
        csv=Rendered.of(documents.stats_csv(row.published_on, figures), CSV),
    )


class PublicFigures:
    def __init__(self, sessions, render_page: Callable[[Snapshot | None], bytes]) -> None:
        self._sessions = sessions
        self._render_page = render_page
        self._seen: tuple[int | None, int] | None = None  # (newest id, how many kept) when last loaded
        self._older: OrderedDict[int, Snapshot] = OrderedDict()
        self._lock = asyncio.Lock()
        self.latest: Snapshot | None = None
        self.ids: frozenset[int] = frozenset()
        self.listing = Rendered.of(documents.listing_json([]), JSON)
        self.page = Rendered.of(render_page(None), HTML)
        self.dictionary = Rendered.of(documents.dictionary_csv(None), CSV)

    async def refresh(self) -> bool:
        """Loads the newest snapshot and the list when either changed since the last look; True if it did."""
        async with self._lock, self._sessions() as session:
            newest = await public_snapshots.latest_id(session)
            kept = (await session.exec(select(func.count()).select_from(PublicSnapshotRow))).one()
            if (newest, kept) == self._seen:
                return False
            entries = [SnapshotEntry(*row) for row in await public_snapshots.listing(session)]
            row = await public_snapshots.get(session, newest) if newest is not None else None
        latest = _snapshot(row, latest=True) if row is not None else None
        self.latest, self.ids = latest, frozenset(e.id for e in entries)
        self.listing = Rendered.of(documents.listing_json(entries), JSON)
        self.page = Rendered.of(self._render_page(latest), HTML)
        self.dictionary = Rendered.of(documents.dictionary_csv(latest.figures if latest else None), CSV)
        for gone in set(self._older) - self.ids:  # withdrawn (deleted) snapshots stop being served
            del self._older[gone]
        self._seen = (newest, kept)
        log.info("public_snapshot_loaded", snapshot_id=newest, snapshots=kept)
        return True

    async def snapshot(self, snapshot_id: int) -> Snapshot | None:
        """A kept snapshot by id (JSON and CSV links of its own); None for one not in the list (no query)."""
        if snapshot_id not in self.ids:
            return None
        if snapshot_id in self._older:
            self._older.move_to_end(snapshot_id)
            return self._older[snapshot_id]
        async with self._sessions() as session:
            row = await public_snapshots.get(session, snapshot_id)
        if row is None:
            return None
        found = self._older[snapshot_id] = _snapshot(row, latest=False)
        while len(self._older) > OLDER_KEPT:
            self._older.popitem(last=False)
        return found

    async def refresh_quietly(self) -> None:
        """A failed look (PostgreSQL away) is logged: the snapshot held is served until the next look succeeds."""
        try:
            await self.refresh()
        except (SQLAlchemyError, OSError) as exc:
            log.warning("public_snapshot_refresh_failed", error=type(exc).__name__)

    async def poll(self, seconds: float) -> None:
        """Runs for the API's lifetime."""
        while True:
            await asyncio.sleep(seconds)
            await self.refresh_quietly()
