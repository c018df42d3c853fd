"""The document outbox: what a step's write asks to be made, stored in the write's own transaction, taken by the
document maker of the case's task queue (referrals/document_maker.py) one at a time, in the order each case asked,
and deleted once its document is stored. Nothing here waits on Temporal: a step's answer never waits for a document."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, literal, literal_column, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel.ext.asyncio.session import AsyncSession

from referrals.domain.events import DocumentRequest
from referrals.store.tables import DocumentOutboxRow, Incident, core_table

# The channel a write notifies when it asks for documents: the makers listening wake at once.
CHANNEL = "referrals_documents"
# A failed attempt puts its document off: a second later, doubling to ten minutes.
RETRY_FIRST = timedelta(seconds=1)
RETRY_MOST = timedelta(minutes=10)

_outbox = core_table(DocumentOutboxRow)
_incidents = core_table(Incident)


async def ask(
    conn: AsyncConnection,
    task_queue: str,
    case_id: str,
    requests: list[DocumentRequest],
    trace: dict[str, str] | None = None,
) -> None:
    """In the write's transaction, after it has stored the case: each request once (a retried write asks again and
    changes nothing), with the case as the write stored it and the write's trace context (W3C headers: the maker's
    span joins the step's trace). PostgreSQL copies the case from its row: a big case's 300 KB are not read back
    into the worker and sent again (12-14 ms of a big case's step, docs/performance.md)."""
    for r in requests:
        values = dict(
            document_id=r.document_id,
            task_queue=task_queue,
            workflow_id=r.workflow_id,
            case_id=r.case_id,
            kind=r.kind.value,
            version=r.version,
            event_seq=r.event_seq,
            requested_at=r.at,
            letterhead=r.letterhead.model_dump(mode="json"),
            trace=trace or None,
            attempts=0,
        )
        copied = select(*(literal(v, _outbox.c[k].type).label(k) for k, v in values.items()), _incidents.c.state)
        await conn.execute(
            pg_insert(_outbox)
            .from_select([*values, "state"], copied.where(_incidents.c.id == case_id))
            .on_conflict_do_nothing(index_elements=["document_id"])
        )
    await conn.execute(text("SELECT pg_notify(:channel, '')"), {"channel": CHANNEL})


@dataclass(frozen=True)
class Taken:
    document_id: str
    case_id: str
    kind: str
    attempts: int  # failed before
    trace: dict[str, str] | None
    row: dict[str, Any]

    def request(self) -> DocumentRequest:
        """What the document is made from (a row that cannot be read raises: its document is put off)."""
        row = self.row
        return DocumentRequest.model_validate(
            dict(
                workflow_id=row["workflow_id"],
                case_id=row["case_id"],
                kind=row["kind"],
                event_seq=row["event_seq"],
                letterhead=row["letterhead"],
                document_id=row["document_id"],
                version=row["version"],
                at=row["requested_at"],
                state=row["state"],
            )
        )


async def take(session: AsyncSession, task_queue: str) -> Taken | None:
    """The next document to make on `task_queue`, locked for this transaction: the oldest that is not put off and
    whose case asked for nothing before it that is still to be made. None: nothing is."""
    earlier = _outbox.alias("earlier")
    query = (
        select(_outbox)
        .where(
            _outbox.c.task_queue == task_queue,
            (_outbox.c.not_before.is_(None)) | (_outbox.c.not_before <= func.now()),
            ~select(literal_column("1"))
            .where(earlier.c.case_id == _outbox.c.case_id, earlier.c.position < _outbox.c.position)
            .exists(),
        )
        .order_by(_outbox.c.position)
        .limit(1)
        .with_for_update(skip_locked=True, of=_outbox)
    )
    row = (await (await session.connection()).execute(query)).mappings().first()
    if row is None:
        return None
    return Taken(row["document_id"], row["case_id"], row["kind"], row["attempts"], row["trace"], dict(row))


async def made(session: AsyncSession, document_id: str) -> None:
    await (await session.connection()).execute(_outbox.delete().where(_outbox.c.document_id == document_id))


async def failed(session: AsyncSession, document_id: str, error: str) -> None:
    """Puts the document off, longer after each failure; its case's later documents wait behind it."""
    row = (
        await (await session.connection()).execute(
            select(_outbox.c.attempts).where(_outbox.c.document_id == document_id)
        )
    ).first()
    if row is None:
        return
    delay = min(RETRY_FIRST * 2**row.attempts, RETRY_MOST)
    await (await session.connection()).execute(
        update(_outbox)
        .where(_outbox.c.document_id == document_id)
        .values(attempts=row.attempts + 1, not_before=datetime.now(UTC) + delay, last_error=error[:500])
    )


async def waiting(session: AsyncSession) -> list[dict[str, Any]]:
    """Every document still to be made, oldest first, with its case's number: what `referrals documents waiting`
    shows (no case's contents)."""
    incidents = core_table(Incident)
    query = (
        select(
            _outbox.c.document_id,
            _outbox.c.case_id,
            incidents.c.case_number,
            _outbox.c.task_queue,
            _outbox.c.kind,
            _outbox.c.version,
            _outbox.c.requested_at,
            _outbox.c.attempts,
            _outbox.c.not_before,
            _outbox.c.last_error,
        )
        .join(incidents, incidents.c.id == _outbox.c.case_id)
        .order_by(_outbox.c.position)
    )
    return [dict(r) for r in (await (await session.connection()).execute(query)).mappings()]
