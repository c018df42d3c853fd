"""Evidence files and references, their bytes and their chains of custody.

An upload streams from the socket to storage, its SHA-256 computed and its content type detected from its bytes
on the way; only then does the case (the workflow) learn of the item: its id, kind, size and hash, never the
bytes. Anything refused is refused with nothing kept: no row, no stored object, no event.
"""

import hashlib
import json
import re
import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Header, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import IntegrityError

from api.actions import StepKind, take_step
from api.deps import ClientDep, CurrentUser, SessionDep, SettingsDep, VisibleIncident, permits
from api.errors import ApiError, documented, field_path, refuse_clock_problems
from api.upload import Part, multipart
from domain.case import CaseState, EvidenceEntry, PersonRef
from domain.content_types import Sniffer, contradiction
from domain.enums import Stage
from domain.messages import EvidenceItem, EvidenceMetadata, EvidenceRemoval, Key, Line, Strict
from domain.permissions import Operation
from store import evidence
from store.audit import verify_chain
from store.blobs import blob_store, blob_store_named
from store.evidence import Custody
from store.tables import EvidenceFileRow
from workflows.incident import IncidentWorkflow

router = APIRouter(prefix="/incidents/{case_id}/evidence", tags=["evidence"],
                   responses=documented(401, 404, 422, 429, 503))

ADD = StepKind(Operation.ADD_EVIDENCE, "", EvidenceItem, IncidentWorkflow.add_evidence, "Add an evidence item")
REMOVE = StepKind(Operation.REMOVE_EVIDENCE, "", EvidenceRemoval, IncidentWorkflow.remove_evidence,
                  "Take a wrongly attached item off the case")
# Uploads retried with the same Idempotency-Key by the same person on the same case are one item.
EVIDENCE_NAMESPACE = uuid.UUID("0b6f5d2e-3c1a-4e0f-9d8b-7a6c5e4f3d21")
METADATA_LIMIT = 64 * 1024
FORM_PART_MODELS = [EvidenceMetadata]  # described in the OpenAPI components (api/main.py)


class RemovalIn(Strict):
    """Why the item is taken off the case (a wrongly attached file): kept in its custody log's tombstone."""

    reason: Line


class RemovedOut(BaseModel):
    reason: str
    by: PersonRef
    at: datetime


class EvidenceOut(EvidenceItem):
    number: int
    added_by: PersonRef
    added_at: datetime
    removed: RemovedOut | None = None
    download: str | None  # the bytes, while the item is a file here and not removed
    custody: str


class EvidenceList(BaseModel):
    case_id: str
    items: list[EvidenceOut]


class CustodyEventOut(BaseModel):
    seq: int
    kind: str
    actor_id: str | None
    actor_name: str | None
    at: datetime
    data: dict
    prev_hash: str
    hash: str


class CustodyLog(BaseModel):
    evidence_id: str
    number: int
    chain_valid: bool
    items: list[CustodyEventOut]


def evidence_out(case_id: str, entry: EvidenceEntry) -> EvidenceOut:
    base = f"/incidents/{case_id}/evidence/{entry.item.id}"
    removed = entry.removed
    return EvidenceOut(
        **entry.item.model_dump(), number=entry.number, added_by=entry.added_by, added_at=entry.added_at,
        removed=RemovedOut(reason=removed.payload.reason, by=removed.by, at=removed.at) if removed else None,
        download=base if entry.item.sha256 and not removed else None, custody=f"{base}/custody")


def _client(request: Request) -> str | None:
    return request.client.host if request.client else None


_SAFE_NAME = re.compile(r"[^\w.\- ()]+")


def safe_filename(name: str | None, fallback: str) -> str:
    """The client's file name without a path or characters a header or a file system would trip on."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = _SAFE_NAME.sub("_", base).strip(" ._")[:120]
    return cleaned or fallback


def _metadata(raw: bytes) -> EvidenceMetadata:
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ApiError(422, f"metadata: not valid JSON ({exc})", [{"field": "metadata", "message": "not valid JSON"}])
    try:
        metadata = EvidenceMetadata.model_validate(data)
    except ValidationError as exc:
        details = [{"field": "metadata" + ("." + field_path(("body", *e["loc"])) if e["loc"] else ""),
                    "message": e["msg"].removeprefix("Value error, ")} for e in exc.errors()]
        raise ApiError(422, "; ".join(f"{d['field']}: {d['message']}" for d in details), details) from None
    try:
        refuse_clock_problems(metadata)
    except ApiError as exc:
        exc.details = [{"field": f"metadata.{d['field']}", "message": d["message"]} for d in exc.details]
        exc.message = "; ".join(f"{d['field']}: {d['message']}" for d in exc.details)
        raise
    return metadata


class _Received:
    """An upload as it streams: the metadata part, and the file part written to storage, hashed and sniffed."""

    def __init__(self, store, key: str, limit: int):
        self.store, self.key, self.limit = store, key, limit
        self.metadata: EvidenceMetadata | None = None
        self.filename: str | None = None
        self.size = 0
        self.sha256 = hashlib.sha256()
        self.sniffer = Sniffer()
        self.writer = None

    async def read(self, request: Request) -> None:
        part: Part | None = None
        raw = bytearray()
        async for item in multipart(request):
            if isinstance(item, Part):
                part = item
                if part.name not in ("metadata", "file"):
                    raise ApiError(422, f"{part.name or '(no name)'}: unknown part; send `metadata` and `file`",
                                   [{"field": part.name or "(no name)", "message": "unknown part"}])
                if part.name == "file":
                    if self.writer is not None:
                        raise ApiError(422, "file: one file per item", [{"field": "file", "message": "one file"}])
                    self.filename = part.filename
                    self.writer = self.store.writer(self.key)
            elif item is None:  # the part ended
                if part is not None and part.name == "metadata":
                    if self.metadata is not None:
                        raise ApiError(422, "metadata: sent twice", [{"field": "metadata", "message": "sent twice"}])
                    self.metadata = _metadata(bytes(raw))
                part = None
            elif part is not None and part.name == "metadata":
                raw += item
                if len(raw) > METADATA_LIMIT:
                    raise ApiError(413, f"metadata: over {METADATA_LIMIT} bytes")
            elif part is not None:
                await self._file_data(item)

    async def _file_data(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.limit:  # refused as soon as the limit is passed: the rest is never read
            raise ApiError(413, f"file: over the limit of {self.limit} bytes", [{"field": "file",
                           "message": f"over the limit of {self.limit} bytes"}], headers={"Connection": "close"})
        self.sha256.update(data)
        self.sniffer.feed(data)
        await self.writer.write(data)

    async def abort(self) -> None:
        if self.writer is not None:
            await self.writer.abort()


def _refuse(field: str, message: str, status: int = 422) -> ApiError:
    return ApiError(status, f"{field}: {message}", [{"field": field, "message": message}])


def _item(received: _Received, evidence_id: str, client: str | None) -> EvidenceItem:
    """The item the case is to hold, once the whole body is in; refused, naming the field, if it cannot be one."""
    metadata = received.metadata
    if metadata is None:
        raise _refuse("metadata", "missing: send a `metadata` part with the item's kind, description, source, "
                      "collected_by and collected_at")
    if received.writer is None:
        if metadata.held_elsewhere is None:
            raise _refuse("file", "missing: send the file, or give metadata.held_elsewhere for evidence kept "
                          "in another system")
        return EvidenceItem(**metadata.model_dump(), id=evidence_id, received_from=client)
    if metadata.held_elsewhere is not None:
        raise _refuse("metadata.held_elsewhere", "is for evidence without a file here; send one or the other")
    detected = received.sniffer.result()
    if detected.refusal:
        raise _refuse("file", detected.refusal)
    if problem := contradiction(metadata.kind.value, detected.content_type):
        raise _refuse("metadata.kind", problem)
    return EvidenceItem(**metadata.model_dump(), id=evidence_id, received_from=client,
                        filename=safe_filename(received.filename, f"evidence-{evidence_id[:8]}"),
                        content_type=detected.content_type, size=received.size,
                        sha256=received.sha256.hexdigest())


def _same_upload(entry: EvidenceEntry, item: EvidenceItem) -> bool:
    ignore = {"id", "received_from", "filename"}
    return entry.item.model_dump(exclude=ignore) == item.model_dump(exclude=ignore)


class _Discard:
    """A writer that keeps nothing: the body of a retried upload is read only to compare it with the first."""

    async def write(self, data: bytes) -> None: ...
    async def commit(self) -> None: ...
    async def abort(self) -> None: ...


class _NoStore:
    name = "none"

    def writer(self, key: str) -> _Discard:
        return _Discard()


_UPLOAD_BODY = {"requestBody": {"required": True, "content": {"multipart/form-data": {
    "schema": {"type": "object", "required": ["metadata"], "additionalProperties": False, "properties": {
        "metadata": {"$ref": "#/components/schemas/EvidenceMetadata"},
        "file": {"type": "string", "format": "binary",
                 "description": "the file (JPEG, PNG, HEIC, PDF, MP4, QuickTime, MP3, WAV, M4A, DOCX or plain "
                                "text); leave it out for evidence held elsewhere"}}},
    "encoding": {"metadata": {"contentType": "application/json"}}}}}}


@router.post("", status_code=201, response_model=EvidenceOut, dependencies=[permits(Operation.ADD_EVIDENCE)],
             responses={200: {"model": EvidenceOut, "description": "the item an earlier upload with this "
                              "Idempotency-Key added"}, **documented(403, 409, 413, 415)},
             openapi_extra=_UPLOAD_BODY, summary="Add an evidence file, or a reference to evidence held elsewhere")
async def add_evidence(request: Request, incident: VisibleIncident, user: CurrentUser, client: ClientDep,
                       session: SessionDep, settings: SettingsDep, response: Response,
                       idempotency_key: Annotated[str | None, Header(min_length=1, max_length=200)] = None):
    if incident.stage == Stage.CLOSED:
        raise ApiError(409, f"the case is closed ({incident.disposition}); no evidence can be added")
    evidence_id = (str(uuid.uuid5(EVIDENCE_NAMESPACE, f"{user.id}:{incident.id}:{idempotency_key}"))
                   if idempotency_key else str(uuid.uuid4()))
    earlier = CaseState.model_validate(incident.state).evidence_item(evidence_id)
    store = _NoStore() if earlier else blob_store(settings, request.app.state.sessions)
    received = _Received(store, f"{incident.id}/{evidence_id}/{uuid.uuid4()}", settings.max_evidence_bytes)
    try:
        await received.read(request)
        item = _item(received, evidence_id, _client(request))
    except BaseException:
        await received.abort()
        raise
    if earlier is not None:
        if not _same_upload(earlier, item):
            raise ApiError(409, "this Idempotency-Key was already used for a different upload",
                           [{"field": "Idempotency-Key", "message": "used for a different upload"}])
        response.status_code = 200
        return evidence_out(incident.id, earlier)
    if received.writer is not None:
        await received.writer.commit()
    try:
        if item.sha256 is not None:
            session.add(EvidenceFileRow(id=evidence_id, case_id=incident.id, storage=store.name, key=received.key,
                                        size=item.size, sha256=item.sha256, content_type=item.content_type,
                                        filename=item.filename, stored_at=datetime.now(UTC)))
            await session.commit()
        stored = await take_step(ADD, item, incident, user, client, session, settings, evidence_id)
    except BaseException as exc:
        # Refused by the case (closed meanwhile, no such person), or the same upload racing itself: keep nothing
        # of this attempt; the row is the other attempt's if it won the race.
        await session.rollback()
        if received.writer is not None:
            await store.delete(received.key)
            await _forget_file(session, evidence_id, received.key)
        if isinstance(exc, IntegrityError):
            raise ApiError(409, "the same upload is being stored by another request; send it again to read its "
                           "outcome", [{"field": "Idempotency-Key", "message": "an upload with this key is under way"}]
                           ) from None
        raise
    entry = CaseState.model_validate(stored.state).evidence_item(evidence_id)
    return evidence_out(incident.id, entry)


async def _forget_file(session, evidence_id: str, key: str) -> None:
    row = await session.get(EvidenceFileRow, evidence_id)
    if row is not None and row.key == key:
        await session.delete(row)
        await session.commit()


def _entry(incident, evidence_id: str) -> EvidenceEntry:
    entry = CaseState.model_validate(incident.state).evidence_item(evidence_id)
    if entry is None:
        raise ApiError(404, f"no evidence {evidence_id} in this case")
    return entry


@router.get("", response_model=EvidenceList)
async def list_evidence(incident: VisibleIncident):
    state = CaseState.model_validate(incident.state)
    return EvidenceList(case_id=incident.id, items=[evidence_out(incident.id, e) for e in state.evidence])


_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(first, last) of a single `Range: bytes=…` request, None for the whole file; 416 if it cannot be met.
    Several ranges in one request are answered with the whole file, as RFC 9110 allows."""
    if header is None or "," in header:
        return None
    match = _RANGE.match(header.strip())
    if match is None or match.groups() == ("", ""):
        return None  # not a byte range this server knows: ignored, as RFC 9110 says
    first, last = match.groups()
    if first == "":  # the last n bytes
        n = int(last)
        if n == 0:
            raise ApiError(416, "range not satisfiable", headers={"Content-Range": f"bytes */{size}"})
        return max(0, size - n), size - 1
    start, end = int(first), min(int(last) if last else size - 1, size - 1)
    if start >= size or start > end:
        raise ApiError(416, "range not satisfiable", headers={"Content-Range": f"bytes */{size}"})
    return start, end


async def serve_file(request: Request, incident, entry: EvidenceEntry, session, settings, actor: PersonRef,
                     custody_kind: str, inline: bool = False) -> Response:
    """The item's bytes (whole, or the range asked for), its custody log noting who took them, where to."""
    if entry.removed is not None:
        raise ApiError(404, f"evidence {entry.number} was removed from this case ({entry.removed.payload.reason})")
    if entry.item.sha256 is None:
        raise ApiError(404, f"evidence {entry.number} is held elsewhere ({entry.item.held_elsewhere.system}, "
                       f"{entry.item.held_elsewhere.reference}); there are no bytes here")
    row = await evidence.file_of(session, entry.item.id)
    span = byte_range(request.headers.get("range"), row.size)
    first, last = span or (0, row.size - 1)
    await evidence.append_custody(session, row.id, incident.id, custody_kind, datetime.now(UTC), {
        "client": _client(request), "bytes": f"{first}-{last}/{row.size}"}, actor.id, actor.name)
    await session.commit()
    store = blob_store_named(row.storage, settings, request.app.state.sessions)
    disposition = "inline" if inline else "attachment"
    headers = {"Content-Disposition": f'{disposition}; filename="{row.filename}"', "X-Content-Type-Options": "nosniff",
               "X-Content-SHA256": row.sha256, "Accept-Ranges": "bytes", "Content-Length": str(last - first + 1),
               "Cache-Control": "private, no-store"}
    if span is not None:
        headers["Content-Range"] = f"bytes {first}-{last}/{row.size}"
    return StreamingResponse(store.read(row.key, first, last), status_code=206 if span else 200,
                             media_type=row.content_type, headers=headers)


_FILE = {200: {"content": {"application/octet-stream": {}}, "description": "the file, with its stored content "
               "type"}, 206: {"content": {"application/octet-stream": {}}, "description": "the range asked for"},
         **documented(416)}


@router.get("/{evidence_id}", response_class=Response, responses=_FILE)
async def download_evidence(evidence_id: Key, request: Request, incident: VisibleIncident, user: CurrentUser,
                            session: SessionDep, settings: SettingsDep,
                            range: Annotated[str | None, Header(max_length=200)] = None):  # noqa: A002
    return await serve_file(request, incident, _entry(incident, evidence_id), session, settings,
                            PersonRef(id=user.id, name=user.name), Custody.DOWNLOADED)


@router.get("/{evidence_id}/custody", response_model=CustodyLog)
async def custody_log(evidence_id: Key, incident: VisibleIncident, session: SessionDep):
    entry = _entry(incident, evidence_id)
    rows = await evidence.custody(session, evidence_id)
    return CustodyLog(evidence_id=evidence_id, number=entry.number, chain_valid=verify_chain(evidence_id, rows) is None,
                      items=[CustodyEventOut(**r.model_dump(exclude={"evidence_id", "case_id"})) for r in rows])


@router.post("/{evidence_id}/removal", response_model=EvidenceOut, dependencies=[permits(Operation.REMOVE_EVIDENCE)],
             responses=documented(403, 409), summary="Take a wrongly attached item off the case (admin); its "
             "custody log keeps a tombstone with its hash, who, when and why")
async def remove_evidence(evidence_id: Key, body: RemovalIn, request: Request, incident: VisibleIncident,
                          user: CurrentUser, client: ClientDep, session: SessionDep, settings: SettingsDep):
    entry = _entry(incident, evidence_id)
    if entry.removed is None:
        removal = EvidenceRemoval(evidence_id=evidence_id, reason=body.reason)
        incident = await take_step(REMOVE, removal, incident, user, client, session, settings, f"remove-{evidence_id}")
        entry = _entry(incident, evidence_id)
    # The bytes go once the case has recorded why (again, if an earlier removal stopped before this point).
    row = await evidence.file_of(session, evidence_id)
    if row is not None and row.deleted_at is None:
        await blob_store_named(row.storage, settings, request.app.state.sessions).delete(row.key)
        row.deleted_at = datetime.now(UTC)
        session.add(row)
        await session.commit()
    return evidence_out(incident.id, entry)


