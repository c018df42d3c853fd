"""Publishing a snapshot of the public figures: counted as of the month's start, suppressed, kept."""

import time

import structlog
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio import activity

from referrals import heap
from referrals.domain.policy import Policy
from referrals.domain.public_figures import cutoff, period_end, tables
from referrals.domain.publication import Figures, PublishRequest, SnapshotEntry, suppress
from referrals.store import public_snapshots

log = structlog.get_logger()


class Publisher:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], policy: Policy) -> None:
        self._sessions = sessions
        self._policy = policy

    def figures(self, tally, as_of) -> Figures:
        policy, zone = self._policy, self._policy.zone
        raw = tables(
            tally,
            last_month=period_end(as_of, zone),
            zone=zone,
            districts=[(d.code, d.name) for d in policy.districts],
            statutes=[(s.citation, s.title) for s in policy.statutes],
            agencies=[(a.code, a.name) for a in policy.touhy.agencies],
            district_word=policy.words.district,
        )
        threshold = policy.publication.small_cell_threshold
        return Figures(
            period_end=period_end(as_of, zone),
            threshold=threshold,
            jurisdiction=policy.jurisdiction,
            department=policy.department,
            tables=suppress(raw, threshold),
        )

    @activity.defn(name="publish_public_snapshot")
    async def publish(self, request: PublishRequest) -> SnapshotEntry:
        """Counts what was recorded before the start of the month of `as_of` and keeps the snapshot under
        `key`: a retry, or the same key again, stores nothing new and answers the snapshot kept."""
        zone, began = self._policy.zone, time.monotonic()
        async with self._sessions() as session:
            if (row := await public_snapshots.kept(session, request.key)) is not None:  # a retry: nothing to count
                return public_snapshots.entry(row)
            with heap.paused():  # an object or more for each of the department's cases, and each chain's head
                tally = await public_snapshots.tally(session, cutoff(request.as_of, zone), zone)
                figures = self.figures(tally, request.as_of)
                row = await public_snapshots.keep(
                    session,
                    key=request.key,
                    published_at=request.as_of,
                    published_on=request.as_of.astimezone(zone).date(),
                    period_end=figures.period_end,
                    figures=figures.as_json(),
                )
        log.info(
            "public_snapshot_kept",
            snapshot_id=row.id,
            period_end=row.period_end,
            sha256=row.sha256,
            key=request.key,
            seconds=round(time.monotonic() - began, 3),  # counting and keeping it
        )
        return public_snapshots.entry(row)
