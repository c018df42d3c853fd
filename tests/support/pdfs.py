"""The documents' PDFs as a person reads them: downloaded through the API, their text page by page (pypdf), the page
each section of the table of contents points at; and whether LibreOffice is here to make them."""

import hashlib
import io
import re

import pytest
from pypdf import PdfReader

from referrals.documents.pdf import PDF, Unavailable, find_libreoffice
from tests.support.scenario import Driver


def _libreoffice() -> str | None:
    try:
        find_libreoffice()
    except Unavailable as missing:
        return str(missing)
    return None


MISSING = _libreoffice()
needs_libreoffice = pytest.mark.skipif(
    MISSING is not None,
    reason=f"{MISSING} (Debian: libreoffice-writer-nogui and python3-uno; .ci/run installs them)",
)


def pages(content: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(content)).pages]


# An entry of the contents as the page shows it: "3. Incident timeline.........3".
_ENTRY = re.compile(r"^(\d+\. [^.\n]+?)\s*\.{3,}\s*(\d+)\s*$", re.M)


def contents(texts: list[str]) -> dict[str, int]:
    """The table of contents: each section's heading and the page number printed beside it."""
    start = next(n for n, text in enumerate(texts) if "Contents" in text)
    found: dict[str, int] = {}
    for text in texts[start : start + 2]:
        found.update((title, int(page)) for title, page in _ENTRY.findall(text.split("Contents", 1)[-1]))
    return found


def page_of(texts: list[str], heading: str, after: int = 0) -> int:
    """The page (from 1) where a line reads `heading`, past the contents."""
    for n, text in enumerate(texts[after:], after + 1):
        if heading in [line.strip() for line in text.splitlines()]:
            return n
    raise AssertionError(f"no page has the heading {heading!r}")


async def pdfs_of(api, people, case_id: str) -> dict[tuple[str, int], tuple[dict, bytes]]:
    """Each document's listing entry and its PDF, downloaded with ?format=pdf and checked against the listing."""
    await Driver(api, people).settled(case_id)
    listing = await api.get(f"/incidents/{case_id}/documents", headers=people.headers("auditor"))
    assert listing.status_code == 200, listing.text
    found = {}
    for item in listing.json()["items"]:
        pdf = item["pdf"]
        assert pdf["state"] == "signed", pdf
        response = await api.get(pdf["download"], headers=people.headers("auditor"))
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == PDF
        assert f'filename="{pdf["filename"]}"' in response.headers["content-disposition"]
        assert hashlib.sha256(response.content).hexdigest() == pdf["sha256"] == response.headers["x-content-sha256"]
        assert len(response.content) == pdf["size"]
        found[(item["kind"], item["version"])] = item, response.content
    return found
