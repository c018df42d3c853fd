"""The activity that writes each change of a case: its audit event and its read model."""

import structlog
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio import activity

from domain.events import PersistCase
from store import cases

log = structlog.get_logger()


class CaseStore:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    @activity.defn(name="persist_case")
    async def persist(self, change: PersistCase) -> None:
        structlog.contextvars.bind_contextvars(case_number=change.state.case_number)
        # One transaction, keyed by (case, event sequence): a retry after a lost commit
        # finds the event stored and changes nothing.
        async with self._sessions() as session, session.begin():
            applied = await cases.persist(session, change)
        log.info(
            "case_event_stored" if applied else "case_event_already_stored",
            case_id=change.state.case_id, seq=change.event.seq, kind=change.event.kind.value,
        )
