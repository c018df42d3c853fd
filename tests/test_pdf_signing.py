"""The department's signature and its check, on a PDF made here (no LibreOffice needed): who signed, and why an
altered, unsigned or foreign-signed copy fails; the settings that production needs; which file the API serves."""

import io
from pathlib import Path

import pytest
from pydantic import ValidationError
from pypdf import PdfWriter

from referrals.api.routes.documents import wants_pdf
from referrals.config import Settings
from referrals.documents.pdf import PDF, converter_of
from referrals.documents.signing import DepartmentSigner, SigningKeyError, development_certificate, verify
from referrals.domain.content_types import DOCX


def _blank_pdf() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(612, 792)
    writer.add_metadata({"/Title": "Legal review memo, CPD-2026-000001, version 1"})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.fixture(scope="module")
def signer() -> DepartmentSigner:
    return DepartmentSigner.development("Chicago Police Department")


def test_a_signed_pdf_names_its_signer_and_reason_and_validates(signer):
    signed = signer.sign(_blank_pdf(), reason="Issued by Chicago Police Department: memo.", location="Chicago")
    assert signed.pdf.startswith(b"%PDF-") and signed.signed_by == "Chicago Police Department (development)"
    verdict = verify(signed.pdf, [signer.certificate])
    assert verdict.ok and verdict.problem is None
    assert (verdict.signed_by, verdict.signed_at) == (signed.signed_by, signed.signed_at)
    assert (verdict.reason, verdict.location) == ("Issued by Chicago Police Department: memo.", "Chicago")


def test_an_altered_unsigned_or_foreign_copy_fails_naming_why(signer):
    pdf = signer.sign(_blank_pdf(), reason="r", location="l").pdf
    title = b"Legal review memo"
    assert pdf.count(title) == 1
    altered = pdf.replace(title, b"Legal review mamo")
    assert verify(altered, [signer.certificate]).problem == "the signed bytes were changed after signing"
    later = PdfWriter(io.BytesIO(pdf), incremental=True)
    later.add_blank_page(612, 792)
    out = io.BytesIO()
    later.write(out)
    problem = verify(out.getvalue(), [signer.certificate]).problem
    assert problem == "the document was changed after it was signed (a revision was added)"
    assert verify(_blank_pdf(), [signer.certificate]).problem == "not signed"
    other = DepartmentSigner.development("Another Department")
    assert verify(pdf, [other.certificate]).problem == "the signer's certificate is not one this check trusts"
    assert verify(b"PK\x03\x04", [signer.certificate]).problem == "not a PDF file"
    assert verify(pdf[: len(pdf) // 2], [signer.certificate]).problem.startswith("not a readable PDF")


def test_the_signing_files_are_read_and_a_key_of_another_certificate_is_refused(tmp_path: Path):
    certificate, key = development_certificate("Chicago Police Department")
    (tmp_path / "certificate.pem").write_bytes(certificate)
    (tmp_path / "key.pem").write_bytes(key)
    (tmp_path / "other-key.pem").write_bytes(development_certificate("X")[1])
    signer = DepartmentSigner.from_files(tmp_path / "certificate.pem", tmp_path / "key.pem")
    assert signer.name == "Chicago Police Department (development)"
    with pytest.raises(SigningKeyError, match="is not the key of the certificate"):
        DepartmentSigner.from_files(tmp_path / "certificate.pem", tmp_path / "other-key.pem")
    with pytest.raises(SigningKeyError, match="cannot be read"):
        DepartmentSigner.from_files(tmp_path / "certificate.pem", tmp_path / "missing.pem")


def test_production_needs_the_departments_certificate_and_development_does_not():
    base = dict(database_url="postgresql://unused", encryption_keys="k:x", actor_keys="a:x")
    with pytest.raises(ValidationError, match="REFERRALS_SIGNING_CERTIFICATE and REFERRALS_SIGNING_KEY are required"):
        Settings(env="production", **base)
    with pytest.raises(ValidationError, match="go together"):
        Settings(env="development", signing_certificate="c.pem", **base)
    with pytest.raises(ValidationError, match="REFERRALS_PDF_CONVERTER must be"):
        Settings(env="development", pdf_converter="localhost:2003", **base)
    Settings(env="production", signing_certificate="c.pem", signing_key="k.pem", **base)
    assert converter_of(Settings(env="development", pdf_converter="off", **base)).reason == (
        "PDF making is turned off where this document was made (REFERRALS_PDF_CONVERTER=off)"
    )


@pytest.mark.parametrize(
    ("format", "accept", "pdf"),
    [
        (None, None, False),
        (None, "*/*", False),
        (None, PDF, True),
        (None, f"{DOCX};q=0.5, {PDF}", True),
        (None, f"{DOCX}, {PDF}", False),
        (None, f"{PDF}, {DOCX}", True),
        (None, f"{PDF};q=0", False),
        (None, "text/html, application/xhtml+xml, */*;q=0.8", False),
        ("pdf", None, True),
        ("docx", PDF, False),
    ],
)
def test_the_pdf_is_served_when_asked_for(format, accept, pdf):
    assert wants_pdf(format, accept) is pdf
