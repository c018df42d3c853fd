"""The documents of a case: each a Word file and its PDF signed by the department, listed with their SHA-256 and
served as files (the PDF on `?format=pdf` or `Accept: application/pdf`)."""

import asyncio
from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from referrals.api import trail
from referrals.api.deps import CurrentUser, PolicyDep, SessionDep, SettingsDep, VisibleIncident, permits
from referrals.api.errors import ApiError, ErrorOut, documented
from referrals.documents.contact_sheet import contact_sheet as contact_sheet_context
from referrals.documents.pdf import PDF
from referrals.documents.render import FOLDER, Properties, filename, render
from referrals.domain.case import CaseState
from referrals.domain.content_types import DOCX
from referrals.domain.events import Letterhead
from referrals.domain.messages import Key
from referrals.domain.permissions import Operation
from referrals.sealing import Sealer
from referrals.store import documents
from referrals.store.tables import DocumentPdfRow

router = APIRouter(
    prefix="/incidents/{case_id}/documents", tags=["documents"], responses=documented(401, 404, 422, 429, 503)
)


class PdfOut(BaseModel):
    """The document's PDF: PDF/A made from the Word file by LibreOffice and signed by the department (PAdES), or why
    there is none."""

    state: Literal["signed", "unavailable"]
    filename: str
    size: int | None = None
    sha256: str | None = None
    download: str | None = Field(None, description="the PDF: the document's download with ?format=pdf")
    signed_by: str | None = Field(None, description="who the signing certificate names")
    signed_at: datetime | None = None
    unavailable: str | None = Field(None, description="why there is no PDF, in words for the case's readers")


class DocumentOut(BaseModel):
    id: str
    kind: str
    version: int
    filename: str
    size: int
    sha256: str
    created_at: datetime
    download: str
    pdf: PdfOut


class DocumentList(BaseModel):
    case_id: str
    items: list[DocumentOut]


@router.get("", response_model=DocumentList)
async def list_documents(request: Request, incident: VisibleIncident, user: CurrentUser, session: SessionDep):
    rows = await documents.list_for_case(session, incident.id)
    pdfs = await documents.pdfs_for_case(session, incident.id)
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
                pdf=pdf_out(pdfs.get(r.id), r.filename, f"/incidents/{incident.id}/documents/{r.id}?format=pdf"),
            )
            for r in rows
        ],
    )


def pdf_out(row: DocumentPdfRow | None, docx_filename: str, download: str) -> PdfOut:
    if row is None:  # made before documents had PDFs
        return PdfOut(
            state="unavailable",
            filename=docx_filename.removesuffix(".docx") + ".pdf",
            unavailable="this document was made before documents had PDFs",
        )
    if row.sha256 is None:
        return PdfOut(state="unavailable", filename=row.filename, unavailable=row.unavailable)
    return PdfOut(
        state="signed",
        filename=row.filename,
        size=row.size,
        sha256=row.sha256,
        download=download,
        signed_by=row.signed_by,
        signed_at=row.signed_at,
    )


def wants_pdf(format: str | None, accept: str | None) -> bool:
    """?format= decides; else the Accept header, when it ranks the PDF above the Word file (by q, then by order)."""
    if format is not None:
        return format == "pdf"
    ranked: dict[str, tuple[float, int]] = {}
    for position, part in enumerate((accept or "").split(",")):
        media, *params = [piece.strip() for piece in part.split(";")]
        quality = next((p.split("=", 1)[1] for p in params if p.replace(" ", "").startswith("q=")), "1")
        try:
            ranked.setdefault(media.lower(), (float(quality), -position))
        except ValueError:
            continue
    pdf, docx = ranked.get(PDF, (0.0, 0)), ranked.get(DOCX, ranked.get("*/*", (0.0, 0)))
    return pdf[0] > 0 and pdf > docx


NO_PDF = {
    "model": ErrorOut,
    "description": "the PDF was asked for and the document has none: the message says why (LibreOffice absent where "
    "the worker ran, PDFs turned off, or the conversion failing)",
}


@router.get(
    "/{document_id}",
    response_class=Response,
    responses={
        200: {
            "content": {DOCX: {}, PDF: {}},
            "description": "the Word file; the PDF signed by the department with ?format=pdf or Accept: application/pdf",
        },
        409: NO_PDF,
    },
)
async def download(
    request: Request,
    document_id: Key,
    incident: VisibleIncident,
    user: CurrentUser,
    session: SessionDep,
    format: Annotated[
        Literal["docx", "pdf"] | None,
        Query(description="docx or pdf; unset, the Accept header chooses (the Word file unless it prefers the PDF)"),
    ] = None,
):
    row = await documents.get(session, incident.id, document_id)
    if row is None:
        await trail.record(
            request, trail.action_of(request), trail.NOT_FOUND, user=user, case_id=incident.id, target=document_id
        )
        raise ApiError(404, f"no document {document_id} in this case")
    if not wants_pdf(format, request.headers.get("accept")):
        await trail.allowed(request, user, case_id=incident.id, target=document_id)
        return Response(
            row.content,
            media_type=DOCX,
            headers={
                "Content-Disposition": f'attachment; filename="{row.filename}"',
                "X-Content-SHA256": row.sha256,
                "Vary": "Accept",
            },
        )
    pdf = await documents.pdf_of(session, document_id)
    if pdf is None or pdf.content is None:
        why = pdf_out(pdf, row.filename, "").unavailable
        await trail.record(
            request,
            trail.action_of(request),
            trail.NOT_FOUND,
            user=user,
            case_id=incident.id,
            target=document_id,
            details={"format": "pdf"},
        )
        raise ApiError(409, f"the document {row.filename} has no PDF: {why}")
    await trail.allowed(request, user, case_id=incident.id, target=document_id, details={"format": "pdf"})
    return Response(
        pdf.content,
        media_type=PDF,
        headers={
            "Content-Disposition": f'attachment; filename="{pdf.filename}"',
            "X-Content-SHA256": pdf.sha256 or "",
            "Vary": "Accept",
        },
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
