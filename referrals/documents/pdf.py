"""Word documents to archival PDF (PDF/A-2b) by LibreOffice, kept running by unoserver: one LibreOffice that
answers conversions over XML-RPC on loopback (the worker's own, or one a stack shares), never a process per
document. Its table of contents is updated before export, so the PDF has page numbers.

unoserver's server needs LibreOffice's Python module `uno` (Debian: python3-uno), so it runs under the Python that
has it (Debian's /usr/bin/python3), not the application's; that Python imports unoserver from a folder holding it alone.
"""

import asyncio
import io
import os
import shutil
import subprocess
import sys
import tempfile
import time
import xmlrpc.client
import zipfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import structlog
import unoserver

from referrals.config import Settings
from referrals.devstack import procs  # children: their own process group, stopped with the parent

log = structlog.get_logger()

PDF = "application/pdf"
# PDF/A-2b (fonts embedded, nothing fetched from elsewhere), tagged for screen readers, headings as bookmarks.
EXPORT = ["SelectPdfVersion=2", "UseTaggedPDF=true", "ExportBookmarks=true"]
INSTALL = "README, 'PDF documents', says how to install it"
# How long a LibreOffice just started may take to answer before a document gives up on its PDF (unoserver itself
# waits some 7 seconds, then up to 40 for LibreOffice).
STARTING = 60.0


class Unavailable(Exception):
    """No PDF can be made here: the message says why, in words for the people reading the case."""


class ConversionFailed(Exception):
    """This conversion failed (the converter is starting, restarting, slow or crashed); another may succeed.
    `starting`: the converter is still starting up (LibreOffice's first start can take a while): try again."""

    def __init__(self, message: str, starting: bool = False) -> None:
        super().__init__(message)
        self.starting = starting


def _has_contents(docx: bytes) -> bool:
    """Whether the document has a table of contents (a TOC field) to bring up to date before export: a tenth of a
    conversion, spared where there is none."""
    try:
        with zipfile.ZipFile(io.BytesIO(docx)) as package:
            return b"TOC " in package.read("word/document.xml")
    except (zipfile.BadZipFile, KeyError):
        return False


def pdf_filename(docx_filename: str) -> str:
    return docx_filename.removesuffix(".docx") + ".pdf"


class Converter:
    """A unoserver (its XML-RPC API 3) at `url`: waits up to `ready_seconds` for it to answer, then up to
    `convert_seconds` for a conversion (a packet of ten pages takes a fifth of a second). Both within the document
    activity's 15 seconds."""

    def __init__(self, url: str, ready_seconds: float = 8.0, convert_seconds: float = 10.0) -> None:
        self.url = url
        self._ready_seconds, self._convert_seconds = ready_seconds, convert_seconds
        self._ready = False
        self._lock = asyncio.Lock()  # one conversion at a time: the server takes them one by one anyway

    async def convert(self, docx: bytes) -> bytes:
        async with self._lock:
            if not self._ready:
                await self.until_ready()
            try:
                pdf = await asyncio.to_thread(self._convert, docx)
            except (OSError, xmlrpc.client.Error) as exc:
                self._ready = False
                raise ConversionFailed(f"the converter at {self.url} failed: {exc}") from exc
        if not pdf.startswith(b"%PDF-"):
            raise ConversionFailed(f"the converter at {self.url} returned something other than a PDF")
        return pdf

    def _convert(self, docx: bytes) -> bytes:
        proxy = xmlrpc.client.ServerProxy(
            self.url, allow_none=True, transport=_transport(self.url, self._convert_seconds)
        )
        with proxy:
            # inpath, indata, outpath, convert_to, filtername, filter_options, update_index (the contents' page
            # numbers), infiltername, password
            result = proxy.convert(
                None, xmlrpc.client.Binary(docx), None, "pdf", "writer_pdf_Export", EXPORT, _has_contents(docx)
            )
        return result.data  # type: ignore[union-attr]  # an XML-RPC base64 value

    async def until_ready(self, seconds: float | None = None) -> None:
        """Until the converter answers, for `seconds` at most (default: the converter's own wait)."""
        deadline = time.monotonic() + (self._ready_seconds if seconds is None else seconds)
        while True:
            problem = await asyncio.to_thread(self._answers)
            if problem is None:
                self._ready = True
                return
            if time.monotonic() >= deadline:
                raise ConversionFailed(f"the converter at {self.url} is not answering: {problem}", self._starting())
            await asyncio.sleep(0.25)

    def _starting(self) -> bool:
        return False

    def _answers(self) -> str | None:
        try:
            with xmlrpc.client.ServerProxy(self.url, transport=_transport(self.url, 2.0)) as proxy:
                info = proxy.info()
        except (OSError, xmlrpc.client.Error) as exc:
            return str(exc)
        api = info.get("api") if isinstance(info, dict) else None
        return None if api == "3" else f"it speaks unoserver API {api!r}, not 3"


class NoConverter(Converter):
    """Where no PDF can be made: every conversion says why."""

    def __init__(self, reason: str) -> None:
        super().__init__("")
        self.reason = reason

    async def convert(self, docx: bytes) -> bytes:
        raise Unavailable(self.reason)


class LocalConverter(Converter):
    """LibreOffice through a unoserver of its own, on loopback ports, with a LibreOffice profile in a folder of its
    own; started again when it has exited (a crash, or unoserver's own timeout on a hung conversion)."""

    def __init__(self, soffice: str, python: str) -> None:
        super().__init__("", ready_seconds=8.0)
        self._soffice, self._python = soffice, python
        self._folder = Path(tempfile.mkdtemp(prefix="referrals-libreoffice-"))
        self._process: subprocess.Popen | None = None
        self._started, self._starts = 0.0, 0
        _importable_alone(self._folder / "python")

    def start(self) -> None:
        port, uno_port = procs.free_port(), procs.free_port()
        self.url, self._ready, self._starts = f"http://127.0.0.1:{port}", False, self._starts + 1
        profile = self._folder / f"profile-{self._starts}"  # a fresh one: a crashed LibreOffice may leave its lock
        args = [self._python, "-m", "unoserver.server", "--interface", "127.0.0.1", "--port", str(port),
                "--uno-port", str(uno_port), "--executable", self._soffice, "--conversion-timeout", "30",
                "--user-installation", str(profile)]  # fmt: skip
        env = dict(_plain_environment(), PYTHONPATH=str(self._folder / "python"), HOME=str(self._folder))
        self._process = procs.spawn(args, env=env, log_file=self._folder / "unoserver.log")
        self._started = time.monotonic()
        log.info("pdf_converter_started", url=self.url, pid=self._process.pid)

    async def convert(self, docx: bytes) -> bytes:
        if self._process is None or self._process.poll() is not None:
            if self._process is not None:
                log.warning("pdf_converter_exited", code=self._process.returncode, log=self.log_tail())
            self.start()
        return await super().convert(docx)

    def _starting(self) -> bool:
        """Started less than STARTING seconds ago, still running, never yet answering."""
        alive = self._process is not None and self._process.poll() is None
        return alive and not self._ready and time.monotonic() - self._started < STARTING

    def log_tail(self, lines: int = 5) -> str:
        try:
            return " | ".join((self._folder / "unoserver.log").read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self._process is not None:  # then its process group: LibreOffice does not always follow unoserver out
            procs.stop(self._process, timeout=3)
        shutil.rmtree(self._folder, ignore_errors=True)


def find_libreoffice() -> tuple[str, str]:
    """(soffice, a Python that imports uno), or Unavailable saying what is missing."""
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        raise Unavailable(f"LibreOffice is not installed where the worker runs (no soffice on its PATH); {INSTALL}")
    bundled = Path(soffice).resolve().parent / "python"  # LibreOffice's own builds ship a Python beside soffice
    for python in dict.fromkeys([sys.executable, "/usr/bin/python3", str(bundled)]):
        if Path(python).is_file() and _imports_uno(python):
            return soffice, python
    raise Unavailable(
        f"LibreOffice is installed where the worker runs, but not its Python module uno (Debian: python3-uno), "
        f"which the converter needs; {INSTALL}"
    )


def _imports_uno(python: str) -> bool:
    try:
        done = subprocess.run([python, "-c", "import uno"], capture_output=True, timeout=30, env=_plain_environment())
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def _plain_environment() -> dict[str, str]:
    """This process's environment without what points a Python at the application's packages."""
    return {
        k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV")
    }


def _importable_alone(folder: Path) -> None:
    """A folder holding unoserver and its metadata (links to the installed ones) and nothing else: the Python with
    uno imports it from there, and none of the application's other packages."""
    package = Path(unoserver.__file__).resolve().parent
    folder.mkdir(parents=True, exist_ok=True)
    for source in [package, *package.parent.glob("unoserver-*.dist-info")]:
        (folder / source.name).symlink_to(source, target_is_directory=True)


def _transport(url: str, timeout: float) -> xmlrpc.client.Transport:
    base = xmlrpc.client.SafeTransport if url.startswith("https:") else xmlrpc.client.Transport

    class WithTimeout(base):  # type: ignore[valid-type, misc]  # one of the two, chosen by the URL's scheme
        def make_connection(self, host):
            connection = super().make_connection(host)
            connection.timeout = timeout
            return connection

    return WithTimeout()


@asynccontextmanager
async def converter_for(settings: Settings, start: bool = True) -> AsyncIterator[Converter]:
    """The worker's converter: the unoserver at REFERRALS_PDF_CONVERTER, none when it is "off", else a LibreOffice
    started here (stopped on leaving; with `start` False, at its first conversion) when one is installed, or none
    saying what is missing."""
    if settings.pdf_converter == "off":
        yield NoConverter("PDF making is turned off where the worker runs (REFERRALS_PDF_CONVERTER=off)")
        return
    if settings.pdf_converter:
        yield Converter(settings.pdf_converter)
        return
    try:
        soffice, python = await asyncio.to_thread(find_libreoffice)
    except Unavailable as missing:
        log.warning("pdf_converter_unavailable", reason=str(missing))
        yield NoConverter(str(missing))
        return
    local = LocalConverter(soffice, python)
    if start:
        local.start()
    try:
        yield local
    finally:
        await asyncio.to_thread(local.stop)


def converter_of(settings: Settings) -> Converter:
    """A converter built from the settings alone, started nowhere: the unoserver they name, or none."""
    if settings.pdf_converter and settings.pdf_converter != "off":
        return Converter(settings.pdf_converter)
    if settings.pdf_converter == "off":
        return NoConverter("PDF making is turned off where this document was made (REFERRALS_PDF_CONVERTER=off)")
    return NoConverter("no PDF converter is configured where this document was made")
