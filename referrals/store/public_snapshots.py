"""The public snapshots: reading what the figures count (audit events before a cutoff), and keeping each
published snapshot (public_snapshot, never changed)."""

import functools
import hashlib
import json
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, literal_column, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from referrals.domain import chain_roots
from referrals.domain.enums import Stage
from referrals.domain.public_figures import KINDS, CaseAsOf, Event, Tally, fold
from referrals.domain.publication import SnapshotEntry
from referrals.store import chain_heads
from referrals.store.tables import CaseEventRow, Incident, PublicSnapshotRow, core_table

# Only the facts the figures need, never a narrative, a name or a number, of every event counted (`folded`).
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


# The figures, read in the database from the same facts (referrals/domain/public_figures.py `fold` is their
# specification; tests/test_public_stats.py proves the two agree on every kind of case). What needs no fold is found
# here: each case's last stage, supervisor's agency and statutes (the greatest "<seq, 10 digits><value>" of its kind,
# in the C collation: no aggregate ordered within each case), and the referrals, charging decisions and outcomes by
# month in the department's time zone. Statutes and a filing's facts come as JSON text, decoded as fold reads them.
# Only what must be applied in order comes to Python: for the few cases with supplements, each filing event, to fold.
#
# Each case's facts are kept beside its trail by a trigger, in that form (case_tally, migration 0016): as of a cutoff
# they are the facts kept, unless the case had an event of those kinds since; only those cases' trails are read. The
# same trigger copies the events counted by month, with only what they are counted by (counted_event).
_FILINGS = ("case_filed", "supplement_filed")
_STAGE_SET = ("stage_changed", "tasks_reopened")
_PER_CASE_KINDS = (
    *_FILINGS,
    "supervisor_identification_recorded",
    "violation_report_recorded",
    *_STAGE_SET,
    "case_closed",
)
_EVENTS = """
    FROM case_event e JOIN incident i ON i.id = e.case_id
    WHERE i.filed_at < :before AND e.at < :before AND e.kind = ANY(:kinds)"""
_SEQ = "lpad(e.seq::text, 10, '0')"
_FILED_FACTS = """jsonb_strip_nulls(jsonb_build_object(
    'kind', e.kind,
    'occurred_at', e.data -> 'occurred_at',
    'agencies', jsonb_path_query_array(e.data, '$.federal_personnel[*].agency'),
    'corrected', CASE WHEN e.kind = 'supplement_filed' THEN jsonb_path_query_array(
        e.data, '$.corrected[*] ? (@.field == "occurred_at" || @.field starts with "federal_personnel[")'
    ) END
))"""
# A case's facts, each a "<seq><value>" or null: its stage, supervisor ("=agency", or "-" for none named), statutes (a
# JSON array) and filing (case_filed's facts, JSON), and how many filings it has. Read as they are kept: decoded in
# Python, which is quicker than in the query (200,000 cases: 1.2 s, against 2.2 s), and the same statutes only once.
_PER_CASE = text(
    """
    SELECT i.id, i.district, g.last_at >= :before, g.stage, g.supervisor, g.statutes, g.filed, g.filings
    FROM incident i LEFT JOIN case_tally g ON g.case_id = i.id
    WHERE i.filed_at < :before
    ORDER BY i.id"""
)
_PER_CASE_FROM_TRAIL = text(
    f"""
    SELECT i.id, i.district, false, g.stage, g.supervisor, g.statutes, g.filed, g.filings
    FROM incident i LEFT JOIN (
        SELECT i.id AS case_id,
            max(CASE WHEN e.kind = 'case_closed' THEN {_SEQ} || :closed
                WHEN e.kind = ANY(:stage_set) AND e.data ->> 'stage' <> ''
                THEN {_SEQ} || (e.data ->> 'stage') END COLLATE "C") AS stage,
            max(CASE WHEN e.kind = 'supervisor_identification_recorded'
                THEN {_SEQ} || coalesce('=' || (e.data ->> 'agency'), '-') END COLLATE "C") AS supervisor,
            max(CASE WHEN e.kind = 'violation_report_recorded'
                THEN {_SEQ} || jsonb_path_query_array(e.data, '$.allegations[*].statute')::text END COLLATE "C")
                AS statutes,
            max(CASE WHEN e.kind = 'case_filed' THEN {_SEQ} || {_FILED_FACTS}::text END COLLATE "C") AS filed,
            count(*) FILTER (WHERE e.kind = ANY(:filings)) AS filings
        {_EVENTS} AND e.case_id = ANY(:ids)
        GROUP BY i.id
    ) g ON g.case_id = i.id
    WHERE i.id = ANY(:ids)"""
)
_FILING_EVENTS = text(
    f"""
    SELECT e.case_id, {_FILED_FACTS} FROM case_event e
    WHERE e.case_id = ANY(:ids) AND e.at < :before AND e.kind = ANY(:kinds)
    ORDER BY e.case_id, e.seq"""
)
_MONTH = "to_char({} AT TIME ZONE :zone, 'YYYY-MM')"
_COUNTS = text(
    f"""
    SELECT kind, month, what, count(*) FROM (
        SELECT c.kind, c.what,
            CASE c.kind
                WHEN 'charging_decided'
                THEN {_MONTH.format("coalesce(nullif(c.decided_at, '')::timestamptz, c.at)")}
                WHEN 'prosecution_outcome_recorded'
                THEN coalesce(nullif(left(c.decided_on, 7), ''), {_MONTH.format("c.at")})
                ELSE {_MONTH.format("c.at")}
            END AS month
        FROM counted_event c JOIN incident i ON i.id = c.case_id
        WHERE i.filed_at < :before AND c.at < :before
    ) counted
    GROUP BY kind, month, what"""
)


async def tally(session: AsyncSession, before: datetime, zone: ZoneInfo) -> Tally:
    """What the audit trail held before `before`: the cases filed before it, as they then stood, and the
    referrals, charging decisions and outcomes recorded before it (what `folded` finds, read in far fewer rows)."""
    found = Tally()
    conn = await session.connection()
    rows = (await conn.execute(_PER_CASE, {"before": before})).all()
    if moved := [row[0] for row in rows if row[2]]:  # an event since the cutoff: the facts as of it, from the trail
        params = {"ids": moved, "before": before, "kinds": list(_PER_CASE_KINDS), "closed": Stage.CLOSED.value}
        params |= {"stage_set": list(_STAGE_SET), "filings": list(_FILINGS)}
        then = {row[0]: row for row in await conn.execute(_PER_CASE_FROM_TRAIL, params)}
        rows = [then[row[0]] if row[2] else row for row in rows]
    supplemented: dict[str, CaseAsOf] = {}
    statutes_of = functools.cache(json.loads)  # a department's cases allege few sets of statutes
    for case_id, district, _, stage, supervisor, statutes, filed, filings in rows:
        case = CaseAsOf(district=district, statutes=list(statutes_of(statutes[10:])) if statutes else [])
        if stage:
            case.stage = stage[10:]
        if supervisor:
            case.supervisor_agency = supervisor[11:] if supervisor[10] == "=" else None
        if filed and filings == 1:  # what fold takes from a filing, case_filed, and nothing changed it
            facts = json.loads(filed[10:])
            case.occurred_at = datetime.fromisoformat(facts["occurred_at"]) if facts.get("occurred_at") else None
            case.agencies = facts.get("agencies") or []
        elif filings:  # supplemented: each filing event, in order, through fold
            supplemented[case_id] = case
        found.cases.append(case)
    if supplemented:
        events = await conn.execute(
            _FILING_EVENTS, {"ids": list(supplemented), "before": before, "kinds": list(_FILINGS)}
        )
        for case_id, facts in events:
            fold(supplemented[case_id], Event(facts["kind"], before, facts), found, zone)
    counts = await conn.execute(_COUNTS, {"before": before, "zone": zone.key})
    for kind, month, what, n in counts:
        if kind == "referral_acknowledged":
            found.referrals[month] += n
        elif kind == "charging_decided":
            found.charging[(month, what)] += n
        else:
            found.outcomes[(month, what)] += n
    return found


async def folded(session: AsyncSession, before: datetime, zone: ZoneInfo) -> Tally:
    """The same as `tally`, by folding every event read (referrals/domain/public_figures.py `fold`, the
    specification): slow with many cases, kept to prove `tally` right."""
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
    """Stores a snapshot once per key, with the root of every hash chain's head as this transaction sees them (and
    the heads beside it): a second write with the same key (a retried activity) keeps the first."""
    table = core_table(PublicSnapshotRow)
    conn = await session.connection()
    stored = (
        await conn.execute(
            pg_insert(table)
            .values(
                key=key,
                published_at=published_at,
                published_on=published_on,
                period_end=period_end,
                figures=figures,
                sha256=sha256_of(figures),
                # When the heads were read, a statement later (not the transaction's start, before the figures).
                chains_at=func.statement_timestamp(),
            )
            .on_conflict_do_nothing(index_elements=["key"])
            .returning(table.c.id)
        )
    ).scalar_one_or_none()
    if stored is not None:  # kept now, not by an earlier try: its heads, and their root, in the same transaction
        heads = await chain_heads.keep(conn, stored)
        await conn.execute(update(table).where(table.c.id == stored).values(chains_root=chain_roots.root_of(heads)))
    await session.commit()
    row = await kept(session, key)
    assert row is not None  # kept now, or by the write that had the key first
    return row


async def kept(session: AsyncSession, key: str) -> PublicSnapshotRow | None:
    """The snapshot kept under `key`, if one is."""
    return (await session.exec(select(PublicSnapshotRow).where(PublicSnapshotRow.key == key))).first()


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
