"""Writing the read model from a case snapshot, and reading it for the API."""

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    Table,
    Text,
    and_,
    cast,
    delete,
    func,
    insert,
    inspect,
    literal,
    literal_column,
    or_,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TIMESTAMP
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import defer
from sqlalchemy.sql.elements import ColumnClause, ColumnElement
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from referrals.domain.case import CaseState, part_adapter
from referrals.domain.case_edits import CaseEdit
from referrals.domain.enums import Stage
from referrals.domain.events import CaseColumns, CaseEvent, DocumentRequest, Persisted
from referrals.store import outbox
from referrals.store.audit import GENESIS, event_fields
from referrals.store.evidence import CUSTODY_FROM_EVENTS, custody_from_event
from referrals.store.tables import (
    Allegation,
    CaseEventRow,
    CaseTask,
    Decision,
    Incident,
    Person,
    Recording,
    core_table,
)


async def next_case_number(session: AsyncSession, prefix: str, year: int) -> str:
    # sqlmodel's exec runs any executable (a text clause returns a plain Result); its overloads name only
    # select and DML statements.
    statement = text("SELECT nextval('case_number_seq')")
    value = (await session.exec(statement)).scalar_one()  # type: ignore[call-overload]  # sqlmodel's exec runs text() too
    return f"{prefix}-{year}-{value:06d}"


async def persist_events(
    session: AsyncSession,
    workflow_id: str,
    state: CaseState,
    events: list[CaseEvent],
    heal: bool = True,
    rewrite: bool = False,
    documents: list[DocumentRequest] | None = None,
    task_queue: str = "",
    trace: dict[str, str] | None = None,
) -> Persisted:
    """Append a step's events and refresh the read model in the caller's transaction, once per (case, seq):
    events stored before are skipped. With `heal`, a read model behind the first event sent (a database
    restored from a backup) is left alone and reported, so the caller can send what it lacks. With
    `rewrite` (a rebuild), the whole read model is written again even when no event is new. The `documents`
    the step asks for go to `task_queue`'s outbox with the case as written (referrals/store/outbox.py)."""
    # Plain SQL statements rather than the ORM's unit of work: this runs after every step of every
    # case, and the ORM's bookkeeping (identity map, flush) was about a fifth of each persist's CPU.
    conn = await session.connection()
    incidents = core_table(Incident)
    stored = (
        await conn.execute(
            # FOR NO KEY UPDATE: the case's writes one after another, and never behind a transaction that only
            # references the case (the document maker's packet, with an inclusion in each item's custody chain).
            select(incidents.c.event_seq, incidents.c.state)
            .where(incidents.c.id == state.case_id)
            .with_for_update(key_share=True)
        )
    ).first()
    stored_seq = stored.event_seq if stored is not None else 0
    if heal and stored_seq < events[0].seq - 1:
        return Persisted(stored_seq=stored_seq, written=False)
    new = [event for event in events if event.seq > stored_seq]
    if not new and not rewrite:
        return Persisted(stored_seq=stored_seq, written=False)  # a retried write: already applied
    after = state.model_dump(mode="json")
    row = dict(_columns(state), event_seq=max(stored_seq, state.event_seq if rewrite else new[-1].seq), state=after)
    if stored is None:
        await conn.execute(insert(incidents).values(id=state.case_id, workflow_id=workflow_id, **row))
        before = {}
    else:
        await conn.execute(update(incidents).where(incidents.c.id == state.case_id).values(**row))
        before = stored.state
    await _append(conn, state.case_id, new)
    if documents and new:
        await outbox.ask(conn, task_queue, state.case_id, documents, trace)
    await _custody(session, state.case_id, new)
    # Most events change one part of the case: rewrite only the tables drawn from the parts that changed.
    for table, (parts, child_rows) in _CHILDREN.items():
        if rewrite or any(before.get(part) != after.get(part) for part in parts):
            await _rows_again(conn, table, state.case_id, child_rows(state))
    return Persisted(stored_seq=stored_seq, written=True)


async def persist_edits(
    session: AsyncSession,
    case_id: str,
    columns: CaseColumns,
    changes: list[CaseEdit],
    events: list[CaseEvent],
    documents: list[DocumentRequest] | None = None,
    task_queue: str = "",
    trace: dict[str, str] | None = None,
) -> Persisted:
    """`persist_events` for a write that sends its edits to the case (referrals/domain/case_edits.py) instead of the
    case: PostgreSQL applies them to the case as stored, which is read back only for the child tables drawn from a
    part edited (a document asked for is given the case by PostgreSQL: `outbox.ask`). Applied only to the case they
    were made from, the one stored just before the first event: a retry finds its events stored and changes nothing; a
    case stored behind is reported, as `persist_events` reports it; any other is answered `whole_case_needed`."""
    conn = await session.connection()
    incidents = core_table(Incident)
    stored = (
        await conn.execute(
            select(incidents.c.event_seq).where(incidents.c.id == case_id).with_for_update(key_share=True)
        )
    ).scalar_one_or_none()
    stored_seq = stored or 0
    if stored is not None and stored_seq >= events[-1].seq:
        return Persisted(stored_seq=stored_seq, written=False)  # a retried write: already applied
    if stored_seq < events[0].seq - 1:
        return Persisted(stored_seq=stored_seq, written=False)  # behind: the events after it are due
    if stored is None or stored_seq != events[0].seq - 1:
        return Persisted(stored_seq=stored_seq, written=False, whole_case_needed=True)
    edited = {change.part for change in changes}
    tables = [(table, parts, rows) for table, (parts, rows) in _CHILDREN.items() if edited.intersection(parts)]
    wanted = list(dict.fromkeys(part for _, parts, _ in tables for part in parts))
    read_back = [incidents.c.state[part] for part in wanted]
    statement = (
        update(incidents)
        .where(incidents.c.id == case_id)
        .values(**columns.model_dump(), event_seq=events[-1].seq, state=_edited(incidents.c.state, changes))
    )
    if read_back:
        after = (await conn.execute(statement.returning(*read_back))).one()
    else:
        await conn.execute(statement)
        after = None
    await _append(conn, case_id, events)
    if documents:
        await outbox.ask(conn, task_queue, case_id, documents, trace)
    await _custody(session, case_id, events)
    if tables and after is not None:
        # The case's parts these tables are drawn from, as the case: each part read as its field is.
        parts = CaseState.model_construct(
            case_id=case_id,
            **{p: part_adapter(p).validate_python(v) for p, v in zip(wanted, after, strict=True)},
        )
        for table, _, child_rows in tables:
            await _rows_again(conn, table, case_id, child_rows(parts))
    return Persisted(stored_seq=stored_seq, written=True)


def _edited(state: ColumnElement, changes: list[CaseEdit]) -> ColumnElement:
    """The case as stored (`state`) with `changes` made, as PostgreSQL computes it (case_edits.applied's meaning):
    each part edited computed from the part as stored, then merged into the case in one pass (`||`). Editing the
    case once per part (`jsonb_set` nested) rebuilt the whole value each time: 8.0 ms against 5.0 ms for a legal
    review's five parts on the big case (docs/performance.md)."""
    parts: dict[str, ColumnElement] = {}
    for change in changes:
        value: ColumnElement = cast(literal(json.dumps(change.value, separators=(",", ":")), Text), JSONB)
        if change.append:  # (the part's items as stored, then the new ones: JSONB's concatenation)
            stored = parts.get(change.part, state[change.part])
            parts[change.part] = func.coalesce(stored, cast(literal("[]", Text), JSONB)).op("||")(value)
        elif change.index is not None:
            stored = parts.get(change.part, state[change.part])
            parts[change.part] = func.jsonb_set(stored, literal([str(change.index)], ARRAY(Text)), value, type_=JSONB)
        else:
            parts[change.part] = value
    if not parts:
        return state
    pairs = [item for part, value in parts.items() for item in (literal(part, Text), value)]
    return state.op("||")(func.jsonb_build_object(*pairs, type_=JSONB))


async def _append(conn: AsyncConnection, case_id: str, new: list[CaseEvent]) -> None:
    """The write's new events, each chained to the one before it (the audit trail's hashes)."""
    if not new:
        return
    events_table = core_table(CaseEventRow)
    prev_hash = GENESIS
    if new[0].seq > 1:
        prev_hash = (
            await conn.execute(
                select(events_table.c.hash).where(
                    events_table.c.case_id == case_id, events_table.c.seq == new[0].seq - 1
                )
            )
        ).scalar_one_or_none() or GENESIS
    rows = []
    for event in new:
        fields = event_fields(case_id, event, prev_hash)
        prev_hash = fields["hash"]
        rows.append(fields)
    await conn.execute(insert(events_table), rows)


async def _custody(session: AsyncSession, case_id: str, new: list[CaseEvent]) -> None:
    for event in new:  # an item's chain of custody begins, or ends in a tombstone, with the case's own event
        if event.kind in CUSTODY_FROM_EVENTS:
            await custody_from_event(session, case_id, event)


async def _rows_again(conn: AsyncConnection, table: Table, case_id: str, values: list[dict]) -> None:
    await conn.execute(delete(table).where(table.c.case_id == case_id))
    if values:
        await conn.execute(insert(table), values)


def _columns(state: CaseState) -> dict:
    return CaseColumns.of(state).model_dump()


# The rows of each child table, as column values: every row of a table names the same columns.
def _tasks(state: CaseState) -> list[dict]:
    return [
        dict(
            case_id=state.case_id,
            task=task.value,
            status=entry.status.value,
            owner_role=entry.owner_role.value,
            due_at=entry.due_at,
            escalation_level=entry.escalation_level,
            completed_by_id=entry.completed_by.id if entry.completed_by else None,
            completed_at=entry.completed_at,
        )
        for task, entry in state.tasks.items()
    ]


def _recordings(state: CaseState) -> list[dict]:
    return [
        dict(
            case_id=state.case_id,
            camera_id=r.camera_id,
            officer_star=r.officer_star,
            started_at=r.started_at,
            ended_at=r.ended_at,
            purge_at=r.purge_at,
            flag_reasons=list(r.flag_reasons),
            hold_reference=r.hold_reference,
            retained_until=r.retained_until,
        )
        for r in state.recordings
    ]


def _person(
    case_id: str,
    kind: str,
    name: str | None,
    star_or_badge: str | None,
    agency: str | None = None,
    title: str | None = None,
    description: str | None = None,
) -> dict:
    return dict(
        case_id=case_id,
        kind=kind,
        name=name,
        star_or_badge=star_or_badge,
        agency=agency,
        title=title,
        description=description,
    )


def _people(state: CaseState) -> list[dict]:
    cid = state.case_id
    people = [_person(cid, "officer", o.name, o.star) for o in state.details.officers]
    people += [
        _person(cid, "federal", f.name, f.badge, agency=f.agency, description=f.description)
        for f in state.details.federal_personnel
    ]
    if state.supervisor_identification is not None:
        s = state.supervisor_identification.payload
        people.append(
            _person(
                cid,
                "federal_supervisor",
                s.name,
                s.badge,
                agency=s.agency,
                title=s.title,
                description=f"outcome: {s.outcome.value}",
            )
        )
    return people


def _allegations(state: CaseState) -> list[dict]:
    if state.violation_report is None:
        return []
    return [
        dict(case_id=state.case_id, statute=a.statute, person=a.person, facts=a.facts)
        for a in state.violation_report.payload.allegations
    ]


def _decisions(state: CaseState) -> list[dict]:
    return [
        dict(
            case_id=state.case_id,
            task=task,
            decision=rec.payload.decision.value,
            actor_id=rec.by.id,
            actor_name=rec.by.name,
            decided_at=rec.at,
            data=rec.payload.model_dump(mode="json"),
        )
        for task, records in (
            ("legal_review", state.legal_reviews),
            ("command_approval", state.command_decisions),
            ("charging_decision", state.prosecution.decisions if state.prosecution else []),
        )
        for rec in records
    ] + _outcome(state)


def _outcome(state: CaseState) -> list[dict]:
    outcome = state.prosecution.outcome if state.prosecution else None
    if outcome is None:
        return []
    return [
        dict(
            case_id=state.case_id,
            task="prosecution_outcome",
            decision=outcome.payload.outcome.value,
            actor_id=outcome.by.id,
            actor_name=outcome.by.name,
            decided_at=outcome.at,
            data=outcome.payload.model_dump(mode="json"),
        )
    ]


# Each child table of the read model: the parts of the case snapshot it is drawn from, and its rows.
_CHILDREN = {
    core_table(CaseTask): (("tasks",), _tasks),
    core_table(Recording): (("recordings",), _recordings),
    core_table(Person): (("details", "supervisor_identification"), _people),
    core_table(Allegation): (("violation_report",), _allegations),
    core_table(Decision): (("legal_reviews", "command_decisions", "prosecution"), _decisions),
}


def removal_due():
    """The end of a charged case's last day for a notice of removal, from the case as stored."""
    return func.cast(Incident.state["prosecution"]["removal_due_at"].astext, TIMESTAMP(timezone=True))


def removal_window_open(now: datetime):
    """Cases in prosecution whose removal window is open at `now`: an arraignment recorded, no notice, not passed
    (nor closed by the case's own timer)."""
    prosecution = Incident.state["prosecution"]
    return and_(
        col(Incident.stage) == Stage.PROSECUTION.value,
        prosecution["removal_window_closed"].astext == "false",
        func.coalesce(prosecution["removal_notice"].astext, "null") == "null",
        removal_due() > now,
    )


async def get_incident(session: AsyncSession, case_id: str, visible_to=None, with_case: bool = True) -> Incident | None:
    """`with_case=False`: the row without the case's JSON (`state`, hundreds of kilobytes for a big case), which a
    step reads once, after it is taken (`read_again`)."""
    query = select(Incident).where(Incident.id == case_id)
    if not with_case:
        query = query.options(defer(Incident.state))  # type: ignore[arg-type]
    if visible_to is not None:
        query = query.where(visible_to)
    return (await session.exec(query)).first()


async def stored_evidence(session: AsyncSession, case_id: str) -> list[dict[str, Any]]:
    """The case's evidence as stored (its JSON), without the rest of the case."""
    found = await session.exec(select(Incident.state["evidence"]).where(Incident.id == case_id))
    return found.one_or_none() or []


async def read_again(session: AsyncSession, incident: Incident) -> None:
    """The row as stored now, the case's JSON included, read with `with_case=False` or not."""
    await session.refresh(incident, attribute_names=_INCIDENT_ATTRIBUTES)


_INCIDENT_ATTRIBUTES = [attribute.key for attribute in inspect(Incident).column_attrs]


async def recorded_by(session: AsyncSession, case_id: str, update_id: str) -> bool:
    """Whether one of the case's events was recorded by that step's workflow update (CaseEvent.update_id)."""
    found = await session.exec(
        select(CaseEventRow.seq).where(CaseEventRow.case_id == case_id, CaseEventRow.update_id == update_id).limit(1)
    )
    return found.first() is not None


async def list_events(session: AsyncSession, case_id: str) -> list[CaseEventRow]:
    rows = await session.exec(
        select(CaseEventRow).where(CaseEventRow.case_id == case_id).order_by(col(CaseEventRow.seq))
    )
    return list(rows.all())


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)


# A page's cursor, plain text that the schema describes exactly (referrals/api/listing.py, CURSOR): `t<filed_at in
# microseconds since 1970>.<case id>` for the newest-first listing (keyset), `r<how many seen>` for a ranked
# search. Either is a well-defined position in either listing, so any cursor the schema allows is accepted.
def encode_cursor(incident: Incident) -> str:
    return f"t{(incident.filed_at - EPOCH) // MICROSECOND}.{incident.id}"


def encode_offset(offset: int) -> str:
    """The cursor of a ranked search: how many matches the caller has seen."""
    return f"r{offset}"


def decode_cursor(cursor: str) -> tuple[datetime, str] | int:
    """(filed_at, id) of the last case listed, or the offset of a ranked search. Raises ValueError for a
    cursor this API does not issue."""
    if cursor.startswith("r") and cursor[1:].isdigit():
        return int(cursor[1:])
    micros, dot, case_id = cursor[1:].partition(".")
    if not cursor.startswith("t") or not dot or not micros.isdigit():
        raise ValueError("not a cursor")
    return EPOCH + int(micros) * MICROSECOND, case_id


SEARCH: ColumnClause[Any] = literal_column("incident.search")
NAMES: ColumnClause[Any] = literal_column("incident.names")
# A search ranks at most the newest this many of its matches: a word in every case of a department's ten years
# (200,000 cases) would otherwise rank them all for each page (docs/performance.md, "The department after ten years").
RANKED_AT_MOST = 1000


async def list_incidents(
    session: AsyncSession,
    *,
    visible_to,
    stage: str | None,
    task: str | None,
    district: str | None,
    overdue_at: datetime | None,
    limit: int,
    cursor: tuple[datetime, str] | int | None,
    q: str | None = None,
    names: bool = False,
    occurred_from: datetime | None = None,
    occurred_before: datetime | None = None,
) -> list[Incident]:
    """Newest first, or with `q` best match first among the newest RANKED_AT_MOST matches (PostgreSQL full-text
    search over the case's words, and its people's names too with `names`); `visible_to` is a SQL condition
    limiting what the caller may see."""
    query = select(Incident)
    if visible_to is not None:
        query = query.where(visible_to)
    if stage:
        query = query.where(Incident.stage == stage)
    if task:
        query = query.where(col(Incident.open_tasks).contains([task]))
    if district:
        query = query.where(Incident.district == district)
    if overdue_at is not None:
        query = query.where(col(Incident.next_deadline) < overdue_at)
    if occurred_from is not None:
        query = query.where(Incident.occurred_at >= occurred_from)
    if occurred_before is not None:
        query = query.where(Incident.occurred_at < occurred_before)
    found: ColumnElement[bool] | None = None
    rank: ColumnElement[Any] | None = None
    if q:
        words = func.websearch_to_tsquery("english", q)
        found = SEARCH.op("@@")(words)
        rank = func.ts_rank(SEARCH, words)
        if names:
            person = func.websearch_to_tsquery("simple", q)
            found = or_(found, NAMES.op("@@")(person))
            rank = rank + func.ts_rank(NAMES, person)
    if isinstance(cursor, tuple):  # filed before that case
        filed_at, case_id = cursor
        query = query.where(
            or_(
                col(Incident.filed_at) < filed_at,
                and_(col(Incident.filed_at) == filed_at, col(Incident.id) < case_id),
            )
        )
    offset = cursor if isinstance(cursor, int) else 0
    if q:
        assert found is not None and rank is not None  # both made above, with q
        # The newest matches through the filed_at index, at most RANKED_AT_MOST of them; then those ranked.
        newest = (
            query.where(found)
            .with_only_columns(col(Incident.id))
            .order_by(col(Incident.filed_at).desc(), col(Incident.id).desc())
            .limit(RANKED_AT_MOST)
        )
        query = (
            select(Incident)
            .where(col(Incident.id).in_(newest))
            .order_by(rank.desc(), col(Incident.filed_at).desc(), col(Incident.id).desc())
        )
    else:
        query = query.order_by(col(Incident.filed_at).desc(), col(Incident.id).desc())
    return list((await session.exec(query.offset(offset).limit(limit))).all())


async def overdue_tasks(session: AsyncSession, now: datetime) -> list[tuple[Incident, CaseTask]]:
    """Every open task past its due time, most escalated first, then most overdue."""
    query = (
        select(Incident, CaseTask)
        .join(CaseTask, col(CaseTask.case_id) == Incident.id)
        .where(CaseTask.status == "open", col(CaseTask.due_at) < now)
        .order_by(col(CaseTask.escalation_level).desc(), col(CaseTask.due_at), Incident.case_number)
    )
    return list((await session.exec(query)).all())


async def all_incidents(session: AsyncSession) -> list[Incident]:
    return list((await session.exec(select(Incident).order_by(col(Incident.filed_at)))).all())


async def find(session: AsyncSession, id_or_number: str) -> list[Incident]:
    query = select(Incident).where(or_(col(Incident.id) == id_or_number, col(Incident.case_number) == id_or_number))
    return list((await session.exec(query)).all())
