"""What an uploaded evidence file is, told from its bytes while it streams in, never from its name or its header.

The Sniffer keeps the first HEAD bytes (for magic numbers), the last TAIL bytes (for a ZIP's central directory)
and an incremental UTF-8 decoder (for plain text), so its memory is bounded whatever the upload's size. Pure: no
I/O, stdlib only.
"""

import codecs
import re
from dataclasses import dataclass

HEAD = 64 * 1024
TAIL = 256 * 1024

ALLOWED: dict[str, str] = {
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "image/heic": "HEIC",
    "application/pdf": "PDF",
    "video/mp4": "MP4",
    "video/quicktime": "QuickTime",
    "audio/mpeg": "MP3",
    "audio/wav": "WAV",
    "audio/mp4": "M4A",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "DOCX",
    "text/plain": "plain text",
}
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
LABELS = {  # what each allowed type is called in a sentence
    "image/jpeg": "JPEG image",
    "image/png": "PNG image",
    "image/heic": "HEIC image",
    "application/pdf": "PDF document",
    "video/mp4": "MP4 video",
    "video/quicktime": "QuickTime video",
    "audio/mpeg": "MP3 audio file",
    "audio/wav": "WAV audio file",
    "audio/mp4": "M4A audio file",
    DOCX: "Word document (DOCX)",
    "text/plain": "plain text",
}
_IMAGES = frozenset({"image/jpeg", "image/png", "image/heic"})
_PAPERS = frozenset({"application/pdf", DOCX, "text/plain"}) | _IMAGES  # scans of paper are images
KINDS: dict[str, frozenset[str]] = {
    "photo": _IMAGES,
    "video": frozenset({"video/mp4", "video/quicktime"}),
    "audio": frozenset({"audio/mpeg", "audio/wav", "audio/mp4"}),
    "document": _PAPERS,
    "medical_record": _PAPERS,
    "statement": _PAPERS,
    "other": frozenset(ALLOWED),
}
_KIND_WORDS = {
    "photo": "a photo",
    "video": "a video",
    "audio": "an audio recording",
    "document": "a document",
    "medical_record": "a medical record",
    "statement": "a statement",
    "other": "evidence",
}
_MASS_NOUNS = {"plain text", "unrecognised binary data"}

# Refused at offset 0: (signature, label).
_REFUSED_MAGIC: list[tuple[bytes, str]] = [
    (b"MZ", "Windows executable"),  # DOS/PE header "MZ"
    (b"\x7fELF", "ELF executable"),  # 7F 45 4C 46
    *(
        (magic, "Mach-O executable")
        for magic in (
            b"\xfe\xed\xfa\xce",
            b"\xfe\xed\xfa\xcf",  # 32/64-bit, big-endian
            b"\xce\xfa\xed\xfe",
            b"\xcf\xfa\xed\xfe",
        )
    ),  # 32/64-bit, little-endian
    (b"\xca\xfe\xba\xbe", "Mach-O universal binary or Java class file"),  # CA FE BA BE (both use it)
    (b"#!", "script"),  # shebang
    (b"PK\x05\x06", "ZIP archive"),  # an empty ZIP: end of central directory only
    (b"PK\x07\x08", "ZIP archive"),  # a spanned ZIP
    (b"\x1f\x8b", "gzip archive"),  # RFC 1952 ID1 ID2
    (b"BZh", "bzip2 archive"),
    (b"\xfd7zXZ\x00", "xz archive"),  # FD 37 7A 58 5A 00
    (b"7z\xbc\xaf\x27\x1c", "7-Zip archive"),  # 37 7A BC AF 27 1C
    (b"Rar!\x1a\x07", "RAR archive"),  # RAR 1.5-4 "...\x00", RAR 5 "...\x01\x00"
    (b"\x28\xb5\x2f\xfd", "zstd archive"),  # zstd frame magic 0xFD2FB528, little-endian
    (b"MSCF", "Microsoft Cabinet archive"),
]
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # OLE2 compound file: .doc, .xls, .ppt, .msi
# ISO base media brands (ftyp box): brand -> content type.
_BRANDS: dict[bytes, str] = {
    b: "image/heic" for b in (b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1")
}
_BRANDS |= {b"qt  ": "video/quicktime", b"M4A ": "audio/mp4", b"M4B ": "audio/mp4", b"M4P ": "audio/mp4"}
_BRANDS |= {
    b: "video/mp4"
    for b in (
        b"isom",
        b"iso2",
        b"iso3",
        b"iso4",
        b"iso5",
        b"iso6",
        b"mp41",
        b"mp42",
        b"mp71",
        b"avc1",
        b"dash",
        b"M4V ",
        b"M4VH",
        b"M4VP",
        b"mmp4",
        b"3gp4",
        b"3gp5",
        b"3gp6",
        b"3g2a",
        b"3g2b",
        b"3g2c",
        b"f4v ",
        b"MSNV",
        b"XAVC",
    )
}
_QUICKTIME_ATOMS = (b"moov", b"mdat", b"wide", b"free")  # QuickTime files older than ftyp start with one of these
# MPEG audio: kbit/s by (MPEG-1?, layer) for bitrate index 1..14, and Hz by version bits.
_BITRATES = {
    (True, 1): (32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448),
    (True, 2): (32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384),
    (True, 3): (32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    (False, 1): (32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256),
    (False, 2): (8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
_BITRATES[(False, 3)] = _BITRATES[(False, 2)]
_SAMPLE_RATES = {0b11: (44100, 48000, 32000), 0b10: (22050, 24000, 16000), 0b00: (11025, 12000, 8000)}
# Cc other than tab, LF, FF, CR: C0, DEL and C1.
_CONTROL = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class Detected:
    """What a Sniffer found: an allowed content type, or a refusal saying why not."""

    content_type: str | None  # one of ALLOWED's keys when allowed, else None
    label: str  # what it is, in words: "JPEG image", "Windows executable", "empty file" ...
    refusal: str | None  # None when allowed; else the sentence a 422 says


def _a(label: str) -> str:
    if label in _MASS_NOUNS:
        return label
    return ("an " if label[0] in "aeiouAEIOU" or label.startswith(("MP", "M4", "xz")) else "a ") + label


def _accepted(content_type: str) -> Detected:
    return Detected(content_type, LABELS[content_type], None)


def _refused(label: str, advice: str = "accepted: " + ", ".join(ALLOWED.values())) -> Detected:
    return Detected(None, label, f"{_a(label)} is not accepted as evidence; {advice}")


class Sniffer:
    """Fed every chunk of an upload in order; says what the bytes are once they have all passed."""

    def __init__(self) -> None:
        self._head = bytearray()  # the first HEAD bytes
        self._tail = bytearray()  # the last TAIL bytes (overlaps the head in a small file)
        self._size = 0
        self._utf8 = codecs.getincrementaldecoder("utf-8")("strict")
        self._text_so_far = True  # every byte so far is UTF-8 without a forbidden control character
        self._detected: Detected | None = None

    def feed(self, chunk: bytes) -> None:
        if self._detected is not None:
            raise ValueError("the Sniffer has already given its result")
        self._size += len(chunk)
        if len(self._head) < HEAD:
            self._head += chunk[: HEAD - len(self._head)]
        if len(chunk) >= TAIL:
            self._tail = bytearray(chunk[-TAIL:])
        else:
            self._tail += chunk
            del self._tail[: max(0, len(self._tail) - TAIL)]
        if self._text_so_far:
            self._text_so_far = self._still_text(chunk, final=False)

    def result(self) -> Detected:
        if self._detected is None:
            self._text_so_far = self._text_so_far and self._still_text(b"", final=True)
            self._detected = self._detect()
        return self._detected

    def _still_text(self, chunk: bytes, final: bool) -> bool:
        try:
            return _CONTROL.search(self._utf8.decode(chunk, final)) is None
        except UnicodeDecodeError:
            return False

    def _detect(self) -> Detected:
        head = bytes(self._head)
        if self._size == 0:
            return Detected(None, "empty file", "an empty file is not evidence")
        for magic, label in _REFUSED_MAGIC:
            if head.startswith(magic):
                return _refused(label)
        if head.startswith(_OLE):
            return _refused("old Office or installer file", "save it as DOCX or PDF")
        if head[257:262] == b"ustar":  # POSIX "ustar\0" and GNU "ustar  " magic in the first tar header
            return _refused("tar archive")
        if head.startswith(b"\xff\xd8\xff"):  # SOI marker then the next marker's FF
            return _accepted("image/jpeg")
        if head.startswith(b"\x89PNG\r\n\x1a\n"):
            return _accepted("image/png")
        if head.startswith(b"%PDF-"):
            return _accepted("application/pdf")
        if head.startswith(b"PK\x03\x04"):  # ZIP local file header
            return self._zip()
        if head[4:8] == b"ftyp":  # ISO base media: a box of size (4 bytes), type "ftyp", major brand, minor, brands
            return _iso_media(head, bytes(self._tail))
        if head[4:8] in _QUICKTIME_ATOMS:
            return _accepted("video/quicktime")
        if head.startswith(b"RIFF"):  # "RIFF" size form-type
            form = head[8:12]
            if form == b"WAVE":
                return _accepted("audio/wav")
            return _refused({b"AVI ": "AVI video", b"WEBP": "WebP image"}.get(form, "RIFF file"))
        if _is_id3v2(head) or _is_mpeg_audio(head, self._size):
            return _accepted("audio/mpeg")
        if self._text_so_far:
            return _accepted("text/plain")
        return _refused("unrecognised binary data")

    def _zip(self) -> Detected:
        names = self._central_directory_names() or _local_header_names(bytes(self._head))
        if {"[content_types].xml", "word/document.xml"} <= names:
            if "word/vbaproject.bin" in names:
                return _refused("macro-enabled Word document (DOCM)", "save it as DOCX or PDF")
            return _accepted(DOCX)
        return _refused("ZIP archive")

    def _central_directory_names(self) -> set[str] | None:
        """Every name the ZIP's central directory lists, when the directory lies wholly in the tail; else None."""
        tail = bytes(self._tail)
        # End of central directory: "PK\5\6", 18 fixed bytes, then a comment of up to 65535 bytes ending the file.
        end = tail.rfind(b"PK\x05\x06", max(0, len(tail) - 22 - 0xFFFF))
        while end >= 0 and int.from_bytes(tail[end + 20 : end + 22], "little") != len(tail) - end - 22:
            end = tail.rfind(b"PK\x05\x06", max(0, len(tail) - 22 - 0xFFFF), end)
        if end < 0 or tail[max(0, end - 20) : end].startswith(b"PK\x06\x07"):  # none, or ZIP64 (its locator)
            return None
        start = end - int.from_bytes(tail[end + 12 : end + 16], "little")  # the directory ends where the EOCD starts
        if start < 0:  # it begins before the tail
            return None
        names: set[str] = set()
        at = start
        while at < end:  # central directory file header: "PK\1\2", 42 fixed bytes, name, extra, comment
            if tail[at : at + 4] != b"PK\x01\x02":
                return None
            name_len, extra_len, comment_len = (
                int.from_bytes(tail[at + i : at + i + 2], "little") for i in (28, 30, 32)
            )
            names.add(tail[at + 46 : at + 46 + name_len].decode("utf-8", "replace").lower())
            at += 46 + name_len + extra_len + comment_len
        return names


def _local_header_names(head: bytes) -> set[str]:
    """The names in every local file header ("PK\\3\\4", 26 fixed bytes, name) seen in the head: a partial list."""
    names: set[str] = set()
    at = head.find(b"PK\x03\x04")
    while at >= 0:
        name_len = int.from_bytes(head[at + 26 : at + 28], "little")
        names.add(head[at + 30 : at + 30 + name_len].decode("utf-8", "replace").lower())
        at = head.find(b"PK\x03\x04", at + 4)
    return names


def _iso_media(head: bytes, tail: bytes) -> Detected:
    box_size = int.from_bytes(head[0:4], "big")
    brands = [head[8:12]] + [head[at : at + 4] for at in range(16, min(box_size, len(head)) - 3, 4)]
    if b"avif" in brands or b"avis" in brands:  # AV1 images share HEIF's mif1/msf1 brands
        return _refused("AVIF image")
    for brand in brands:  # the major brand first, then the compatible brands in order
        if brand in _BRANDS:
            if _BRANDS[brand] == "video/mp4" and _sound_only(head + tail):
                return _accepted("audio/mp4")  # an .m4a under a generic brand (isom, mp42), as Android records
            return _accepted(_BRANDS[brand])
    return _refused("ISO media file")


def _sound_only(data: bytes) -> bool:
    """Whether the tracks' handler boxes that can be seen (the moov box, at the start or the end of the file) are
    all sound: `hdlr`, version and flags, pre_defined, then the handler type ("soun", "vide", ...)."""
    handlers, at = set(), data.find(b"hdlr")
    while at != -1:
        handlers.add(data[at + 12 : at + 16])
        at = data.find(b"hdlr", at + 4)
    tracks = handlers & {b"soun", b"vide", b"pict", b"auxv"}
    return tracks == {b"soun"}


def _is_id3v2(head: bytes) -> bool:
    """ "ID3", major version 2-4, revision, flags, then a size of four 7-bit (syncsafe) bytes."""
    return head.startswith(b"ID3") and len(head) >= 10 and 2 <= head[3] <= 4 and all(b < 0x80 for b in head[6:10])


def _mpeg_frame_length(header: bytes) -> int | None:
    """The length of the MPEG audio frame whose 4-byte header this is, when it is a plausible one; else None.
    Header bits: sync(11) version(2) layer(2) protection(1) | bitrate(4) sampling(2) padding(1) private(1) | ..."""
    if len(header) < 4 or header[0] != 0xFF or header[1] & 0xE0 != 0xE0:
        return None
    version, layer = (header[1] >> 3) & 0b11, 4 - ((header[1] >> 1) & 0b11)  # layer bits 11=I, 10=II, 01=III
    bitrate_index, sampling_index, padding = header[2] >> 4, (header[2] >> 2) & 0b11, (header[2] >> 1) & 1
    if version == 0b01 or layer == 4 or not 1 <= bitrate_index <= 14 or sampling_index == 3 or header[3] & 3 == 2:
        return None  # reserved version or layer, free or bad bitrate, reserved sampling rate or emphasis
    mpeg1 = version == 0b11
    bits_per_second = _BITRATES[(mpeg1, layer)][bitrate_index - 1] * 1000
    sample_rate = _SAMPLE_RATES[version][sampling_index]
    if layer == 1:
        return (12 * bits_per_second // sample_rate + padding) * 4
    return (144 if mpeg1 or layer == 2 else 72) * bits_per_second // sample_rate + padding


def _is_mpeg_audio(head: bytes, size: int) -> bool:
    """A plausible frame header at offset 0, followed by another frame (or ID3v1 "TAG") or the end of the file."""
    length = _mpeg_frame_length(head[:4])
    if length is None or length > size:
        return False
    if length == size or length + 4 > len(head):
        return True
    return _mpeg_frame_length(head[length : length + 4]) is not None or head[length : length + 3] == b"TAG"


def contradiction(kind: str, content_type: str) -> str | None:
    """None when a file of this content type may be evidence of this kind; else why not, in a sentence."""
    if content_type in KINDS[kind]:
        return None
    names = [name for type_, name in ALLOWED.items() if type_ in KINDS[kind]]
    listed = ", ".join(names[:-1]) + " or " + names[-1] if len(names) > 1 else names[0]
    return f"the file is {_a(LABELS[content_type])}, not {_KIND_WORDS[kind]} ({listed})"


# The file name extensions each allowed type is saved under; the first is the one given when a name has none of them.
EXTENSIONS: dict[str, tuple[str, ...]] = {
    "image/jpeg": ("jpg", "jpeg", "jpe", "jfif"),
    "image/png": ("png",),
    "image/heic": ("heic", "heif"),
    "application/pdf": ("pdf",),
    "video/mp4": ("mp4", "m4v"),
    "video/quicktime": ("mov", "qt"),
    "audio/mpeg": ("mp3",),
    "audio/wav": ("wav",),
    "audio/mp4": ("m4a",),
    DOCX: ("docx",),
    "text/plain": ("txt",),
}
_EXTENSION = re.compile(r"^[A-Za-z][A-Za-z0-9]{0,7}$")  # what reads as an extension, not part of a name ("v2.05")


def download_name(filename: str, content_type: str | None) -> str:
    """The name a download is saved under: the stored name, its extension made the detected type's, so that the
    computer opens it as what it is (`page.html` of plain text is saved as `page.txt`, a JPEG called
    `polyglot.html` as `polyglot.jpg`). The stored name stays as sent, for the record."""
    extensions = EXTENSIONS.get(content_type or "")
    if not extensions:
        return filename
    stem, dot, extension = filename.rpartition(".")
    if dot and stem and extension.lower() in extensions:
        return filename
    if dot and stem and _EXTENSION.match(extension):
        return f"{stem}.{extensions[0]}"
    return f"{filename}.{extensions[0]}"
