"""The activity that writes Word documents from the templates under templates/documents/."""

import asyncio
import hashlib
import io
import re
import struct
import uuid
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import structlog
from docxtpl import DocxTemplate
from jinja2 import Template
from jinja2.sandbox import SandboxedEnvironment
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio import activity

from referrals.activities import document_context, touhy_context
from referrals.activities.rendering import TEMPLATES
from referrals.domain.case import CaseState, DocumentRef
from referrals.domain.enums import DocumentKind
from referrals.domain.events import DocumentRequest
from referrals.observability.worker_metrics import rendering
from referrals.store import cases, documents, evidence
from referrals.store.evidence import Custody
from referrals.store.tables import DocumentRow, Incident

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
log = structlog.get_logger()


class _TemplateEnvironment(SandboxedEnvironment):
    """Sandboxed and autoescaping; compiles each template part once. docxtpl hands Jinja the same
    XML source for a template part on every render, and compiling it was a tenth of a render."""

    def __init__(self) -> None:
        super().__init__(autoescape=True)
        self._compiled: dict[str, Template] = {}

    def from_string(self, source, globals=None, template_class=None):  # noqa: A002 (Jinja's signature)
        if globals is not None or template_class is not None or not isinstance(source, str):
            return super().from_string(source, globals, template_class)
        if (compiled := self._compiled.get(source)) is None:
            compiled = self._compiled[source] = super().from_string(source)
        return compiled


_ENVIRONMENT = _TemplateEnvironment()


class _Template(DocxTemplate):
    """Patches each template part's XML for Jinja once. docxtpl runs some twenty regular expressions over a
    part's XML on every render to join the tags Word splits a `{{ }}` across, and the XML is the template's
    own, the same each time (a third of a render was spent so)."""

    _patched: dict[str, str] = {}

    def patch_xml(self, src_xml: str) -> str:
        if (patched := self._patched.get(src_xml)) is None:
            patched = self._patched[src_xml] = super().patch_xml(src_xml)
        return patched

    def resolve_listing(self, xml: str) -> str:
        """docxtpl turns a tab, a newline, a bell or a form feed inside a text run into Word's tab, line break,
        paragraph or page break, paragraph by paragraph and run by run. With none in any run's text there is
        nothing to turn, and one search says so (the walk took another third)."""
        if _LISTING_CHARACTER.search(xml) is None:
            return xml
        return super().resolve_listing(xml)


# A character resolve_listing turns, in a run's text (<w:t>…</w:t>, whose text holds no "<").
_LISTING_CHARACTER = re.compile(r"<w:t(?: [^>]*)?>[^<]*[\t\a\n\f]")


def render(template: Path, context: dict) -> bytes:
    """Fill a docxtpl template: user text enters as escaped values in a sandboxed environment. The
    same context gives the same bytes (the package's parts are stamped with one fixed time)."""
    document = _Template(template)
    document.render(context, jinja_env=_ENVIRONMENT)
    out = io.BytesIO()
    document.save(out)
    return _fixed_times(out.getvalue())


def _fixed_times(package: bytes) -> bytes:
    """The .docx with every part stamped 1980-01-01 00:00 instead of the moment it was zipped: the
    two-byte time and date fields of each local header and central directory entry, set in place."""
    out = bytearray(package)
    with zipfile.ZipFile(io.BytesIO(package)) as archive:
        central = archive.start_dir
        for info in archive.infolist():
            out[info.header_offset + 10 : info.header_offset + 14] = _EPOCH  # local header: time, date
            out[central + 12 : central + 16] = _EPOCH  # central directory entry: time, date
            names, extra, comment = struct.unpack_from("<HHH", out, central + 28)
            central += 46 + names + extra + comment
    return bytes(out)


_EPOCH = struct.pack("<HH", 0, 1 << 5 | 1)  # MS-DOS time 00:00:00, date 1980-01-01 (years count from 1980)


class DocumentWriter:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], folder: Path = TEMPLATES / "documents") -> None:
        self._sessions = sessions
        self._folder = folder

    @activity.defn(name="generate_document")
    async def generate(self, request: DocumentRequest) -> DocumentRef:
        """Once per document: a retry returns the document the first attempt stored."""
        return _ref(await self.write(request))

    async def write(self, request: DocumentRequest) -> DocumentRow:
        """Render and store one document, or return the one stored for this request before. A request
        that carries the case is rendered from it alone: the same request makes the same bytes."""
        exact = request.state is not None
        # A request handed on by a continue-as-new without its case (not its kind's latest) keeps its id.
        named = request.document_id is not None
        key = f"{request.workflow_id}:{request.document_id if named else request.event_seq}:{request.kind.value}"
        async with self._sessions() as session, session.begin():
            if (existing := await documents.by_key(session, key)) is not None:
                return existing
            if exact:
                state, version, now, document_id = request.state, request.version, request.at, request.document_id
            elif named:  # made again after a restore, from the case as stored, under its own id and version
                incident = await session.get(Incident, request.case_id, with_for_update=True)
                state = CaseState.model_validate(incident.state)
                version, now, document_id = request.version, request.at, request.document_id
            else:
                # Locking the case row serialises version numbers per case.
                incident = await session.get(Incident, request.case_id, with_for_update=True)
                state = CaseState.model_validate(incident.state)
                version = await documents.next_version(session, request.case_id, request.kind.value)
                now, document_id = datetime.now(UTC), str(uuid.uuid4())
            structlog.contextvars.bind_contextvars(case_number=state.case_number)
            context = await self._context(session, request, state, now, version)
            with rendering(request.kind.value):
                content = await asyncio.to_thread(render, self._folder / f"{request.kind.value}.docx", context)
            row = DocumentRow(
                id=document_id,
                case_id=request.case_id,
                kind=request.kind.value,
                version=version,
                filename=f"{state.case_number}-{request.kind.value.replace('_', '-')}-v{version}.docx",
                size=len(content),
                sha256=hashlib.sha256(content).hexdigest(),
                content=content,
                idempotency_key=key,
                created_at=now,
            )
            session.add(row)
            if request.kind == DocumentKind.REFERRAL_PACKET:
                await session.flush()
                for entry in state.evidence:  # in the same transaction as the packet: one is never without the other
                    if entry.removed is None:
                        await evidence.append_custody(
                            session,
                            entry.item.id,
                            request.case_id,
                            Custody.INCLUDED_IN_PACKET,
                            now,
                            {"document_id": document_id, "version": version},
                            once="document_id",
                        )
        log.info("document_generated", case_id=request.case_id, kind=request.kind.value, version=version, size=row.size)
        return row

    async def _context(self, session, request: DocumentRequest, state: CaseState, now: datetime, version: int):
        if request.kind == DocumentKind.PRESERVATION_REQUEST:
            return document_context.preservation_request(state, request.letterhead, now)
        if request.kind == DocumentKind.LEGAL_REVIEW_MEMO:
            return document_context.legal_review_memo(state, request.letterhead, now)
        if request.kind == DocumentKind.TOUHY_REQUEST:
            return touhy_context.touhy_request(state, request.letterhead, now, version)
        events = await cases.list_events(session, request.case_id)
        if request.state is not None:  # the chronology as it stood at the request
            events = [e for e in events if e.seq <= request.event_seq]
        # Each item's custody up to the packet (what came after is not this version's to tell).
        # (Strictly before it, and never this packet's own inclusion: made again from its request, it is the same.)
        custody = {
            item: [row for row in rows if row.at < now and row.data.get("document_id") != request.document_id]
            for item, rows in (await evidence.custody_of_case(session, request.case_id)).items()
        }
        return document_context.referral_packet(state, request.letterhead, now, events, version, custody)


def _ref(row: DocumentRow) -> DocumentRef:
    return DocumentRef(
        id=row.id,
        kind=DocumentKind(row.kind),
        version=row.version,
        filename=row.filename,
        size=row.size,
        sha256=row.sha256,
        created_at=row.created_at,
    )
