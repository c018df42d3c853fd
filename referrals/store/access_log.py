"""The access trail (FBI CJIS Security Policy 5.4.1.1): who read, searched, downloaded, signed in or used the codec,
when, from where, through which component, and with what outcome; one append-only hash chain over every entry.

The database appends (migration 0008, `access_log_append`): under an advisory lock it reads the last entry, hashes
the new one over the canonical text below and the last hash, and inserts it, in one statement, so appends from any
number of API processes line up in one chain. This module builds the same text again to verify it.
"""

import asyncio
import hashlib
import json
import time
import weakref
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from referrals.store.audit import GENESIS, Break
from referrals.store.engine import CONNECT_TIMEOUT_SECONDS
from referrals.store.tables import AccessEntryRow

FORMAT = "access/1"  # the canonical text's version, first in every text hashed
OUTCOMES = ("allowed", "refused", "not_found", "failed")
VERIFY_BATCH = 10_000


@dataclass(frozen=True)
class AccessEntry:
    at: datetime
    action: str
    outcome: str  # one of OUTCOMES
    component: str  # api | desk | codec | auth
    client: str  # the client's address (referrals/api/client_address.py)
    user_id: str | None = None
    user_name: str | None = None
    who: str | None = None  # the identity attempted when nobody is signed in
    case_id: str | None = None
    target: str | None = None  # a document, an evidence item
    details: dict[str, Any] = field(default_factory=dict)  # the filters of a search, never its results


def details_text(details: dict[str, Any]) -> str:
    return json.dumps(details, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def at_text(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def _field(value: str | None) -> str:
    return "-" if value is None else f"{len(value)}:{value}"


def entry_text(
    *,
    seq: int,
    at: datetime,
    user_id: str | None,
    user_name: str | None,
    who: str | None,
    client: str,
    component: str,
    action: str,
    outcome: str,
    case_id: str | None,
    target: str | None,
    details: str,
    prev_hash: str,
) -> str:
    """What an entry's hash covers: as the database's access_log_text builds it (migration 0008)."""
    fields = (user_id, user_name, who, client, component, action, outcome, case_id, target, details)
    return "|".join((FORMAT, str(seq), at_text(at), *map(_field, fields), prev_hash))


def entry_hash(**fields) -> str:
    return hashlib.sha256(entry_text(**fields).encode()).hexdigest()


def _clean(value: str | None) -> str | None:
    return None if value is None else value.replace("\x00", "\ufffd")  # PostgreSQL text holds no NUL


def parameters(entry: AccessEntry) -> dict[str, Any]:
    if entry.outcome not in OUTCOMES:
        raise ValueError(f"outcome {entry.outcome!r} is not one of {', '.join(OUTCOMES)}")
    return {
        "at": entry.at.astimezone(UTC),
        "user_id": _clean(entry.user_id),
        "user_name": _clean(entry.user_name),
        "who": _clean(entry.who),
        "client": _clean(entry.client),
        "component": entry.component,
        "action": entry.action,
        "outcome": entry.outcome,
        "case_id": _clean(entry.case_id),
        "target": _clean(entry.target),
        "details": details_text(entry.details),
    }


_APPEND_SQL = (
    "SELECT access_log_append(%(at)s, %(user_id)s, %(user_name)s, %(who)s, %(client)s, %(component)s, "
    "%(action)s, %(outcome)s, %(case_id)s, %(target)s, %(details)s)"
)


class Appender:
    """A connection of the trail's own, in autocommit, for one engine's database: an append is one round trip (no
    pool checkout and its ping, no BEGIN or COMMIT of ours, the statement prepared by psycopg after a few uses).
    The appends of a process queue on it; they line up on the database's advisory lock in any case. Closed after
    IDLE_SECONDS without an append, opened again by the next; a connection found broken is replaced once. An append
    given up on (the caller's timeout) is cancelled in the server by psycopg, the connection kept."""

    IDLE_SECONDS = 30.0

    def __init__(self, connect_args: tuple, connect_kwargs: dict) -> None:
        self._args, self._kwargs = connect_args, connect_kwargs
        self._connection: psycopg.AsyncConnection | None = None
        self._opening = asyncio.Lock()
        self._last_use = 0.0
        self._watch: asyncio.Task | None = None
        self.loop = asyncio.get_running_loop()

    async def append(self, entry: AccessEntry) -> int:
        values = parameters(entry)
        for attempt in (1, 2):
            connection = await self._connect()
            try:
                row = await (await connection.execute(_APPEND_SQL, values)).fetchone()
                assert row is not None  # a SELECT of the function: one row, always
                self._last_use = time.monotonic()
                return row[0]
            except psycopg.OperationalError:
                # The connection lost (a restarted database): once more on a new one. Should the first have been
                # committed before its answer was lost, the trail holds the access twice, never not at all.
                await self._drop(connection)
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def _connect(self) -> psycopg.AsyncConnection:
        connection = self._connection
        if connection is not None and not connection.closed:
            return connection
        async with self._opening:
            if self._connection is None or self._connection.closed:
                self._connection = await psycopg.AsyncConnection.connect(
                    *self._args, **{**self._kwargs, "autocommit": True, "connect_timeout": CONNECT_TIMEOUT_SECONDS}
                )
                self._last_use = time.monotonic()
                self._watch = asyncio.create_task(self._close_when_idle(self._connection))
            return self._connection

    async def _close_when_idle(self, connection: psycopg.AsyncConnection) -> None:
        while not connection.closed:
            await asyncio.sleep(self.IDLE_SECONDS)
            if time.monotonic() - self._last_use >= self.IDLE_SECONDS and not connection.closed:
                await self._drop(connection)

    async def _drop(self, connection: psycopg.AsyncConnection) -> None:
        if self._connection is connection:
            self._connection = None
        await connection.close()


_appenders: "weakref.WeakKeyDictionary[Any, Appender]" = weakref.WeakKeyDictionary()


def _appender(sessions: async_sessionmaker[AsyncSession]) -> Appender:
    engine = sessions.kw["bind"].sync_engine
    appender = _appenders.get(engine)
    if appender is None or appender.loop is not asyncio.get_running_loop():
        args, kwargs = engine.dialect.create_connect_args(engine.url)
        appender = _appenders[engine] = Appender(tuple(args), dict(kwargs))
    return appender


async def append(sessions: async_sessionmaker[AsyncSession], entry: AccessEntry) -> int:
    """The entry's sequence number, once it is committed: one statement (access_log_append, in its own
    transaction: the advisory lock is held for that statement alone), on the trail's own connection to the
    database `sessions` reach (Appender)."""
    return await _appender(sessions).append(entry)


async def query(
    session: AsyncSession,
    *,
    case_id: str | None = None,
    user_id: str | None = None,
    who: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    after_seq: int | None = None,
    limit: int = 500,
    newest_first: bool = False,
) -> list[AccessEntryRow]:
    """Entries oldest first (by time, then sequence), or newest first, at or after `since` and before `until`;
    `after_seq` is the last entry of the page before (the next page starts after it, in the page's order)."""
    statement = select(AccessEntryRow)
    if case_id is not None:
        statement = statement.where(AccessEntryRow.case_id == case_id)
    if user_id is not None:
        statement = statement.where(AccessEntryRow.user_id == user_id)
    if who is not None:  # an identity attempted while nobody was signed in
        statement = statement.where(col(AccessEntryRow.user_id).is_(None), AccessEntryRow.who == who)
    if since is not None:
        statement = statement.where(AccessEntryRow.at >= since)
    if until is not None:
        statement = statement.where(AccessEntryRow.at < until)
    if after_seq is not None:
        cursor = select(AccessEntryRow.at).where(AccessEntryRow.seq == after_seq).scalar_subquery()
        # `at >= cursor` bounds the index range; the rest keeps the ties on `at` in sequence order.
        if newest_first:
            statement = statement.where(
                AccessEntryRow.at <= cursor, (AccessEntryRow.at < cursor) | (AccessEntryRow.seq < after_seq)
            )
        else:
            statement = statement.where(
                AccessEntryRow.at >= cursor, (AccessEntryRow.at > cursor) | (AccessEntryRow.seq > after_seq)
            )
    order = (
        (col(AccessEntryRow.at).desc(), col(AccessEntryRow.seq).desc())
        if newest_first
        else (
            col(AccessEntryRow.at),
            col(AccessEntryRow.seq),
        )
    )
    statement = statement.order_by(*order).limit(limit)
    return list((await session.exec(statement)).all())


_ROWS = text(
    "SELECT seq, at, user_id, user_name, who, client, component, action, outcome, case_id, target, details, "
    "prev_hash, hash FROM access_log WHERE seq >= :start ORDER BY seq LIMIT :batch"
)


@dataclass(frozen=True)
class Verified:
    """What verify looked at: the anchor is the first entry's prev_hash (GENESIS unless older entries were pruned)."""

    entries: int
    first_seq: int | None
    last_seq: int | None
    anchor: str | None


async def verify(
    sessions: async_sessionmaker[AsyncSession], since: datetime | None = None, checked: list[Verified] | None = None
) -> Break | None:
    """The first entry whose sequence, link or hash is wrong, None when the chain holds: from the first entry at or
    after `since` (every entry when None) to the last. The first entry checked is the anchor: its prev_hash is
    believed (GENESIS when it is entry 1). `checked`, when given, receives what was looked at."""
    async with sessions() as session:
        first = text("SELECT min(seq) FROM access_log" + (" WHERE at >= :since" if since is not None else ""))
        given = {"since": since} if since is not None else {}
        # sqlmodel's exec runs a text clause too (a plain Result); its overloads name only select and DML statements.
        start = (await session.exec(first, params=given)).scalar_one()  # type: ignore[call-overload]  # sqlmodel's exec runs text() too
        count, anchor, prev, expected = 0, None, None, start
        while start is not None:
            page = {"start": start, "batch": VERIFY_BATCH}
            rows = (await session.exec(_ROWS, params=page)).all()  # type: ignore[call-overload]  # sqlmodel's exec runs text() too
            for (
                seq,
                at,
                user_id,
                user_name,
                who,
                client,
                component,
                action,
                outcome,
                case_id,
                target,
                details,
                prev_hash,
                hash_,
            ) in rows:
                if seq != expected:
                    return Break(seq, f"expected entry {expected}, found {seq}")
                if prev is None:
                    anchor = prev = prev_hash
                    if seq == 1 and prev_hash != GENESIS:
                        return Break(seq, "the first entry does not start from the genesis hash")
                if prev_hash != prev:
                    return Break(seq, "prev_hash does not match the previous entry's hash")
                recomputed = entry_hash(
                    seq=seq,
                    at=at,
                    user_id=user_id,
                    user_name=user_name,
                    who=who,
                    client=client,
                    component=component,
                    action=action,
                    outcome=outcome,
                    case_id=case_id,
                    target=target,
                    details=details,
                    prev_hash=prev_hash,
                )
                if recomputed != hash_:
                    return Break(seq, "hash does not match the entry's content")
                prev, expected, count = hash_, seq + 1, count + 1
            start = expected if len(rows) == VERIFY_BATCH else None
    if checked is not None:
        checked.append(Verified(count, expected - count if count else None, expected - 1 if count else None, anchor))
    return None


async def prune(sessions: async_sessionmaker[AsyncSession], retention_days: int, now: datetime) -> int:
    """Deletes the entries older than the retention, from the start of the chain only (so what remains is one
    unbroken chain, anchored on its first entry's prev_hash), and never the last entry (the next one links to
    it). Returns how many went."""
    cutoff = now - timedelta(days=retention_days)
    async with sessions() as session:
        deleted = await session.exec(  # type: ignore[call-overload]  # sqlmodel's exec runs text() too
            text(
                "DELETE FROM access_log WHERE seq < coalesce((SELECT min(seq) FROM access_log WHERE at >= :cutoff), "
                "(SELECT max(seq) FROM access_log))"
            ),
            params={"cutoff": cutoff},
        )
        await session.commit()
    return deleted.rowcount
