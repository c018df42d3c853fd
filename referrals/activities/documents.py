"""The activity that writes a case's Word documents (referrals/documents/) and stores them, once each, each with its
signed PDF or the reason it has none (referrals/activities/pdfs.py)."""

import asyncio
import hashlib
import uuid
from datetime import UTC, datetime
from pathlib import Path

import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio import activity
from temporalio.common import MetricMeter

from referrals.activities.pdfs import PdfMaker
from referrals.documents.making import make
from referrals.documents.render import FOLDER, Properties, filename
from referrals.domain.case import CaseState, DocumentRef
from referrals.domain.enums import DocumentKind
from referrals.domain.events import DocumentRequest
from referrals.domain.words import label
from referrals.observability.worker_metrics import rendering
from referrals.store import cases, documents, evidence
from referrals.store.evidence import Custody
from referrals.store.tables import CaseEventRow, CustodyEventRow, DocumentRow, Incident

log = structlog.get_logger()


class DocumentWriter:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        folder: Path = FOLDER,
        pdfs: PdfMaker | None = None,
        meter: MetricMeter | None = None,
    ) -> None:
        self._sessions = sessions
        self._meter = meter  # where its render times are recorded outside an activity (the document maker)
        self._folder = folder
        self._pdfs = pdfs or PdfMaker.none("no PDF is made where this copy of the document was made")

    @activity.defn(name="generate_document")
    async def generate(self, request: DocumentRequest) -> DocumentRef:
        """Once per document: a retry returns the document the first attempt stored."""
        return documents.ref(await self.write(request))

    async def write(self, request: DocumentRequest, attempt: int | None = None) -> DocumentRow:
        """Render and store one document in a transaction of its own, or return the one stored for this request
        before (`write_in`)."""
        try:
            async with self._sessions() as session, session.begin():
                return await self.write_in(session, request, attempt)
        except IntegrityError:  # made meanwhile by another (the document maker, beside a rebuild): that one
            async with self._sessions() as session:
                if (made := await documents.by_key(session, _key(request))) is not None:
                    return made
            raise

    async def write_in(
        self, session: AsyncSession, request: DocumentRequest, attempt: int | None = None
    ) -> DocumentRow:
        """Render and store one document in the caller's transaction (the document maker's, which holds its request:
        one transaction, so that PostgreSQL sees every lock it waits on), or return the one stored for this request
        before. A request that carries the case is rendered from it alone: the same request makes the same bytes.
        `attempt`: which attempt at the document this is (its PDF is given up after the third)."""
        exact = request.state is not None
        # A request handed on by a continue-as-new without its case (not its kind's latest) keeps its id.
        named = request.document_id is not None
        key = _key(request)
        if (existing := await documents.by_key(session, key)) is not None:
            return existing
        if exact:
            state, version, now, document_id = request.state, request.version, request.at, request.document_id
        elif named:  # made again after a restore, from the case as stored, under its own id and version
            incident = await session.get(Incident, request.case_id, with_for_update=True)
            assert incident is not None  # a case is stored before its documents are asked for
            state = CaseState.model_validate(incident.state)
            version, now, document_id = request.version, request.at, request.document_id
        else:
            # Locking the case row serialises version numbers per case.
            incident = await session.get(Incident, request.case_id, with_for_update=True)
            assert incident is not None  # a case is stored before its documents are asked for
            state = CaseState.model_validate(incident.state)
            version = await documents.next_version(session, request.case_id, request.kind.value)
            now, document_id = datetime.now(UTC), str(uuid.uuid4())
        # The workflow asks with the case, its version, time and id together, and a request handed on without
        # its case keeps the other three (referrals/workflows/documents.py).
        assert state is not None and version is not None and now is not None and document_id is not None
        structlog.contextvars.bind_contextvars(case_number=state.case_number)
        events, custody = (
            await self._packet_inputs(session, request, now)
            if request.kind == DocumentKind.REFERRAL_PACKET
            else (None, None)
        )
        properties = Properties(
            title=f"{label(request.kind.value)}, {state.case_number}, version {version}",
            author=request.letterhead.department,
            generated_at=now,
        )
        with rendering(request.kind.value, self._meter):
            content = await asyncio.to_thread(
                make,
                self._folder / f"{request.kind.value}.docx",
                request.kind,
                state,
                request.letterhead,
                now,
                version,
                properties,
                events,
                custody,
            )
        row = DocumentRow(
            id=document_id,
            case_id=request.case_id,
            kind=request.kind.value,
            version=version,
            filename=filename(state.case_number, request.kind.value, version),
            size=len(content),
            sha256=hashlib.sha256(content).hexdigest(),
            content=content,
            idempotency_key=key,
            created_at=now,
        )
        # The PDF is decided with the Word file: stored with it, or not at all (a retried conversion makes both).
        pdf = await self._pdfs.make(row, properties.title, request.letterhead, attempt)
        session.add(row)
        await session.flush()
        session.add(pdf)
        if request.kind == DocumentKind.REFERRAL_PACKET:
            await evidence.append_custody_to_each(  # in the same transaction as the packet: never one without the other
                session,
                [entry.item.id for entry in state.evidence if entry.removed is None],
                request.case_id,
                Custody.INCLUDED_IN_PACKET,
                now,
                # To whom the packet is addressed: its delivery's custody event names them.
                {"document_id": document_id, "version": version, "addressed_to": request.letterhead.prosecutor.name},
                once="document_id",
            )
        log.info(
            "document_generated",
            case_id=request.case_id,
            kind=request.kind.value,
            version=version,
            size=row.size,
            pdf=pdf.size is not None,
        )
        return row

    async def _packet_inputs(
        self, session, request: DocumentRequest, now: datetime
    ) -> tuple[list[CaseEventRow], dict[str, list[CustodyEventRow]]]:
        """The case's events and each item's custody, up to the packet."""
        events = await cases.list_events(session, request.case_id)
        if request.state is not None:  # the chronology as it stood at the request
            events = [e for e in events if e.seq <= request.event_seq]
        # Each item's custody up to the packet (what came after is not this version's to tell).
        # (Strictly before it, and never this packet's own inclusion: made again from its request, it is the same.)
        custody = {
            item: [row for row in rows if row.at < now and row.data.get("document_id") != request.document_id]
            for item, rows in (await evidence.custody_of_case(session, request.case_id)).items()
        }
        return events, custody


def _key(request: DocumentRequest) -> str:
    """A document's idempotency key: its request's id (or, for the oldest requests, the event it was asked at)."""
    named = request.document_id is not None
    return f"{request.workflow_id}:{request.document_id if named else request.event_seq}:{request.kind.value}"
