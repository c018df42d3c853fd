"""The activities that write each change of a case: its audit events and its read model."""

import opentelemetry.propagate
import structlog
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio import activity

from referrals.domain.case import DocumentRef
from referrals.domain.events import DocumentsAwaited, Persisted, PersistEvents
from referrals.store import cases, documents

log = structlog.get_logger()


def _trace_context() -> dict[str, str]:
    """The current span's W3C trace context (empty when nothing is traced)."""
    carrier: dict[str, str] = {}
    opentelemetry.propagate.inject(carrier)
    return carrier


class CaseStore:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    @activity.defn(name="persist_case_events")
    async def persist_events(self, change: PersistEvents) -> Persisted:
        """A step's one write: its events and the read model in one
        transaction, keyed by (case, event sequence), so a retry after a lost commit changes nothing.
        A read model found behind the first event (a restored database) is reported, not written."""
        state, columns = change.state, change.columns
        if state is not None:
            case_id, case_number = state.case_id, state.case_number
        else:  # (with edits: the case's id and columns)
            assert change.case_id is not None and columns is not None
            case_id, case_number = change.case_id, columns.case_number
        structlog.contextvars.bind_contextvars(case_number=case_number)
        async with self._sessions() as session, session.begin():
            if state is not None:
                result = await cases.persist_events(
                    session,
                    change.workflow_id,
                    state,
                    change.events,
                    documents=change.documents,
                    task_queue=activity.info().task_queue,
                    trace=_trace_context() if change.documents else None,
                )
            else:
                assert columns is not None  # (checked above)
                result = await cases.persist_edits(
                    session,
                    case_id,
                    columns,
                    change.edits,
                    change.events,
                    documents=change.documents,
                    task_queue=activity.info().task_queue,
                    trace=_trace_context() if change.documents else None,
                )
            if change.awaiting:  # (read in the write's transaction: a document made after it waits for the next)
                result = result.model_copy(update={"made": await documents.made(session, case_id, change.awaiting)})
        first, last = change.events[0].seq, change.events[-1].seq
        if result.written:
            log.info(
                "case_events_stored",
                case_id=case_id,
                first_seq=first,
                last_seq=last,
                kinds=[str(e.kind) for e in change.events],
            )
        elif result.stored_seq < first - 1:
            log.warning("case_read_model_behind", case_id=case_id, stored_seq=result.stored_seq, first_seq=first)
        else:
            log.info("case_events_already_stored", case_id=case_id, first_seq=first, last_seq=last)
        return result

    @activity.defn(name="documents_made")
    async def documents_made(self, awaited: DocumentsAwaited) -> list[DocumentRef]:
        """Which of the documents a case awaits are made: asked while nobody is working on the case."""
        async with self._sessions() as session:
            return await documents.made(session, awaited.case_id, awaited.ids)
