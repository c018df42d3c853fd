"""The department's signature on each PDF: PAdES (ETSI.CAdES.detached, SHA-256) by pyHanko, a certifying signature
that covers the whole file; and the check of one, saying who signed and when, or why it fails.

Production signs with the department's certificate and key (settings `signing_certificate`, `signing_key`);
development and tests sign with a self-signed certificate of their own, which says so in its name.

pyHanko's signing and validation are imported at the first signature or check: they are a third of a second of a
process's start, and the worker, the API and most commands import this module without ever signing.
"""

import functools
import io
import secrets
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pyhanko.keys import load_certs_from_pemder_data, load_private_key_from_pemder_data
from pyhanko.keys.internal import translate_pyca_cryptography_key_to_asn1

from referrals.config import Settings

FIELD = "DepartmentSignature"
# A document-signing certificate carries one of these (CAs issue either for signing documents).
USAGES = {"digital_signature", "non_repudiation"}


class SigningKeyError(Exception):
    """The signing certificate or key cannot be used; the message says which file and why."""


@dataclass(frozen=True)
class Signed:
    pdf: bytes
    signed_by: str
    signed_at: datetime


class DepartmentSigner:
    def __init__(self, certificate: asn1_x509.Certificate, key: asn1_keys.PrivateKeyInfo, chain=()) -> None:
        self.certificate = certificate
        self._key = key
        self._chain = list(chain)
        # Room for the signature: its certificates, the signature value and its attributes (measured, it is under
        # half of this). Reserved up front, pyHanko signs once instead of a trial signature first to measure.
        self._room = 8192 + 2 * sum(len(c.dump()) for c in [certificate, *chain])

    @functools.cached_property
    def _signer(self):
        from pyhanko.sign import signers
        from pyhanko_certvalidator.registry import SimpleCertificateStore

        return signers.SimpleSigner(
            signing_cert=self.certificate,
            signing_key=self._key,
            cert_registry=SimpleCertificateStore.from_certs(self._chain),
        )

    @classmethod
    def from_files(cls, certificate: Path, key: Path, password: str | None = None) -> "DepartmentSigner":
        """The certificate file holds the signing certificate first, then the certificates of its chain (PEM);
        the key file its private key (PEM or DER; encrypted with `password`, or not)."""
        try:
            chain = list(load_certs_from_pemder_data(certificate.read_bytes()))
        except (OSError, ValueError) as exc:
            raise SigningKeyError(f"the signing certificate {certificate} cannot be read: {exc}") from None
        if not chain:
            raise SigningKeyError(f"the signing certificate {certificate} holds no certificate")
        try:
            data, secret = key.read_bytes(), password.encode() if password else None
            private = (
                serialization.load_pem_private_key(data, secret)
                if data.lstrip().startswith(b"-----")
                else serialization.load_der_private_key(data, secret)
            )
        except (OSError, ValueError, TypeError) as exc:
            raise SigningKeyError(f"the signing key {key} cannot be read: {exc}") from None
        public = private.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        if public != chain[0].public_key.dump():
            raise SigningKeyError(f"the signing key {key} is not the key of the certificate {certificate}")
        return cls(chain[0], translate_pyca_cryptography_key_to_asn1(private), chain[1:])

    @classmethod
    def development(cls, department: str) -> "DepartmentSigner":
        """A throwaway self-signed certificate for development and tests, made now."""
        certificate, key = development_certificate(department)
        return cls(
            next(load_certs_from_pemder_data(certificate)), load_private_key_from_pemder_data(key, passphrase=None)
        )

    @property
    def name(self) -> str:
        return signer_name(self.certificate)

    def sign(self, pdf: bytes, *, reason: str, location: str) -> Signed:
        """Certifies `pdf` (an incremental update: the bytes before it stay as they were, PDF/A included); later
        signatures and form filling remain allowed, any other change breaks the certification. Checked before it is
        returned: a signature that would not validate is never handed out."""
        from pyhanko.pdf_utils.misc import PdfError
        from pyhanko.sign import fields, signers
        from pyhanko.sign.general import SigningError

        meta = signers.PdfSignatureMetadata(
            field_name=FIELD,
            md_algorithm="sha256",
            subfilter=fields.SigSeedSubFilter.PADES,
            reason=reason,
            location=location,
            certify=True,
            docmdp_permissions=fields.MDPPerm.FILL_FORMS,
        )
        try:
            writer = _keeping_metadata()(io.BytesIO(pdf), strict=False)
            signed = signers.sign_pdf(writer, meta, signer=self._signer, bytes_reserved=self._room).getvalue()
        except (PdfError, SigningError, ValueError) as exc:
            raise SigningKeyError(f"the PDF could not be signed: {exc}") from exc
        verdict = verify(signed, [self.certificate])
        if not verdict.ok or verdict.signed_at is None:
            raise SigningKeyError(f"the PDF's new signature does not validate: {verdict.problem}")
        return Signed(signed, self.name, verdict.signed_at)


@functools.cache
def _keeping_metadata() -> type:
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    class KeepingMetadata(IncrementalPdfFileWriter):
        """Adds the signature and leaves the document's metadata as LibreOffice wrote it: its Info dictionary and its
        XMP packet agree, as PDF/A requires (pyHanko would otherwise name itself the producer in each, differently)."""

        def _update_meta(self) -> None:
            pass

    return KeepingMetadata


def signer_name(certificate: asn1_x509.Certificate) -> str:
    """The signer as people name it: the certificate's common name, and its organisation unless the name says it."""
    subject = certificate.subject.native
    name, organisation = subject.get("common_name"), subject.get("organization_name")
    if not name:
        return certificate.subject.human_friendly
    return f"{name}, {organisation}" if organisation and organisation not in name else name


def development_certificate(department: str, days: int = 3650) -> tuple[bytes, bytes]:
    """(certificate PEM, key PEM): self-signed, for signing documents, named so no one takes it for the real one.
    ECDSA P-256: quick to make and to sign with (every PDF reader checks it)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, f"{department[:50]} (development)"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, department[:64]),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Development certificate, not the department's"),
        ]
    )
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(int.from_bytes(secrets.token_bytes(16), "big") >> 1)
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return certificate.public_bytes(serialization.Encoding.PEM), key_pem


def load_certificates(path: Path) -> list[asn1_x509.Certificate]:
    try:
        return list(load_certs_from_pemder_data(path.read_bytes()))
    except (OSError, ValueError) as exc:
        raise SigningKeyError(f"{path} cannot be read as certificates: {exc}") from None


@dataclass(frozen=True)
class Verdict:
    """What a check of a PDF found: `ok` when it is signed, the signed bytes are as signed, nothing but signatures
    or form filling came after, and the signer's certificate is one of those trusted. `problem` says why not."""

    ok: bool
    problem: str | None = None
    signed_by: str | None = None
    signed_at: datetime | None = None
    reason: str | None = None
    location: str | None = None


def verify(pdf: bytes, trusted: list[asn1_x509.Certificate]) -> Verdict:
    """The first (the department's) signature of `pdf`, checked against the `trusted` certificates (the signer's
    own, or a certificate of its chain); no network is used (no revocation lists are fetched)."""
    from pyhanko.pdf_utils.misc import PdfError
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.errors import SignatureValidationError
    from pyhanko.sign.validation.settings import KeyUsageConstraints
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext

    if not pdf.startswith(b"%PDF-"):
        return Verdict(False, "not a PDF file")
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        embedded = reader.embedded_signatures
    except (PdfError, ValueError, KeyError, TypeError) as exc:
        return Verdict(False, f"not a readable PDF ({exc})")
    if not embedded:
        return Verdict(False, "not signed")
    signature = embedded[0]
    context = ValidationContext(trust_roots=trusted, allow_fetching=False, revocation_mode="soft-fail")
    try:
        usages = KeyUsageConstraints(key_usage=USAGES, match_all_key_usages=False)
        status = validate_pdf_signature(signature, context, key_usage_settings=usages)
    except (SignatureValidationError, PdfError, ValueError, KeyError, TypeError) as exc:
        return Verdict(False, f"the signature cannot be read ({exc})")
    found = Verdict(
        True,
        signed_by=signer_name(status.signing_cert),
        signed_at=status.signer_reported_dt.astimezone(UTC) if status.signer_reported_dt else None,
        reason=_text(signature.sig_object.get("/Reason")),
        location=_text(signature.sig_object.get("/Location")),
    )
    if not status.intact:
        return replace(found, ok=False, problem="the signed bytes were changed after signing")
    if not status.valid:
        return replace(found, ok=False, problem="the signature does not match the signer's certificate")
    if status.coverage != SignatureCoverageLevel.ENTIRE_FILE and not status.docmdp_ok:
        return replace(found, ok=False, problem="the document was changed after it was signed (a revision was added)")
    if not status.trusted:
        why = "expired or not yet valid" if _outside_validity(status.signing_cert) else "not one this check trusts"
        return replace(found, ok=False, problem=f"the signer's certificate is {why}")
    return found


def _outside_validity(certificate: asn1_x509.Certificate) -> bool:
    validity = certificate["tbs_certificate"]["validity"]
    now = datetime.now(UTC)
    return not validity["not_before"].native <= now <= validity["not_after"].native


def _text(value) -> str | None:
    return str(value) if value is not None else None


def signer_for(settings: Settings, department: str) -> DepartmentSigner:
    """The department's signer from the settings; outside production, a throwaway one when they name none."""
    if settings.signing_certificate is not None and settings.signing_key is not None:
        password = settings.signing_key_password.get_secret_value() if settings.signing_key_password else None
        return DepartmentSigner.from_files(settings.signing_certificate, settings.signing_key, password)
    assert settings.env != "production"  # refused by Settings
    return DepartmentSigner.development(department)
