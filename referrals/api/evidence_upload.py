"""Adding an evidence item from a multipart body: the one code path behind the JSON API and the desk's form.

The file part streams from the socket to storage, its SHA-256 computed and its content type detected from its
bytes on the way; only then does the case (the workflow) learn of the item: its id, kind, size and hash, never the
bytes. Anything refused is refused with nothing kept: no row, no stored object, no event.
"""

import asyncio
import hashlib
import json
import re
import uuid
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime, tzinfo

from fastapi import Request
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client

from referrals.api.actions import take_step
from referrals.api.client_address import client_address
from referrals.api.errors import ApiError, field_problems, refuse_clock_problems
from referrals.api.upload import Part, multipart
from referrals.config import Settings
from referrals.domain import steps
from referrals.domain.case import CaseState, EvidenceEntry
from referrals.domain.content_types import Sniffer, contradiction
from referrals.domain.enums import Stage
from referrals.domain.messages import EvidenceItem, EvidenceMetadata
from referrals.store import blobs
from referrals.store.blobs import Writer, blob_store
from referrals.store.tables import AppUser, EvidenceFileRow, Incident

ADD = steps.ADD_EVIDENCE
# Uploads retried with the same Idempotency-Key by the same person on the same case are one item.
EVIDENCE_NAMESPACE = uuid.UUID("0b6f5d2e-3c1a-4e0f-9d8b-7a6c5e4f3d21")
FIELDS_LIMIT = 64 * 1024  # all the parts but the file, together


_SAFE_NAME = re.compile(r"[^A-Za-z0-9_.\- ()]+")


def safe_filename(name: str | None, fallback: str) -> str:
    """The client's file name without a path or characters a header or a file system would trip on (ASCII only:
    it goes into Content-Disposition)."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = _SAFE_NAME.sub("_", base).strip(" .")[-120:]
    stem, dot, extension = cleaned.rpartition(".")
    if not re.search(r"[A-Za-z0-9]", stem if dot else cleaned):  # nothing left of the name but its extension
        return fallback + (f".{extension}" if dot and extension else "")
    return cleaned


def _refuse(field: str, message: str, status: int = 422) -> ApiError:
    return ApiError(status, f"{field}: {message}", [{"field": field, "message": message}])


def metadata_from(data, prefix: str, zone: tzinfo = UTC) -> EvidenceMetadata:
    """The item's metadata from what was sent, refused (422) naming each field under `prefix`."""

    def named(field: str) -> str:
        return f"{prefix}.{field}" if prefix else field

    try:
        metadata = EvidenceMetadata.model_validate(data)
    except ValidationError as exc:  # located as a request body's errors are, then under `prefix`
        details = [
            {**d, "field": prefix or "body" if d["field"] == "body" else named(d["field"])}
            for d in field_problems([{**e, "loc": ("body", *e["loc"])} for e in exc.errors()])
        ]
        raise ApiError(422, "; ".join(f"{d['field']}: {d['message']}" for d in details), details) from None
    try:
        refuse_clock_problems(metadata, zone)
    except ApiError as exc:
        exc.details = [{**d, "field": named(d["field"])} for d in exc.details]
        exc.message = "; ".join(f"{d['field']}: {d['message']}" for d in exc.details)
        raise
    return metadata


def json_metadata(fields: dict[str, str]) -> EvidenceMetadata:
    """The API's shape: a `metadata` part holding the item's metadata as JSON (and a `file` part)."""
    for name in fields:
        if name != "metadata":
            raise _refuse(name or "(no name)", "unknown part; send `metadata` and `file`")
    if "metadata" not in fields:
        raise _refuse(
            "metadata",
            "missing: send a `metadata` part with the item's kind, description, source, collected_by and collected_at",
        )
    try:
        data = json.loads(fields["metadata"])
    except ValueError as exc:
        raise _refuse("metadata", f"not valid JSON ({exc})") from None
    return metadata_from(data, "metadata")


class _Pipeline:
    """The file's bytes gathered into the writer's pieces (PostgreSQL: a chunk) and handed on: each hashed on a
    thread while the writer stores it (referrals/store/blobs.py, _Buffered: on tasks of their own) and the next is
    read from the socket, so that reading, hashing and writing overlap instead of taking turns. Pieces are hashed in
    order, one at a time; with the writer's few under way, memory stays at a few pieces whatever the file's size."""

    def __init__(self, writer: Writer, sha256):
        self.writer, self.sha256 = writer, sha256
        self.parts: deque[bytes | memoryview] = deque()
        self.gathered = 0
        self.hashing: asyncio.Task | None = None

    async def add(self, data: bytes) -> None:
        self.parts.append(data)
        self.gathered += len(data)
        size = self.writer.size
        while self.gathered >= size:  # a whole piece: the parts it takes joined (a part split with no copy)
            taken: list[bytes | memoryview] = []
            need = size
            while need:
                part = self.parts.popleft()
                if len(part) > need:
                    view = memoryview(part)
                    part, rest = view[:need], view[need:]
                    self.parts.appendleft(rest)
                taken.append(part)
                need -= len(part)
            self.gathered -= size
            await self._send(taken[0] if len(taken) == 1 and isinstance(taken[0], bytes) else b"".join(taken))

    async def _send(self, piece: bytes) -> None:
        await self._hashed()  # the piece before (hashed while this one was read, so rarely a wait)
        self.hashing = asyncio.create_task(asyncio.to_thread(self.sha256.update, piece))
        await self.writer.write(piece)

    async def _hashed(self) -> None:
        task, self.hashing = self.hashing, None
        if task is not None:
            await task

    async def finish(self) -> None:
        """The last bytes (short of a piece) handed on, and every byte hashed."""
        rest = b"".join(self.parts)
        self.parts.clear()
        self.gathered = 0
        if rest:
            await self._send(rest)
        await self._hashed()


class _Received:
    """An upload as it streams: its small parts kept (the metadata), its file part written to storage, hashed
    and sniffed, and refused as soon as it passes the limit."""

    def __init__(self, store, key: str, limit: int):
        self.store, self.key, self.limit = store, key, limit
        self.fields: dict[str, str] = {}
        self.filename: str | None = None
        self.size = 0
        self.sha256 = hashlib.sha256()
        self.sniffer = Sniffer()
        self.writer: Writer | None = None
        self.pipeline: _Pipeline | None = None

    async def read(self, request: Request) -> None:
        """The whole body read; when it returns, the file's bytes are hashed and written but for a last short piece
        that the writer's commit writes."""
        part: Part | None = None
        raw, kept = bytearray(), 0
        async for item in multipart(request):
            if isinstance(item, Part):
                part = item
                kept += len(part.name) + len(part.filename or "")  # names count towards the limit too
                if kept > FIELDS_LIMIT:
                    raise _refuse(part.name, f"the parts other than the file are over {FIELDS_LIMIT} bytes", 413)
                if part.name in self.fields or part.name == "file" and self.writer is not None:
                    raise _refuse(part.name, "sent twice; one of each part per item")
                if part.name == "file":
                    self.filename = part.filename
                    self.writer = self.store.writer(self.key)
                    self.pipeline = _Pipeline(self.writer, self.sha256)
            elif item is None:  # the part ended
                if part is not None and part.name != "file":
                    self.fields[part.name] = raw.decode("utf-8", "replace")
                    raw.clear()
                part = None
            elif part is not None and part.name == "file":
                await self._file_data(item)
            elif part is not None:
                raw += item
                kept += len(item)
                if kept > FIELDS_LIMIT:
                    raise _refuse(part.name, f"the parts other than the file are over {FIELDS_LIMIT} bytes", 413)
        if self.pipeline is not None:
            await self.pipeline.finish()

    async def _file_data(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.limit:  # refused as soon as the limit is passed: the rest is never read
            raise ApiError(
                413,
                f"file: over the limit of {self.limit} bytes",
                [{"field": "file", "message": f"over the limit of {self.limit} bytes"}],
                headers={"Connection": "close"},
            )
        self.sniffer.feed(data)
        assert self.pipeline is not None  # the file part's data: its writer was made when the part began
        await self.pipeline.add(data)  # hashed and written there, in order

    async def abort(self) -> None:
        if self.writer is not None:
            await self.writer.abort()  # once what is under way is written: nothing is left behind

    def item(self, metadata: EvidenceMetadata, evidence_id: str, client: str | None, prefix: str) -> EvidenceItem:
        """The item the case is to hold, once the whole body is in; refused, naming the field, if it cannot be."""
        if self.writer is None or self.size == 0 and not self.filename:
            if metadata.held_elsewhere is None:
                raise _refuse(
                    "file", "missing: send the file, or give held_elsewhere for evidence kept in another system"
                )
            return EvidenceItem(**metadata.model_dump(), id=evidence_id, received_from=client)
        if metadata.held_elsewhere is not None:
            raise _refuse(f"{prefix}held_elsewhere", "is for evidence without a file here; send one or the other")
        detected = self.sniffer.result()
        if detected.refusal:
            raise _refuse("file", detected.refusal)
        assert detected.content_type is not None  # Detected: a content type when allowed, else a refusal
        if problem := contradiction(metadata.kind.value, detected.content_type):
            raise _refuse(f"{prefix}kind", problem)
        return EvidenceItem(
            **metadata.model_dump(),
            id=evidence_id,
            received_from=client,
            filename=safe_filename(self.filename, f"evidence-{evidence_id[:8]}"),
            content_type=detected.content_type,
            size=self.size,
            sha256=self.sha256.hexdigest(),
            storage=self.store.name,
            storage_key=self.key,
        )


def _same_upload(entry: EvidenceEntry, item: EvidenceItem) -> bool:
    ignore = {"id", "received_from", "filename", "storage", "storage_key"}
    return entry.item.model_dump(exclude=ignore) == item.model_dump(exclude=ignore)


class _Discard:
    """A writer that keeps nothing: the body of a retried upload is read only to compare it with the first."""

    @property
    def size(self) -> int:
        return blobs.CHUNK

    async def write(self, data: bytes) -> None: ...
    async def commit(self) -> None: ...
    async def abort(self) -> None: ...


class _NoStore:
    name = "none"

    def writer(self, key: str) -> _Discard:
        return _Discard()


async def add_upload(
    request: Request,
    incident: Incident,
    user: AppUser,
    client: Client,
    session: AsyncSession,
    settings: Settings,
    idempotency_key: str | None,
    metadata_of: Callable[[dict[str, str]], EvidenceMetadata],
    prefix: str = "metadata.",
) -> tuple[EvidenceEntry, bool]:
    """Stores the upload and adds its item to the case: (the item, whether this request added it; False when an
    earlier one with the same Idempotency-Key did). `metadata_of` reads the metadata from the small parts; refusals
    of it name its fields under `prefix`."""
    if incident.stage == Stage.CLOSED:
        raise ApiError(409, f"the case is closed ({incident.disposition}); no evidence can be added")
    evidence_id = (
        str(uuid.uuid5(EVIDENCE_NAMESPACE, f"{user.id}:{incident.id}:{idempotency_key}"))
        if idempotency_key
        else str(uuid.uuid4())
    )
    earlier = CaseState.stored_evidence_item(incident.state, evidence_id)
    await session.commit()  # the request holds no database connection while the file streams in
    store = _NoStore() if earlier else blob_store(settings, request.app.state.sessions)
    received = _Received(store, f"{incident.id}/{evidence_id}/{uuid.uuid4()}", settings.max_evidence_bytes)
    try:
        await received.read(request)
        metadata = metadata_of(received.fields)
        item = received.item(metadata, evidence_id, client_address(request), prefix)
        if earlier is None and item.sha256 is not None:
            assert received.writer is not None  # an item with a hash came with its file (_Received.item)
            await received.writer.commit()
    except BaseException:
        await received.abort()
        raise
    if earlier is not None:
        if not _same_upload(earlier, item):
            raise _refuse("Idempotency-Key", "was already used for a different upload", 409)
        return earlier, False
    if item.sha256 is not None:
        item = await _file_row(request.app.state.sessions, store, received, incident.id, item)
    try:
        stored = await take_step(ADD, item, incident, user, client, session, settings, evidence_id)
    except ApiError as exc:
        await session.refresh(incident)
        if (entry := CaseState.stored_evidence_item(incident.state, evidence_id)) is not None:
            return entry, False  # another attempt with this key added it meanwhile
        if exc.status in (403, 409, 422):  # the case refused it (closed meanwhile, no such person): keep nothing
            await _discard(session, store, evidence_id)
        raise
    # Any other failure (Temporal unreachable, the request's deadline) leaves the file and its row: the step may
    # yet be applied, and the same upload sent again with the same Idempotency-Key finds them.
    added = CaseState.stored_evidence_item(stored.state, evidence_id)
    assert added is not None  # the step just added it
    return added, True


async def _file_row(sessions, store, received: _Received, case_id: str, item: EvidenceItem) -> EvidenceItem:
    """Records where the file's bytes are; if an earlier attempt with the same Idempotency-Key stored the same
    bytes already (and stopped before the case recorded the item), this attempt's copy goes and that one is used.
    (A session of its own: a conflict here leaves the request's objects as they were.)"""
    # An item with a hash was uploaded here: _Received.item gave it all four.
    assert item.size is not None and item.sha256 is not None
    assert item.content_type is not None and item.filename is not None
    async with sessions() as session:
        session.add(
            EvidenceFileRow(
                id=item.id,
                case_id=case_id,
                storage=store.name,
                key=received.key,
                size=item.size,
                sha256=item.sha256,
                content_type=item.content_type,
                filename=item.filename,
                stored_at=datetime.now(UTC),
            )
        )
        try:
            await session.commit()
            return item
        except IntegrityError:
            await session.rollback()
        await store.delete(received.key)
        existing = await session.get(EvidenceFileRow, item.id)
    if existing is None or (existing.sha256, existing.size) != (item.sha256, item.size):
        raise _refuse("Idempotency-Key", "was already used for a different upload", 409)
    return item.model_copy(
        update={"filename": existing.filename, "storage": existing.storage, "storage_key": existing.key}
    )


async def _discard(session: AsyncSession, store, evidence_id: str) -> None:
    row = await session.get(EvidenceFileRow, evidence_id)
    if row is not None:
        await store.delete(row.key)
        await session.delete(row)
        await session.commit()
