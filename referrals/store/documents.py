"""Generated documents: stored once per idempotency key, versioned per case and kind; each with its PDF, or why it has
none."""

from typing import cast

from sqlalchemy import func
from sqlalchemy.orm import QueryableAttribute, defer
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from referrals.domain.case import DocumentRef
from referrals.domain.enums import DocumentKind
from referrals.store.tables import DocumentDeliveryRow, DocumentPdfRow, DocumentRow


async def by_key(session: AsyncSession, key: str) -> DocumentRow | None:
    return (await session.exec(select(DocumentRow).where(DocumentRow.idempotency_key == key))).first()


async def made(session: AsyncSession, case_id: str, ids: list[str]) -> list[DocumentRef]:
    """Which of the case's documents `ids` are stored, as the case lists them, in the order asked."""
    if not ids:
        return []
    query = (
        select(DocumentRow)
        .where(DocumentRow.case_id == case_id, col(DocumentRow.id).in_(ids))
        .options(defer(cast(QueryableAttribute[bytes], DocumentRow.content)))
    )
    found = {row.id: row for row in (await session.exec(query)).all()}
    return [ref(found[i]) for i in ids if i in found]


def ref(row: DocumentRow) -> DocumentRef:
    """A stored document as its case lists it."""
    return DocumentRef(
        id=row.id,
        kind=DocumentKind(row.kind),
        version=row.version,
        filename=row.filename,
        size=row.size,
        sha256=row.sha256,
        created_at=row.created_at,
    )


async def next_version(session: AsyncSession, case_id: str, kind: str) -> int:
    query = select(func.max(DocumentRow.version)).where(DocumentRow.case_id == case_id, DocumentRow.kind == kind)
    return ((await session.exec(query)).one() or 0) + 1


async def list_for_case(session: AsyncSession, case_id: str) -> list[DocumentRow]:
    # Every column but the bytes.
    query = (
        select(DocumentRow)
        .where(DocumentRow.case_id == case_id)
        .order_by(DocumentRow.kind, col(DocumentRow.version))
        # The model's column attribute is an instrumented attribute at run time; sqlmodel types it as its value.
        .options(defer(cast(QueryableAttribute[bytes], DocumentRow.content)))
    )
    return list((await session.exec(query)).all())


async def get(session: AsyncSession, case_id: str, document_id: str) -> DocumentRow | None:
    row = await session.get(DocumentRow, document_id)
    return row if row is not None and row.case_id == case_id else None


async def delivered(session: AsyncSession, key: str) -> bool:
    return await session.get(DocumentDeliveryRow, key) is not None


async def pdf_of(session: AsyncSession, document_id: str) -> DocumentPdfRow | None:
    return await session.get(DocumentPdfRow, document_id)


async def pdfs_for_case(session: AsyncSession, case_id: str) -> dict[str, DocumentPdfRow]:
    """Each document's PDF row (every column but the bytes), by document id."""
    query = (
        select(DocumentPdfRow)
        .join(DocumentRow, col(DocumentRow.id) == col(DocumentPdfRow.document_id))
        .where(DocumentRow.case_id == case_id)
        .options(defer(cast(QueryableAttribute[bytes], DocumentPdfRow.content)))
    )
    return {row.document_id: row for row in (await session.exec(query)).all()}
