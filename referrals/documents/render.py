"""Filling a Word template: docxtpl in a sandboxed, autoescaping Jinja environment, the same context making the
same bytes; the templates' folder, the .docx media type and the documents' file names."""

import io
import re
import struct
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from docxtpl import DocxTemplate
from jinja2 import Template
from jinja2.sandbox import SandboxedEnvironment

from referrals.config import ROOT

# The templates the department edits in Word (templates/documents/, installed beside the package).
FOLDER = ROOT / "templates" / "documents"


def filename(case_number: str, kind: str, version: int | None = None) -> str:
    """A document's file name: the case number, the kind with hyphens, the version if it is stored
    ('CPD-2026-000001-referral-packet-v2.docx'; the contact sheet, never stored, has none)."""
    return f"{case_number}-{kind.replace('_', '-')}" + (f"-v{version}" if version is not None else "") + ".docx"


class _TemplateEnvironment(SandboxedEnvironment):
    """Sandboxed and autoescaping; compiles each template part once. docxtpl hands Jinja the same
    XML source for a template part on every render, and compiling it was a tenth of a render."""

    def __init__(self) -> None:
        super().__init__(autoescape=True)
        self._compiled: dict[str, Template] = {}

    def from_string(self, source, globals=None, template_class=None):  # noqa: A002 (Jinja's signature)
        if globals is not None or template_class is not None or not isinstance(source, str):
            return super().from_string(source, globals, template_class)
        if (compiled := self._compiled.get(source)) is None:
            compiled = self._compiled[source] = super().from_string(source)
        return compiled


_ENVIRONMENT = _TemplateEnvironment()


class _Template(DocxTemplate):
    """Patches each template part's XML for Jinja once. docxtpl runs some twenty regular expressions over a
    part's XML on every render to join the tags Word splits a `{{ }}` across, and the XML is the template's
    own, the same each time (a third of a render was spent so)."""

    _patched: dict[str, str] = {}

    def patch_xml(self, src_xml: str) -> str:
        if (patched := self._patched.get(src_xml)) is None:
            patched = self._patched[src_xml] = super().patch_xml(src_xml)
        return patched

    def resolve_listing(self, xml: str) -> str:
        """docxtpl turns a tab, a newline, a bell or a form feed inside a text run into Word's tab, line break,
        paragraph or page break, paragraph by paragraph and run by run. With none in any run's text there is
        nothing to turn, and one search says so (the walk took another third). Then each identifier's hyphens
        are made Word's non-breaking hyphens."""
        if _LISTING_CHARACTER.search(xml) is not None:
            xml = super().resolve_listing(xml)
        return unbreakable_ids(xml)


# A character resolve_listing turns, in a run's text (<w:t>…</w:t>, whose text holds no "<").
_LISTING_CHARACTER = re.compile(r"<w:t(?: [^>]*)?>[^<]*[\t\a\n\f]")
# A run's text, and a hyphen inside an identifier: between capitals or digits ("CPD-2026-000002", "AXON-2026-0042",
# "26-FR-0193", "720 ILCS 5/12-3.05"), never in a word ("e-mail", "Non-English").
_RUN_TEXT = re.compile(r"(<w:t(?: [^>]*)?>)([^<]*)</w:t>")
_ID_HYPHEN = re.compile(r"(?<=[A-Z0-9])-(?=[A-Z0-9])")
_BOUND = '</w:t><w:noBreakHyphen/><w:t xml:space="preserve">'


def unbreakable_ids(xml: str) -> str:
    """Each hyphen of an identifier as Word's non-breaking hyphen (<w:noBreakHyphen/>), so that no line ends inside
    a case number or a hold reference ("CPD-2026-" / "000002"). Word and LibreOffice print it as a hyphen."""
    if _ID_HYPHEN.search(xml) is None:
        return xml

    def bind(run: re.Match[str]) -> str:
        if _ID_HYPHEN.search(run.group(2)) is None:
            return run.group(0)
        pieces = _ID_HYPHEN.split(run.group(2))
        return '<w:t xml:space="preserve">' + _BOUND.join(pieces) + "</w:t>"

    return _RUN_TEXT.sub(bind, xml)


@dataclass(frozen=True)
class Properties:
    """The file's properties, as Word shows them under File > Info: the department is its author, the document's
    own title, and the moment it was generated."""

    title: str
    author: str
    generated_at: datetime


def render(template: Path, context: dict, properties: Properties | None = None) -> bytes:
    """Fill a docxtpl template: user text enters as escaped values in a sandboxed environment. The
    same context gives the same bytes (the package's parts are stamped with one fixed time)."""
    document = _Template(template)
    document.render(context, jinja_env=_ENVIRONMENT)
    if properties is not None:
        core = document.docx.core_properties
        core.title, core.author, core.last_modified_by = properties.title, properties.author, properties.author
        core.created = core.modified = properties.generated_at.astimezone(UTC).replace(microsecond=0)
        core.comments = ""
    out = io.BytesIO()
    document.save(out)
    return _fixed_times(out.getvalue())


def _fixed_times(package: bytes) -> bytes:
    """The .docx with every part stamped 1980-01-01 00:00 instead of the moment it was zipped: the
    two-byte time and date fields of each local header and central directory entry, set in place."""
    out = bytearray(package)
    with zipfile.ZipFile(io.BytesIO(package)) as archive:
        central = archive.start_dir
        for info in archive.infolist():
            out[info.header_offset + 10 : info.header_offset + 14] = _EPOCH  # local header: time, date
            out[central + 12 : central + 16] = _EPOCH  # central directory entry: time, date
            names, extra, comment = struct.unpack_from("<HHH", out, central + 28)
            central += 46 + names + extra + comment
    return bytes(out)


_EPOCH = struct.pack("<HH", 0, 1 << 5 | 1)  # MS-DOS time 00:00:00, date 1980-01-01 (years count from 1980)
