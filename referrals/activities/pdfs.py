"""Each generated document's PDF, made with it and stored in the same transaction as its Word file: converted by
LibreOffice (referrals/documents/pdf.py), signed by the department (referrals/documents/signing.py); or the reason
there is none. It never fails the document: where no PDF can be made the Word file is stored with that reason, and a
conversion that keeps failing is retried with the activity ATTEMPTS times (and for as long as a LibreOffice just
started is starting), then recorded as unavailable too."""

import asyncio
import hashlib
from datetime import UTC, datetime

import structlog
from temporalio import activity
from temporalio.exceptions import ApplicationError

from referrals.documents.pdf import ConversionFailed, Converter, NoConverter, Unavailable, pdf_filename
from referrals.documents.signing import DepartmentSigner
from referrals.domain.events import Letterhead
from referrals.store.tables import DocumentPdfRow, DocumentRow

log = structlog.get_logger()

ATTEMPTS = 3


class PdfMaker:
    def __init__(self, converter: Converter, signer: DepartmentSigner | None) -> None:
        self._converter = converter
        self._signer = signer

    @classmethod
    def none(cls, reason: str) -> "PdfMaker":
        return cls(NoConverter(reason), None)

    async def make(
        self, document: DocumentRow, title: str, letterhead: Letterhead, attempt: int | None = None
    ) -> DocumentPdfRow:
        """The signed PDF of `document` (not yet stored), or a row saying why there is none. `attempt`: which attempt
        at the document this is (the document maker's count; an activity's own otherwise)."""
        try:
            pdf = await self._converter.convert(document.content)
            if self._signer is None:
                raise Unavailable("no signing certificate was given where this document was made")
            reason = f"Issued by {letterhead.department}: {title}. Word file SHA-256 {document.sha256}."
            signer = self._signer
            signed = await asyncio.to_thread(
                lambda: signer.sign(pdf, reason=reason, location=letterhead.department_address)
            )
        except Unavailable as why:
            return self._without(document, str(why))
        except Exception as failure:  # whatever it is, the Word file is stored within ATTEMPTS attempts
            if attempt is None:
                attempt = activity.info().attempt if activity.in_activity() else ATTEMPTS
            log.warning("pdf_failed", document_id=document.id, attempt=attempt, problem=str(failure))
            starting = isinstance(failure, ConversionFailed) and failure.starting  # LibreOffice's first start: wait
            if attempt < ATTEMPTS or starting:
                raise ApplicationError(f"the PDF of {document.filename} could not be made: {failure}") from failure
            return self._without(document, f"the PDF could not be made after {attempt} attempts: {failure}")
        return DocumentPdfRow(
            document_id=document.id,
            filename=pdf_filename(document.filename),
            content=signed.pdf,
            size=len(signed.pdf),
            sha256=hashlib.sha256(signed.pdf).hexdigest(),
            signed_by=signed.signed_by,
            signed_at=signed.signed_at,
            created_at=datetime.now(UTC),
        )

    @staticmethod
    def _without(document: DocumentRow, reason: str) -> DocumentPdfRow:
        log.warning("pdf_unavailable", document_id=document.id, reason=reason)
        return DocumentPdfRow(
            document_id=document.id,
            filename=pdf_filename(document.filename),
            unavailable=reason,
            created_at=datetime.now(UTC),
        )
