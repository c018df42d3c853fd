"""Evidence files and references, their bytes and their chains of custody (uploads: referrals/api/evidence_upload.py)."""

import re
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Header, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from referrals.api import trail
from referrals.api.actions import take_step
from referrals.api.client_address import client_address
from referrals.api.deps import ClientDep, CurrentUser, SessionDep, SettingsDep, VisibleIncident, actor_of, permits
from referrals.api.errors import ApiError, documented, refuse_clock_problems
from referrals.api.evidence_upload import add_upload, json_metadata
from referrals.api.views import EventOut
from referrals.documents.custody import clock_in, court_chain, entry_text
from referrals.domain import steps
from referrals.domain.case import CaseState, EvidenceEntry, PersonRef
from referrals.domain.content_types import download_name
from referrals.domain.messages import EvidenceItem, EvidenceMetadata, EvidenceRemoval, Key, Line, RequestModel, Short
from referrals.domain.permissions import Operation
from referrals.store import evidence
from referrals.store.audit import verify_chain
from referrals.store.blobs import blob_store_named
from referrals.store.evidence import Custody
from referrals.store.tables import EvidenceFileRow

router = APIRouter(
    prefix="/incidents/{case_id}/evidence", tags=["evidence"], responses=documented(401, 404, 422, 429, 503)
)

REMOVE = steps.REMOVE_EVIDENCE
FORM_PART_MODELS = [EvidenceMetadata]  # described in the OpenAPI components (referrals/api/main.py)


class RemovalIn(RequestModel):
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


class CustodyEntryOut(BaseModel):
    """A line of the chain as a court reads it: the collection first, then the receipt, then what was done with the
    item; a person's openings or downloads within an hour told once, with their count."""

    kind: str
    at: datetime  # when it happened (for the collection, when the item was collected)
    by: str | None  # who (for the collection, who collected it); none for the system
    what: str  # in words, with the count: "Downloaded, 3 times, the last at 10:40 CST"
    times: int
    last_at: datetime | None
    events: list[int]  # the chain's events (`items[].seq`) it tells


class CustodyLog(BaseModel):
    evidence_id: str
    number: int
    chain_valid: bool
    entries: list[CustodyEntryOut]  # what a court reads (the addresses stay in `items`)
    items: list[EventOut]  # as the case's audit trail: each hash covers the event and the one before


def evidence_out(case_id: str, entry: EvidenceEntry) -> EvidenceOut:
    base = f"/incidents/{case_id}/evidence/{entry.item.id}"
    removed = entry.removed
    return EvidenceOut(
        **entry.item.model_dump(),
        number=entry.number,
        added_by=entry.added_by,
        added_at=entry.added_at,
        removed=RemovedOut(reason=removed.payload.reason, by=removed.by, at=removed.at) if removed else None,
        download=base if entry.item.sha256 and not removed else None,
        custody=f"{base}/custody",
    )


_UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["metadata"],
                    "additionalProperties": False,
                    "properties": {
                        "metadata": {"$ref": "#/components/schemas/EvidenceMetadata"},
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": "the file (JPEG, PNG, HEIC, PDF, MP4, QuickTime, MP3, WAV, M4A, DOCX or plain "
                            "text); leave it out for evidence held elsewhere",
                        },
                    },
                },
                "encoding": {"metadata": {"contentType": "application/json"}},
            }
        },
    }
}


@router.post(
    "",
    status_code=201,
    response_model=EvidenceOut,
    dependencies=[permits(steps.ADD_EVIDENCE.name)],
    responses={
        200: {"model": EvidenceOut, "description": "the item an earlier upload with this Idempotency-Key added"},
        **documented(403, 409, 413, 415),
    },
    openapi_extra=_UPLOAD_BODY,
    summary="Add an evidence file, or a reference to evidence held elsewhere",
)
async def add_evidence(
    request: Request,
    incident: VisibleIncident,
    user: CurrentUser,
    client: ClientDep,
    session: SessionDep,
    settings: SettingsDep,
    response: Response,
    idempotency_key: Annotated[str | None, Header(min_length=1, max_length=200)] = None,
):
    entry, created = await add_upload(
        request, incident, user, client, session, settings, idempotency_key, json_metadata
    )
    response.status_code = 201 if created else 200
    return evidence_out(incident.id, entry)


def _entry(incident, evidence_id: str) -> EvidenceEntry:
    entry = CaseState.stored_evidence_item(incident.state, evidence_id)
    if entry is None:
        raise ApiError(404, f"no evidence {evidence_id} in this case")
    return entry


async def _read_entry(request: Request, incident, evidence_id: str, user: trail.Person) -> EvidenceEntry:
    try:
        return _entry(incident, evidence_id)
    except ApiError:
        await trail.record(
            request, trail.action_of(request), trail.NOT_FOUND, user=user, case_id=incident.id, target=evidence_id
        )
        raise


@router.get("", response_model=EvidenceList)
async def list_evidence(request: Request, incident: VisibleIncident, user: CurrentUser):
    state = CaseState.model_validate(incident.state)
    listed = EvidenceList(case_id=incident.id, items=[evidence_out(incident.id, e) for e in state.evidence])
    await trail.allowed(request, user, case_id=incident.id)
    return listed


_RANGE = re.compile(r"^bytes=(\d{0,19})-(\d{0,19})$")


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


async def stored_file(request: Request, incident, entry: EvidenceEntry, session, actor: PersonRef) -> EvidenceFileRow:
    """The item's file row, or 404 (recorded in the access trail) when there are no bytes here to serve."""

    async def not_found(message: str) -> ApiError:
        await trail.record(
            request, trail.action_of(request), trail.NOT_FOUND, user=actor, case_id=incident.id, target=entry.item.id
        )
        return ApiError(404, message)

    if entry.removed is not None:
        raise await not_found(f"evidence {entry.number} was removed from this case ({entry.removed.payload.reason})")
    if entry.item.sha256 is None:
        assert entry.item.held_elsewhere is not None  # an item without a file here is held elsewhere (its validator)
        raise await not_found(
            f"evidence {entry.number} is held elsewhere ({entry.item.held_elsewhere.system}, "
            f"{entry.item.held_elsewhere.reference}); there are no bytes here"
        )
    row = await evidence.file_of(session, entry.item.id)
    if row is None or row.deleted_at is not None:  # the case knows the item, storage has no bytes for it
        raise await not_found(
            f"evidence {entry.number}: its bytes are not in storage (was the database restored "
            "from a backup older than the upload?); `referrals evidence verify` lists such items"
        )
    return row


async def serve_file(
    request: Request,
    incident,
    entry: EvidenceEntry,
    session,
    settings,
    actor: PersonRef,
    custody_kind: str,
    inline: bool = False,
) -> Response:
    """The item's bytes (whole, or the range asked for), its custody log noting who took them, where to: an event
    for each opening (a request from the first byte) and for a person's first request within the hour; the rest
    of a stream or a seek is told under that event, which its access trail entry names."""
    row = await stored_file(request, incident, entry, session, actor)
    span = byte_range(request.headers.get("range"), row.size)
    first, last = span or (0, row.size - 1)
    told_under = await evidence.record_access(
        session,
        row.id,
        incident.id,
        custody_kind,
        datetime.now(UTC),
        {"client": client_address(request), "bytes": f"{first}-{last}/{row.size}"},
        actor.id,
        actor.name,
        opening=first == 0,
    )
    await trail.allowed(
        request,
        actor,
        case_id=incident.id,
        target=row.id,
        details={"bytes": f"{first}-{last}/{row.size}", "custody_event": told_under},
    )
    await session.commit()
    store = blob_store_named(row.storage, settings, request.app.state.sessions)
    disposition = "inline" if inline else "attachment"
    # Saved under the detected type's extension (an HTML page sent as text comes back as .txt, not .html); the
    # stored name, as the client sent it, stays in the item's record.
    saved_as = download_name(row.filename or f"evidence-{row.id[:8]}", row.content_type)
    headers = {
        "Content-Disposition": f'{disposition}; filename="{saved_as}"',
        "X-Content-Type-Options": "nosniff",
        "X-Content-SHA256": row.sha256,
        "Accept-Ranges": "bytes",
        "Content-Length": str(last - first + 1),
        "Cache-Control": "private, no-store",
    }
    if span is not None:
        headers["Content-Range"] = f"bytes {first}-{last}/{row.size}"
    return StreamingResponse(
        store.read(row.key, first, last), status_code=206 if span else 200, media_type=row.content_type, headers=headers
    )


_FILE = {
    200: {"content": {"application/octet-stream": {}}, "description": "the file, with its stored content type"},
    206: {"content": {"application/octet-stream": {}}, "description": "the range asked for"},
    **documented(416),
}


@router.get("/{evidence_id}", response_class=Response, responses=_FILE)
async def download_evidence(
    evidence_id: Key,
    request: Request,
    incident: VisibleIncident,
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    range: Annotated[str | None, Header(max_length=200)] = None,
):  # noqa: A002
    return await serve_file(
        request,
        incident,
        await _read_entry(request, incident, evidence_id, user),
        session,
        settings,
        PersonRef.of(actor_of(user)),
        Custody.DOWNLOADED,
    )


@router.get("/{evidence_id}/custody", response_model=CustodyLog)
async def custody_log(
    evidence_id: Key, request: Request, incident: VisibleIncident, user: CurrentUser, session: SessionDep
):
    await _read_entry(request, incident, evidence_id, user)
    found = await custody_of(request, evidence_id, incident, session)
    await trail.allowed(request, user, case_id=incident.id, target=evidence_id)
    return found


async def custody_of(request: Request, evidence_id: str, incident, session) -> CustodyLog:
    entry = _entry(incident, evidence_id)
    rows = await evidence.custody(session, evidence_id)
    when = clock_in(request.app.state.policy.zone)
    return CustodyLog(
        evidence_id=evidence_id,
        number=entry.number,
        chain_valid=verify_chain(evidence_id, rows) is None,
        entries=[
            CustodyEntryOut(
                kind=told.kind,
                at=told.at,
                by=told.by,
                what=entry_text(told, when),
                times=told.times,
                last_at=told.last_at,
                events=told.seqs,
            )
            for told in court_chain(rows, entry.item)
        ],
        items=[EventOut(**r.model_dump(exclude={"evidence_id", "case_id"})) for r in rows],
    )


@router.post(
    "/{evidence_id}/removal",
    response_model=EvidenceOut,
    dependencies=[permits(steps.REMOVE_EVIDENCE.name)],
    responses=documented(403, 409),
    summary="Take a wrongly attached item off the case (admin); its "
    "custody log keeps a tombstone with its hash, who, when and why",
)
async def remove_evidence(
    evidence_id: Key,
    body: RemovalIn,
    request: Request,
    incident: VisibleIncident,
    user: CurrentUser,
    client: ClientDep,
    session: SessionDep,
    settings: SettingsDep,
):
    _entry(incident, evidence_id)
    # Under the item's lock until the removal is recorded: a hold placed meanwhile waits, then finds it removed.
    await evidence.lock_holds(session, evidence_id)
    await session.refresh(incident)
    entry = _entry(incident, evidence_id)
    if entry.removed is None and (holds := await evidence.holds_on(session, evidence_id)):
        raise ApiError(
            409, f"evidence {entry.number} is held under {', '.join(holds)}; the custodian releases each hold first"
        )
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


class HoldIn(RequestModel):
    """A hold on one item (a court's order, a litigation hold): while it stands, the item cannot be removed."""

    reference: Short  # the order or hold number
    reason: Line


class ReleaseIn(RequestModel):
    reference: Short  # which hold
    reason: Line


@router.post(
    "/{evidence_id}/hold",
    response_model=CustodyLog,
    dependencies=[permits(Operation.HOLD_EVIDENCE)],
    responses=documented(403, 409),
    summary="Place a hold on an item: its custody log records it, and the item cannot be removed until it is released",
)
async def hold_evidence(
    evidence_id: Key, body: HoldIn, request: Request, incident: VisibleIncident, user: CurrentUser, session: SessionDep
):
    refuse_clock_problems(
        body, request.app.state.policy.zone
    )  # its texts, as a step's are checked (a custody log shows them)
    _entry(incident, evidence_id)
    await evidence.lock_holds(session, evidence_id)  # a removal under way finishes first
    await session.refresh(incident)
    entry = _entry(incident, evidence_id)
    if entry.removed is not None:
        raise ApiError(409, f"evidence {entry.number} was removed from this case")
    if body.reference in await evidence.holds_on(session, evidence_id):
        raise ApiError(409, f"evidence {entry.number} is already held under {body.reference}")
    await evidence.append_custody(
        session,
        evidence_id,
        incident.id,
        Custody.HELD,
        datetime.now(UTC),
        {"reference": body.reference, "reason": body.reason, "client": client_address(request)},
        user.id,
        user.name,
    )
    await session.commit()
    return await custody_of(request, evidence_id, incident, session)


@router.post(
    "/{evidence_id}/release",
    response_model=CustodyLog,
    dependencies=[permits(Operation.HOLD_EVIDENCE)],
    responses=documented(403, 409),
    summary="Release one of an item's holds, by its reference",
)
async def release_evidence(
    evidence_id: Key,
    body: ReleaseIn,
    request: Request,
    incident: VisibleIncident,
    user: CurrentUser,
    session: SessionDep,
):
    refuse_clock_problems(body, request.app.state.policy.zone)
    entry = _entry(incident, evidence_id)
    await evidence.lock_holds(session, evidence_id)
    if body.reference not in await evidence.holds_on(session, evidence_id):
        raise ApiError(409, f"evidence {entry.number} has no hold {body.reference} standing")
    await evidence.append_custody(
        session,
        evidence_id,
        incident.id,
        Custody.RELEASED,
        datetime.now(UTC),
        {"reference": body.reference, "reason": body.reason, "client": client_address(request)},
        user.id,
        user.name,
    )
    await session.commit()
    return await custody_of(request, evidence_id, incident, session)
