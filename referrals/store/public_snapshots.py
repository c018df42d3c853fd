"""The public snapshots: reading what the figures count (audit events before a cutoff), and keeping each
published snapshot (public_snapshot, never changed)."""

import hashlib
import json
from datetime import date, datetime

from sqlalchemy import func, literal_column
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from referrals.domain.public_figures import KINDS, CaseAsOf, Event, Tally, fold
from referrals.domain.publication import SnapshotEntry
from referrals.store.tables import CaseEventRow, Incident, PublicSnapshotRow, core_table

# Only the facts the figures need, never a narrative, a name or a number: read in the database.
_FACTS = func.jsonb_build_object(
    "occurred_at",
    CaseEventRow.data["occurred_at"],
    "agencies",
    func.jsonb_path_query_array(CaseEventRow.data, literal_column("'$.federal_personnel[*].agency'")),
    "corrected",
    func.jsonb_path_query_array(
        CaseEventRow.data,
        literal_column("""'$.corrected[*] ? (@.field == "occurred_at" || @.field starts with "federal_personnel[")'"""),
    ),
    "agency",
    CaseEventRow.data["agency"],
    "statutes",
    func.jsonb_path_query_array(CaseEventRow.data, literal_column("'$.allegations[*].statute'")),
    "stage",
    CaseEventRow.data["stage"],
    "decision",
    CaseEventRow.data["decision"],
    "decided_at",
    CaseEventRow.data["decided_at"],
    "outcome",
    CaseEventRow.data["outcome"],
    "decided_on",
    CaseEventRow.data["decided_on"],
)


def canonical(figures: dict) -> bytes:
    return json.dumps(figures, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sha256_of(figures: dict) -> str:
    return hashlib.sha256(canonical(figures)).hexdigest()


async def tally(session: AsyncSession, before: datetime, zone) -> Tally:
    """What the audit trail held before `before`: the cases filed before it, as they then stood, and the
    referrals, charging decisions and outcomes recorded before it."""
    found = Tally()
    cases: dict[str, CaseAsOf] = {}
    rows = await session.exec(
        select(Incident.id, Incident.district).where(Incident.filed_at < before).order_by(Incident.id)
    )
    for case_id, district in rows:
        cases[case_id] = CaseAsOf(district=district)
    events = await session.exec(
        select(CaseEventRow.case_id, CaseEventRow.kind, CaseEventRow.at, _FACTS)
        .join(Incident, col(Incident.id) == CaseEventRow.case_id)
        .where(Incident.filed_at < before, CaseEventRow.at < before, col(CaseEventRow.kind).in_(KINDS))
        .order_by(CaseEventRow.case_id, col(CaseEventRow.seq))
    )
    for case_id, kind, at, facts in events:
        fold(cases[case_id], Event(kind, at, facts), found, zone)
    found.cases = list(cases.values())
    return found


async def keep(
    session: AsyncSession, *, key: str, published_at: datetime, published_on: date, period_end: str, figures: dict
) -> PublicSnapshotRow:
    """Stores a snapshot once per key: a second write with the same key (a retried activity) keeps the first."""
    table = core_table(PublicSnapshotRow)
    conn = await session.connection()
    await conn.execute(
        pg_insert(table)
        .values(
            key=key,
            published_at=published_at,
            published_on=published_on,
            period_end=period_end,
            figures=figures,
            sha256=sha256_of(figures),
        )
        .on_conflict_do_nothing(index_elements=["key"])
    )
    await session.commit()
    return (await session.exec(select(PublicSnapshotRow).where(PublicSnapshotRow.key == key))).one()


def entry(row: PublicSnapshotRow) -> SnapshotEntry:
    assert row.id is not None  # a stored snapshot: the database numbered it
    return SnapshotEntry(
        id=row.id,
        published_on=row.published_on,
        published_at=row.published_at,
        period_end=row.period_end,
        sha256=row.sha256,
    )


def _newest_first():
    return PublicSnapshotRow.published_at.desc(), PublicSnapshotRow.id.desc()


async def latest_id(session: AsyncSession) -> int | None:
    return (await session.exec(select(PublicSnapshotRow.id).order_by(*_newest_first()).limit(1))).first()


async def get(session: AsyncSession, snapshot_id: int) -> PublicSnapshotRow | None:
    return await session.get(PublicSnapshotRow, snapshot_id)


async def listing(session: AsyncSession) -> list[tuple[int, date, datetime, str, str]]:
    """Every snapshot kept, newest first: (id, published_on, published_at, period_end, sha256)."""
    rows = await session.exec(
        select(  # type: ignore[call-overload]  # sqlmodel types select() for up to four columns; it takes any number
            PublicSnapshotRow.id,
            PublicSnapshotRow.published_on,
            PublicSnapshotRow.published_at,
            PublicSnapshotRow.period_end,
            PublicSnapshotRow.sha256,
        ).order_by(*_newest_first())
    )
    return [tuple(row) for row in rows]
