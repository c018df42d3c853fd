"""The Word documents of a case: listed with their SHA-256, served as files."""

from datetime import datetime

from fastapi import APIRouter, Response
from pydantic import BaseModel

from activities.documents import DOCX
from api.deps import SessionDep, VisibleIncident
from api.errors import ApiError, documented
from domain.messages import Key
from store import documents

router = APIRouter(prefix="/incidents/{case_id}/documents", tags=["documents"],
                   responses=documented(401, 404, 422, 429, 503))


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
async def list_documents(incident: VisibleIncident, session: SessionDep):
    rows = await documents.list_for_case(session, incident.id)
    return DocumentList(case_id=incident.id, items=[
        DocumentOut(id=r.id, kind=r.kind, version=r.version, filename=r.filename, size=r.size, sha256=r.sha256,
                    created_at=r.created_at, download=f"/incidents/{incident.id}/documents/{r.id}")
        for r in rows
    ])


@router.get("/{document_id}", response_class=Response,
            responses={200: {"content": {DOCX: {}}, "description": "the Word file"}})
async def download(document_id: Key, incident: VisibleIncident, session: SessionDep):
    row = await documents.get(session, incident.id, document_id)
    if row is None:
        raise ApiError(404, f"no document {document_id} in this case")
    return Response(row.content, media_type=DOCX, headers={
        "Content-Disposition": f'attachment; filename="{row.filename}"', "X-Content-SHA256": row.sha256})
