"""The case's Word documents as the tests read them: downloaded through the API, opened back with python-docx, and
their text, headings and tables read out."""

import hashlib
import io
import re

from docx import Document
from docx.table import Table
from docx.text.paragraph import Paragraph

from referrals.domain.content_types import DOCX
from tests.support.scenario import Driver


def open_docx(content: bytes):
    return Document(io.BytesIO(content))


def all_text(doc) -> str:
    parts = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        for row in table.rows:
            parts += [cell.text for cell in row.cells]
    return "\n".join(parts)


def headings(doc) -> list[str]:
    return [p.text for p in doc.paragraphs if p.style.name.startswith("Heading")]


def table_after(doc, heading: str):
    """The table that follows a heading (numbered or not: '7. Recordings' is 'Recordings'), as rows of cell texts."""
    seen = False
    for block in doc.iter_inner_content():
        if (
            isinstance(block, Paragraph)
            and block.style.name.startswith("Heading")
            and re.sub(r"^\d+\. ", "", block.text) == heading
        ):
            seen = True
        elif isinstance(block, Table) and seen:
            return [[cell.text for cell in row.cells] for row in block.rows]
    raise AssertionError(f"no table after {heading!r}")


def log_after(doc, heading: str, by: bool = True, prefix: bool = False) -> list[list[str]]:
    """The lines of a list printed as one line an entry after a heading (the packet's timeline, chains of custody,
    processing history: a time, a tab, the text), each as [time, text], or with `by` [time, what, who] (the text
    names who after a dash). `prefix`: the heading starts so ("C1 ") rather than reads so."""
    lines: list[list[str]] | None = None
    for paragraph in doc.paragraphs:
        is_heading = paragraph.style.name.startswith("Heading")
        if lines is not None and is_heading:
            return lines
        title = re.sub(r"^\d+\. ", "", paragraph.text)
        if is_heading and (title.startswith(heading) if prefix else title == heading):
            lines = []
        elif lines is not None and "\t" in paragraph.text:
            at, text = paragraph.text.split("\t", 1)
            lines.append([at, *text.rsplit(" \u2014 ", 1)] if by else [at, text])
    if lines is None:
        raise AssertionError(f"no heading {heading!r}")
    return lines


async def documents_of(api, people, case_id: str) -> dict[tuple[str, int], bytes]:
    await Driver(api, people).settled(case_id)  # documents are made after the step that asks for them
    listing = await api.get(f"/incidents/{case_id}/documents", headers=people.headers("auditor"))
    assert listing.status_code == 200
    found = {}
    for item in listing.json()["items"]:
        response = await api.get(item["download"], headers=people.headers("auditor"))
        assert response.status_code == 200
        assert response.headers["content-type"] == DOCX
        assert f'filename="{item["filename"]}"' in response.headers["content-disposition"]
        assert hashlib.sha256(response.content).hexdigest() == item["sha256"]
        assert len(response.content) == item["size"]
        found[(item["kind"], item["version"])] = response.content
    return found


async def listed_documents(d: Driver, case_id: str) -> list[dict]:
    """The case's documents as the API lists them, once those the last step asked for are made."""
    await d.settled(case_id)
    response = await d.api.get(f"/incidents/{case_id}/documents", headers=d.people.headers("auditor"))
    return response.json()["items"]
