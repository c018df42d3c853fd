"""The Word documents of a case: listed with their SHA-256, served as files."""

import asyncio
from datetime import UTC, datetime

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from referrals.api import trail
from referrals.api.deps import CurrentUser, PolicyDep, SessionDep, SettingsDep, VisibleIncident, permits
from referrals.api.errors import ApiError, documented
from referrals.documents.contact_sheet import contact_sheet as contact_sheet_context
from referrals.documents.render import FOLDER, Properties, filename, render
from referrals.domain.case import CaseState
from referrals.domain.content_types import DOCX
from referrals.domain.events import Letterhead
from referrals.domain.messages import Key
from referrals.domain.permissions import Operation
from referrals.sealing import Sealer
from referrals.store import documents

router = APIRouter(
    prefix="/incidents/{case_id}/documents", tags=["documents"], responses=documented(401, 404, 422, 429, 503)
)


class DocumentOut(BaseModel):
    id: str
    kind: str
    version: int
    filename: str
    size: int
    sha256: str
    created_at: datetime
    download: str


class DocumentList(BaseModel):
    case_id: str
    items: list[DocumentOut]


@router.get("", response_model=DocumentList)
async def list_documents(request: Request, incident: VisibleIncident, user: CurrentUser, session: SessionDep):
    rows = await documents.list_for_case(session, incident.id)
    await trail.allowed(request, user, case_id=incident.id)
    return DocumentList(
        case_id=incident.id,
        items=[
            DocumentOut(
                id=r.id,
                kind=r.kind,
                version=r.version,
                filename=r.filename,
                size=r.size,
                sha256=r.sha256,
                created_at=r.created_at,
                download=f"/incidents/{incident.id}/documents/{r.id}",
            )
            for r in rows
        ],
    )


@router.get(
    "/{document_id}", response_class=Response, responses={200: {"content": {DOCX: {}}, "description": "the Word file"}}
)
async def download(
    request: Request, document_id: Key, incident: VisibleIncident, user: CurrentUser, session: SessionDep
):
    row = await documents.get(session, incident.id, document_id)
    if row is None:
        await trail.record(
            request, trail.action_of(request), trail.NOT_FOUND, user=user, case_id=incident.id, target=document_id
        )
        raise ApiError(404, f"no document {document_id} in this case")
    await trail.allowed(request, user, case_id=incident.id, target=document_id)
    return Response(
        row.content,
        media_type=DOCX,
        headers={"Content-Disposition": f'attachment; filename="{row.filename}"', "X-Content-SHA256": row.sha256},
    )


# The prosecutor's confidential contact sheet: made when asked for, by those who may read contact
# details, from the case as stored; never stored itself, so the contact details stay sealed at rest.
contact_sheet_router = APIRouter(
    prefix="/incidents/{case_id}", tags=["documents"], responses=documented(401, 403, 404, 422, 429, 503)
)


@contact_sheet_router.get(
    "/contact-sheet",
    response_class=Response,
    dependencies=[permits(Operation.READ_CONTACT)],
    responses={200: {"content": {DOCX: {}}, "description": "the Word file, made now"}},
)
async def contact_sheet(
    request: Request, incident: VisibleIncident, user: CurrentUser, settings: SettingsDep, policy: PolicyDep
):
    state = CaseState.model_validate(incident.state)
    sealer = Sealer.of(settings.effective_encryption_keys)
    contacts = {p.id: sealer.open(p.contact) for p in state.people if p.contact is not None}
    letterhead, now = Letterhead.of(policy), datetime.now(UTC)
    context = contact_sheet_context(state, letterhead, now, contacts)
    properties = Properties(f"Contact sheet, {state.case_number}", letterhead.department, now)
    content = await asyncio.to_thread(render, FOLDER / "contact_sheet.docx", context, properties)
    await trail.allowed(request, user, case_id=incident.id)
    return Response(
        content,
        media_type=DOCX,
        headers={
            "Content-Disposition": f'attachment; filename="{filename(state.case_number, "contact_sheet")}"',
            "Cache-Control": "no-store",
        },
    )
