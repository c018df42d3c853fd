"""Every document is also a PDF signed by the department: made once with its Word file by the session's LibreOffice
(through unoserver), listed and served beside it, attached to the prosecutor's e-mail, checked by `referrals documents
verify`; where LibreOffice is absent, the Word file alone, and the case says why."""

import asyncio
import io
import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from pypdf import PdfReader, PdfWriter
from sqlmodel import delete, select
from temporalio.testing import ActivityEnvironment

from referrals.activities.documents import DocumentWriter
from referrals.activities.pdfs import PdfMaker
from referrals.api.main import create_app
from referrals.documents.pdf import PDF, Converter, NoConverter, Unavailable, converter_for, find_libreoffice
from referrals.documents.signing import DepartmentSigner, load_certificates, signer_for, verify
from referrals.domain.content_types import DOCX
from referrals.store.tables import DocumentPdfRow, DocumentRow
from referrals.worker import build_worker
from referrals.workflows.incident import IncidentWorkflow
from tests.support.cli import referrals
from tests.support.desk_client import signed_in
from tests.support.documents import listed_documents
from tests.support.pdfs import contents, needs_libreoffice, page_of, pages, pdfs_of
from tests.support.policies import CHICAGO
from tests.support.scenario import APPROVE, REFER, VICTIM, Driver, filing
from tests.support.waiting import until

KINDS = {"preservation_request", "hold_confirmation", "legal_review_memo", "referral_packet"}


@pytest.fixture(scope="module")
async def referred(pdf_api, people):
    """A case referred to the prosecutor: its documents' listing entries and PDFs, by (kind, version)."""
    d = Driver(pdf_api, people)
    case = await d.new_case(body=filing(people=[VICTIM]))
    await d.investigate(case["id"])
    await d.ok(case["id"], "legal-review", "reviewer", REFER)
    await d.ok(case["id"], "command-approval", "commander", APPROVE)
    return (await d.get(case["id"])).json(), await pdfs_of(pdf_api, people, case["id"])


def _packet(docs: dict) -> tuple[dict, bytes]:
    return docs[max(key for key in docs if key[0] == "referral_packet")]


@needs_libreoffice
async def test_every_document_is_listed_with_its_signed_pdf(referred, signing_files):
    case, docs = referred
    assert {kind for kind, _ in docs} == KINDS
    for (kind, version), (item, content) in docs.items():
        pdf = item["pdf"]
        assert pdf["filename"] == item["filename"].removesuffix(".docx") + ".pdf"
        assert pdf["signed_by"] == f"{CHICAGO.department} (development)"
        assert datetime.fromisoformat(pdf["signed_at"]) - datetime.fromisoformat(item["created_at"]) < timedelta(
            minutes=1
        )
        assert content.startswith(b"%PDF-") and pdf["sha256"] != item["sha256"]
        texts = pages(content)  # what the reader sees on each page: the case and the marking in every header
        assert all(f"{case['case_number']} · LAW ENFORCEMENT SENSITIVE" in text for text in texts), kind
        assert f"{CHICAGO.department} · Page {len(texts)} of {len(texts)}" in texts[-1], kind
        # No line ends inside an identifier ("CPD-2026-" then "000002"): its hyphens are non-breaking, and they
        # read (and copy) as the hyphens typed.
        assert not [t for t in texts if re.search(r"[A-Z0-9][-\u2011]\n[A-Z0-9]", t)], kind
        assert "\u2011" not in "".join(texts), kind
        verdict = await asyncio.to_thread(verify, content, load_certificates(signing_files[0]))
        assert verdict.ok, (kind, verdict)
        assert verdict.reason == (
            f"Issued by {CHICAGO.department}: {PdfReader(io.BytesIO(content)).metadata.title}. "
            f"Word file SHA-256 {item['sha256']}."
        )
        reader = PdfReader(io.BytesIO(content))
        assert reader.metadata.author == CHICAGO.department  # the Word file's properties, carried over
        assert reader.metadata.title.endswith(f", {case['case_number']}, version {version}")
        xmp = reader.xmp_metadata.stream.get_data().decode()  # as LibreOffice wrote it: PDF/A-2b
        assert "<pdfaid:part>2</pdfaid:part>" in xmp and "<pdfaid:conformance>B</pdfaid:conformance>" in xmp
        assert reader.metadata.producer.startswith("LibreOffice") and "pyHanko" not in xmp


@needs_libreoffice
async def test_the_pdf_reads_as_the_word_file_and_its_contents_have_page_numbers(referred):
    case, docs = referred
    item, content = _packet(docs)
    texts = pages(content)
    assert len(texts) >= 3
    assert all(f"{case['case_number']} · LAW ENFORCEMENT SENSITIVE" in text for text in texts)
    assert f"Page {len(texts)} of {len(texts)}" in texts[-1]
    assert "Cook County State's Attorney's Office" in texts[0]
    listed = contents(texts)
    # The numbered sections alone (not the title, not "Contents"), in order, each with the page it starts on.
    assert [int(heading.split(".")[0]) for heading in listed] == list(range(1, len(listed) + 1))
    assert len(listed) >= 12
    for heading, page in listed.items():
        assert page == page_of(texts, heading), heading
    assert sorted(listed.values()) == list(listed.values()) and max(listed.values()) > 2
    memo = pages(docs[("legal_review_memo", 1)][1])
    assert "Decision: Refer to the prosecutor." in "\n".join(memo)


@needs_libreoffice
async def test_the_api_serves_the_pdf_on_format_pdf_or_accept(referred, pdf_api, people):
    api = pdf_api
    case, docs = referred
    item, content = docs[("legal_review_memo", 1)]
    auditor = people.headers("auditor")
    for asked in (
        {"params": {"format": "pdf"}},
        {"headers": {"Accept": PDF}},
        {"headers": {"Accept": f"{DOCX};q=0.5, {PDF}"}},
    ):
        response = await api.get(
            item["download"], params=asked.get("params"), headers={**auditor, **asked.get("headers", {})}
        )
        assert response.status_code == 200, (asked, response.text)
        assert response.headers["content-type"] == PDF and response.content == content
        assert response.content.startswith(b"%PDF-") and b"/ETSI.CAdES.detached" in response.content
        assert response.headers["content-disposition"] == f'attachment; filename="{item["pdf"]["filename"]}"'
    for asked in ({}, {"Accept": "*/*"}, {"Accept": f"{DOCX}, {PDF};q=0.9"}):
        word = await api.get(item["download"], headers={**auditor, **asked})
        assert word.headers["content-type"] == DOCX and word.headers["x-content-sha256"] == item["sha256"], asked
    word = await api.get(item["download"], params={"format": "docx"}, headers={**auditor, "Accept": PDF})
    assert word.headers["content-type"] == DOCX  # the query decides
    refused = await api.get(item["download"], params={"format": "odt"}, headers=auditor)
    assert refused.status_code == 422
    hidden = await api.get(item["download"], params={"format": "pdf"}, headers=people.headers("supervisor_elsewhere"))
    assert hidden.status_code == 404


@needs_libreoffice
async def test_the_desk_offers_the_pdf_beside_the_word_file(referred, pdf_api, people):
    api = pdf_api
    case, docs = referred
    item, content = docs[("legal_review_memo", 1)]
    async with signed_in(api, people.tokens["reviewer"], f"/desk/cases/{case['id']}") as page:
        shown = (await page.get(f"/desk/cases/{case['id']}")).text
        link = f"/desk/cases/{case['id']}/documents/{item['id']}?format=pdf"
        assert f'href="{link}" download="{item["pdf"]["filename"]}"' in shown
        assert f"signed by {CHICAGO.department} (development)" in shown
        got = await page.get(link)
        assert got.status_code == 200 and got.headers["content-type"] == PDF and got.content == content


@needs_libreoffice
async def test_verify_names_the_signer_and_why_an_altered_copy_fails(referred, signing_files, database_url, tmp_path):
    case, docs = referred
    item, content = _packet(docs)
    trust = ["--trust", str(signing_files[0])]
    signed = tmp_path / item["pdf"]["filename"]
    signed.write_bytes(content)
    done = referrals(database_url, "documents", "verify", str(signed), *trust)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith(f"OK  {signed}: signed by {CHICAGO.department} (development) on ")
    assert f"Referral packet, {case['case_number']}, version 1" in done.stdout
    assert "unchanged since it was signed" in done.stdout

    def bad(name: str, data: bytes, *args: str) -> str:
        path = tmp_path / name
        path.write_bytes(data)
        failed = referrals(database_url, "documents", "verify", str(path), *args)
        assert failed.returncode == 1, failed.stdout + failed.stderr
        assert failed.stdout.startswith(f"BAD {path}: ")
        return failed.stdout

    # One byte of the signed part changed (the producer's name, in the clear): the hash no longer matches.
    assert "the signed bytes were changed after signing" in bad(
        "flipped.pdf", content.replace(b"LibreOffice", b"LibreOfficf", 1), *trust
    )
    # A page added as a later revision (what an editor that saves incrementally does).
    writer = PdfWriter(io.BytesIO(content), incremental=True)
    writer.add_blank_page()
    appended = io.BytesIO()
    writer.write(appended)
    assert "changed after it was signed" in bad("appended.pdf", appended.getvalue(), *trust)
    unsigned = content[: content.rindex(b"%%EOF", 0, len(content) - 10) + 5]  # the file as LibreOffice made it
    assert "not signed" in bad("unsigned.pdf", unsigned, *trust)
    assert "not one this check trusts" in bad("untrusted.pdf", content, "--trust", str(_other_certificate(tmp_path)))
    assert "not a PDF" in bad("packet.docx", b"PK\x03\x04 a Word file", *trust)
    as_json = referrals(database_url, "documents", "verify", "--json", str(signed), *trust)
    assert '"ok": true' in as_json.stdout and f'"signed_by": "{CHICAGO.department} (development)"' in as_json.stdout


def _other_certificate(folder: Path) -> Path:
    from referrals.documents.signing import development_certificate

    path = folder / "other.pem"
    path.write_bytes(development_certificate("Another Department")[0])
    return path


@needs_libreoffice
async def test_the_packet_email_attaches_the_signed_pdf(referred, smtp_sink):
    case, docs = referred
    item, content = _packet(docs)

    async def sent():
        return [
            m
            for m in smtp_sink.messages
            if m["To"] == CHICAGO.prosecutor.intake_email and case["case_number"] in m["Subject"]
        ]

    [mail] = await until(sent)
    [attachment] = list(mail.iter_attachments())
    assert attachment.get_content_type() == PDF
    assert attachment.get_filename() == item["pdf"]["filename"] and attachment.get_content() == content
    body = mail.get_body(("plain",)).get_content()
    assert f"attached as a PDF signed by {CHICAGO.department} (development)" in body
    assert f"SHA-256 of the attached file: {item['pdf']['sha256']}" in body
    assert f"The Word version ({item['filename']}, SHA-256 {item['sha256']}) is on the desk" in body


async def test_a_conversion_that_keeps_failing_is_retried_then_recorded_unavailable():
    from referrals.documents.pdf import ConversionFailed

    class Failing(Converter):
        async def convert(self, docx: bytes) -> bytes:
            raise ConversionFailed("the converter at http://127.0.0.1:1 is not answering")

    document = DocumentRow(id="d1", case_id="c1", kind="legal_review_memo", version=1, filename="X-1-legal-review-memo-v1.docx",
                           size=2, sha256="ab", content=b"PK", idempotency_key="k", created_at=datetime.now(UTC))  # fmt: skip
    maker = PdfMaker(Failing("http://127.0.0.1:1"), DepartmentSigner.development("Test"))
    letterhead = _letterhead()
    from temporalio.exceptions import ApplicationError

    for attempt in (1, 2, 3):
        env = ActivityEnvironment()
        env.info = _attempt(attempt)
        if attempt < 3:  # Temporal runs the activity again: nothing was stored
            with pytest.raises(ApplicationError, match="could not be made"):
                await env.run(maker.make, document, "Memo", letterhead)
    row = await env.run(maker.make, document, "Memo", letterhead)
    assert row.content is None and row.filename == "X-1-legal-review-memo-v1.pdf"
    assert row.unavailable == (
        "the PDF could not be made after 3 attempts: the converter at http://127.0.0.1:1 is not answering"
    )

    class Starting(Converter):  # a LibreOffice just started, not answering yet: never given up on for that
        async def convert(self, docx: bytes) -> bytes:
            raise ConversionFailed("the converter at http://127.0.0.1:1 is not answering", starting=True)

    env.info = _attempt(9)
    with pytest.raises(ApplicationError):
        await env.run(PdfMaker(Starting("http://127.0.0.1:1"), None).make, document, "Memo", letterhead)


def _attempt(n: int):
    from dataclasses import replace

    return replace(ActivityEnvironment.default_info(), attempt=n)


def _letterhead():
    from referrals.domain.events import Letterhead

    return Letterhead.of(CHICAGO)


async def test_without_libreoffice_the_word_file_is_made_and_the_case_says_why(
    settings, dev_server, sessions, people, monkeypatch, tmp_path
):
    monkeypatch.setenv("PATH", str(tmp_path))  # a machine without LibreOffice
    with pytest.raises(Unavailable, match="LibreOffice is not installed where the worker runs"):
        find_libreoffice()
    own = settings.model_copy(update={"task_queue": f"no-libreoffice-{uuid.uuid4()}", "pdf_converter": None})
    app = create_app(own)
    async with converter_for(own) as converter:  # what the worker's main finds
        assert isinstance(converter, NoConverter)
        async with build_worker(dev_server.client, own, sessions, converter), app.router.lifespan_context(app):
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as api:
                d = Driver(api, people)
                case = await d.new_case()
                [item] = await listed_documents(d, case["id"])
                word = await api.get(item["download"], headers=people.headers("auditor"))
                assert word.status_code == 200 and word.headers["content-type"] == DOCX
                assert item["pdf"]["state"] == "unavailable" and item["pdf"]["download"] is None
                why = item["pdf"]["unavailable"]
                assert why.startswith("LibreOffice is not installed where the worker runs (no soffice on its PATH)")
                assert "README, 'PDF documents'" in why
                refused = await api.get(item["download"], params={"format": "pdf"}, headers=people.headers("auditor"))
                assert refused.status_code == 409
                assert refused.json()["error"]["message"] == f"the document {item['filename']} has no PDF: {why}"
                async with signed_in(api, people.tokens["reviewer"], f"/desk/cases/{case['id']}") as page:
                    shown = (await page.get(f"/desk/cases/{case['id']}")).text
                    assert re.search(r"Unavailable: LibreOffice is not installed where the worker runs", shown)


@needs_libreoffice
async def test_a_document_and_its_pdf_are_made_once_however_often_the_activity_runs(
    referred, sessions, dev_server, settings, pdf_converter
):
    """Last in this module: it makes the memo again. Two attempts at once (a timed-out attempt still running beside
    its retry) store one document and one PDF; a later retry finds them and converts nothing."""
    case, docs = referred
    trail = await dev_server.client.get_workflow_handle(case["workflow_id"]).query(IncidentWorkflow.audit_trail)
    request = next(r for r in trail.documents if r.kind.value == "legal_review_memo")
    item, _ = docs[("legal_review_memo", 1)]
    async with sessions() as s, s.begin():  # lost, as in a restore from an older backup: its PDF goes with it
        await s.exec(delete(DocumentRow).where(DocumentRow.id == item["id"]))
    converter, signer = Converter(pdf_converter), signer_for(settings, CHICAGO.department)
    writer = DocumentWriter(sessions, pdfs=PdfMaker(converter, signer))
    attempts = await asyncio.gather(
        *(ActivityEnvironment().run(writer.generate, request) for _ in range(2)), return_exceptions=True
    )
    made = [a for a in attempts if not isinstance(a, BaseException)]
    assert made and all((ref.id, ref.sha256) == (item["id"], item["sha256"]) for ref in made), attempts
    idle = DocumentWriter(sessions, pdfs=PdfMaker(NoConverter("a retry must not convert"), None))
    again = await ActivityEnvironment().run(idle.generate, request)
    assert (again.id, again.sha256) == (item["id"], item["sha256"])
    async with sessions() as s:
        rows = (await s.exec(select(DocumentPdfRow).where(DocumentPdfRow.document_id == item["id"]))).all()
    assert len(rows) == 1 and rows[0].content is not None
    assert (await asyncio.to_thread(verify, rows[0].content, [signer.certificate])).ok
