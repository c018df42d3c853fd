"""domain/content_types: what an upload is, told from its bytes as they stream, with real samples made here."""

import bz2
import gzip
import io
import lzma
import random
import struct
import tarfile
import wave
import zipfile
import zlib

import docx
import pytest

from referrals.domain.content_types import ALLOWED, DOCX, HEAD, KINDS, TAIL, Sniffer, contradiction
from referrals.domain.enums import EvidenceKind
from tests.support.evidence_files import jpeg

CHUNK_SIZES = [1, 7, 64 * 1024]
ACCEPTED = "accepted: JPEG, PNG, HEIC, PDF, MP4, QuickTime, MP3, WAV, M4A, DOCX, plain text"


def sniff(data: bytes, chunk_size: int):
    sniffer = Sniffer()
    for at in range(0, len(data), chunk_size):
        sniffer.feed(data[at : at + chunk_size])
    return sniffer.result()


# --- samples, made by real encoders where the stdlib or the venv has one ---------------------------------------


def png(width: int = 3, height: int = 2) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + bytes([200, 30, 30]) * width for _ in range(height))  # filter 0, red pixels
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def word_document() -> bytes:
    document = docx.Document()
    document.add_heading("Statement of P.O. Ana Ruiz", 1)
    document.add_paragraph("At 21:40 I saw the vehicle leave the scene.")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def padded_word_document(padding: int = HEAD + TAIL + 100_000) -> bytes:
    """A DOCX bigger than HEAD + TAIL: a large stored member between the parts and the central directory."""
    out = io.BytesIO(word_document())
    with zipfile.ZipFile(out, "a") as archive:
        archive.writestr("word/media/image1.bin", random.Random(2).randbytes(padding), zipfile.ZIP_STORED)
    return out.getvalue()


def zip_of(*names: str, many: int = 0) -> bytes:
    """A ZIP holding these names, then `many` small members with long names (a central directory past TAIL)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in names:
            archive.writestr(name, "<x/>")
        for n in range(many):
            archive.writestr(f"customXml/{'item' * 25}{n:05}.xml", "<x/>")
    return out.getvalue()


def pdf() -> bytes:
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>",
    ]
    out, offsets = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"), []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def wav() -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as recording:
        recording.setnchannels(1)
        recording.setsampwidth(2)
        recording.setframerate(8000)
        recording.writeframes(struct.pack("<800h", *(int(3000 * ((n // 20) % 2 * 2 - 1)) for n in range(800))))
    return out.getvalue()


def box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def iso_media(major: bytes, *compatible: bytes) -> bytes:
    """An ISO base media file: ftyp (major brand, minor version, compatible brands), then an mdat box."""
    return box(b"ftyp", major + struct.pack(">I", 0x200) + b"".join(compatible)) + box(b"mdat", bytes(2000))


# MPEG-1 Layer III, no CRC, 128 kbit/s, 44.1 kHz, no padding: FF FB 90 64; frame = 144 * 128000 // 44100 = 417.
MP3_FRAME = b"\xff\xfb\x90\x64" + bytes(417 - 4)


def mp3_with_id3() -> bytes:
    title = b"TIT2" + struct.pack(">I", 11) + b"\x00\x00" + b"\x03Interview"  # a UTF-8 title frame, ID3v2.4
    size = len(title)
    syncsafe = bytes([(size >> 21) & 0x7F, (size >> 14) & 0x7F, (size >> 7) & 0x7F, size & 0x7F])
    return b"ID3\x04\x00\x00" + syncsafe + title + MP3_FRAME * 3


def tar() -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as archive:
        member = tarfile.TarInfo("statement.txt")
        member.size = 5
        archive.addfile(member, io.BytesIO(b"hello"))
    return out.getvalue()


TEXT = (
    "Déclaration de l'agent : la voiture a quitté la scène à 21 h 40. Señora Núñez vit tout; "
    "Straße, café, naïve, 2 €, 🚓.\r\n\tPage two follows.\f\n"
) * 5000

ACCEPTED_SAMPLES = {
    "jpeg": (jpeg(), "image/jpeg"),
    "png": (png(), "image/png"),
    "pdf": (pdf(), "application/pdf"),
    "docx": (word_document(), DOCX),
    "docx bigger than head and tail": (padded_word_document(), DOCX),
    "docx whose central directory is past the tail": (
        zip_of("[Content_Types].xml", "_rels/.rels", "word/document.xml", many=2400),
        DOCX,
    ),
    "wav": (wav(), "audio/wav"),
    "mp4": (iso_media(b"isom", b"isom", b"iso2", b"avc1", b"mp41"), "video/mp4"),
    "mp4 of an unlisted major brand": (iso_media(b"XYZW", b"XYZW", b"mp42", b"iso2"), "video/mp4"),
    "quicktime": (iso_media(b"qt  ", b"qt  "), "video/quicktime"),
    "quicktime without ftyp": (box(b"mdat", bytes(3000)) + box(b"moov", bytes(100)), "video/quicktime"),
    "m4a": (iso_media(b"M4A ", b"M4A ", b"mp42", b"isom"), "audio/mp4"),
    "heic": (iso_media(b"heic", b"mif1", b"heic"), "image/heic"),
    "heif of major brand mif1": (iso_media(b"mif1", b"mif1", b"heic"), "image/heic"),
    "mp3 with id3": (mp3_with_id3(), "audio/mpeg"),
    "mp3 without id3": (MP3_FRAME * 5, "audio/mpeg"),
    "utf-8 text": (TEXT.encode(), "text/plain"),
    "utf-8 text with a bom": (b"\xef\xbb\xbf" + TEXT[:500].encode(), "text/plain"),
}

REFUSED_SAMPLES = {
    "empty": (b"", "empty file"),
    "zip": (zip_of("notes.txt", "photos/1.jpg"), "ZIP archive"),
    "xlsx-like zip": (zip_of("[Content_Types].xml", "_rels/.rels", "xl/workbook.xml"), "ZIP archive"),
    "zip past the tail without word/document.xml": (zip_of("[Content_Types].xml", many=2400), "ZIP archive"),
    "macro-enabled word": (
        zip_of("[Content_Types].xml", "word/document.xml", "word/vbaProject.bin"),
        "macro-enabled Word document (DOCM)",
    ),
    "gzip": (gzip.compress(TEXT.encode()), "gzip archive"),
    "bzip2": (bz2.compress(TEXT.encode()), "bzip2 archive"),
    "xz": (lzma.compress(TEXT.encode()), "xz archive"),
    "tar": (tar(), "tar archive"),
    "7-zip": (b"7z\xbc\xaf\x27\x1c\x00\x04" + bytes(24), "7-Zip archive"),
    "rar": (b"Rar!\x1a\x07\x01\x00" + bytes(24), "RAR archive"),
    "zstd": (b"\x28\xb5\x2f\xfd\x24\x05\x29\x00\x00hello", "zstd archive"),
    "cab": (b"MSCF\x00\x00\x00\x00" + bytes(40), "Microsoft Cabinet archive"),
    "ole": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504), "old Office or installer file"),
    "elf": (b"\x7fELF\x02\x01\x01\x00" + bytes(56), "ELF executable"),
    "mz": (b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + bytes(50) + b"PE\x00\x00", "Windows executable"),
    "mach-o": (b"\xcf\xfa\xed\xfe\x07\x00\x00\x01" + bytes(24), "Mach-O executable"),
    "shebang": (b"#!/bin/sh\nrm -rf ~\n", "script"),
    "avi": (b"RIFF\x00\x10\x00\x00AVI LIST" + bytes(100), "AVI video"),
    "avif": (iso_media(b"avif", b"avif", b"mif1", b"miaf"), "AVIF image"),
    "iso media of unknown brands": (iso_media(b"abcd", b"efgh"), "ISO media file"),
    "random bytes": (random.Random(1).randbytes(300_000), "unrecognised binary data"),
    "mpeg frame header with no frame after it": (b"\xff\xfb\x90\x64" + b"\x01" * 2000, "unrecognised binary data"),
    "text with a nul past head and tail": (TEXT.encode() + b"\x00" + TEXT.encode(), "unrecognised binary data"),
    "text with an escape": (b"plain\x1b[31m red", "unrecognised binary data"),
    "latin-1 text": ("café au lait".encode("latin-1"), "unrecognised binary data"),
    "text ending mid character": ("café".encode()[:-1], "unrecognised binary data"),
}


# --- tests --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("chunk_size", CHUNK_SIZES)
@pytest.mark.parametrize("name", ACCEPTED_SAMPLES)
def test_accepted_whatever_the_chunks(name, chunk_size):
    data, content_type = ACCEPTED_SAMPLES[name]
    found = sniff(data, chunk_size)
    assert (found.content_type, found.refusal) == (content_type, None)
    assert content_type in ALLOWED


@pytest.mark.parametrize("chunk_size", CHUNK_SIZES)
@pytest.mark.parametrize("name", REFUSED_SAMPLES)
def test_refused_whatever_the_chunks(name, chunk_size):
    data, label = REFUSED_SAMPLES[name]
    found = sniff(data, chunk_size)
    assert (found.content_type, found.label) == (None, label)
    assert found.refusal


def test_samples_are_as_big_as_the_brief_needs():
    assert len(ACCEPTED_SAMPLES["docx bigger than head and tail"][0]) > HEAD + TAIL
    past_tail = ACCEPTED_SAMPLES["docx whose central directory is past the tail"][0]
    end_of_directory = past_tail.rfind(b"PK\x05\x06")
    assert int.from_bytes(past_tail[end_of_directory + 12 : end_of_directory + 16], "little") > TAIL
    assert past_tail.find(b"word/document.xml") < HEAD  # so the names in the local headers decide
    text_with_nul = REFUSED_SAMPLES["text with a nul past head and tail"][0]
    assert HEAD + TAIL < text_with_nul.index(b"\x00") < len(text_with_nul) - TAIL


def test_refusals_say_what_the_file_is_and_what_is_accepted():
    assert sniff(REFUSED_SAMPLES["mz"][0], 7).refusal == f"a Windows executable is not accepted as evidence; {ACCEPTED}"
    assert sniff(REFUSED_SAMPLES["elf"][0], 7).refusal == f"an ELF executable is not accepted as evidence; {ACCEPTED}"
    assert sniff(REFUSED_SAMPLES["zip"][0], 7).refusal == f"a ZIP archive is not accepted as evidence; {ACCEPTED}"
    assert sniff(b"", 7).refusal == "an empty file is not evidence"
    assert (
        sniff(REFUSED_SAMPLES["ole"][0], 7).refusal
        == "an old Office or installer file is not accepted as evidence; save it as DOCX or PDF"
    )
    assert (
        sniff(REFUSED_SAMPLES["random bytes"][0], 4096).refusal
        == f"unrecognised binary data is not accepted as evidence; {ACCEPTED}"
    )


def test_labels_of_accepted_files():
    assert sniff(jpeg(), 7).label == "JPEG image"
    assert sniff(word_document(), 7).label == "Word document (DOCX)"
    assert sniff(TEXT.encode(), 65536).label == "plain text"


def test_allowed_is_exactly_the_list():
    assert ALLOWED == {
        "image/jpeg": "JPEG",
        "image/png": "PNG",
        "image/heic": "HEIC",
        "application/pdf": "PDF",
        "video/mp4": "MP4",
        "video/quicktime": "QuickTime",
        "audio/mpeg": "MP3",
        "audio/wav": "WAV",
        "audio/mp4": "M4A",
        DOCX: "DOCX",
        "text/plain": "plain text",
    }
    assert DOCX == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def test_a_file_that_contradicts_its_kind():
    assert contradiction("photo", "application/pdf") == "the file is a PDF document, not a photo (JPEG, PNG or HEIC)"
    assert contradiction("audio", "video/mp4") == "the file is an MP4 video, not an audio recording (MP3, WAV or M4A)"
    assert contradiction("video", "text/plain") == "the file is plain text, not a video (MP4 or QuickTime)"
    assert contradiction("statement", "image/jpeg") is None  # a scan
    assert contradiction("medical_record", DOCX) is None
    assert all(contradiction("other", content_type) is None for content_type in ALLOWED)
    assert set(KINDS) == {"photo", "video", "audio", "document", "medical_record", "statement", "other"}
    assert set(KINDS) == {kind.value for kind in EvidenceKind}  # every kind an item may declare
    assert all(KINDS[kind] <= set(ALLOWED) for kind in KINDS)


def test_a_download_is_named_for_what_its_bytes_are():
    from referrals.domain.content_types import EXTENSIONS, download_name

    # An HTML page accepted as plain text, and a JPEG with a page in its tail, are saved as what they were taken for.
    html = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"
    assert sniff(html, 7).content_type == "text/plain"
    assert download_name("page.html", "text/plain") == "page.txt"
    assert sniff(jpeg() + html, 7).content_type == "image/jpeg"
    assert download_name("polyglot.html", "image/jpeg") == "polyglot.jpg"
    assert download_name("palm.jpg", "image/png") == "palm.png"  # the client called a PNG a JPEG
    assert download_name("report.PDF.exe", "application/pdf") == "report.PDF.pdf"
    # A name already right stays as it is, in its own case; an extension the type also goes by is kept.
    assert download_name("IMG_0042.JPEG", "image/jpeg") == "IMG_0042.JPEG"
    assert download_name("clip.m4v", "video/mp4") == "clip.m4v"
    # No extension, or a dot that is part of the name: the type's extension is added.
    assert download_name("statement", "text/plain") == "statement.txt"
    assert download_name("interview 2026.01.31", "audio/wav") == "interview 2026.01.31.wav"
    assert download_name(".htaccess", "text/plain") == ".htaccess.txt"
    assert set(EXTENSIONS) == set(ALLOWED)


def test_memory_stays_bounded():
    sniffer = Sniffer()
    megabyte = (TEXT * 2).encode()[: 1024 * 1024]
    megabyte = megabyte[: len(megabyte.decode("utf-8", "ignore").encode())]  # whole characters only
    for _ in range(20):
        sniffer.feed(megabyte)
        retained = sum(len(value) for value in vars(sniffer).values() if isinstance(value, (bytes, bytearray)))
        assert retained <= HEAD + TAIL
    decoder_pending, _ = sniffer._utf8.getstate()
    assert len(decoder_pending) < 4
    assert sniffer.result().content_type == "text/plain"


def test_result_is_final():
    sniffer = Sniffer()
    sniffer.feed(b"caf\xc3")
    assert sniffer.result() == sniffer.result()
    assert sniffer.result().content_type is None
    with pytest.raises(ValueError):
        sniffer.feed(b"\xa9")


def _track(handler: bytes) -> bytes:
    # trak > mdia > hdlr: version and flags, pre_defined, the handler type, reserved, a name.
    return box(b"trak", box(b"mdia", box(b"hdlr", bytes(8) + handler + bytes(12) + b"track\x00")))


@pytest.mark.parametrize(
    ("tracks", "where", "expected"),
    [
        ([b"soun"], "end", "audio/mp4"),  # an Android recorder's .m4a: brand isom, one sound track, moov at the end
        ([b"soun"], "start", "audio/mp4"),  # the same, "fast start" (moov before mdat)
        ([b"vide", b"soun"], "end", "video/mp4"),  # a video with its sound
        ([], "end", "video/mp4"),  # no track to be seen: the brand decides
    ],
)
def test_an_mp4_with_only_sound_tracks_is_audio(tracks, where, expected):
    ftyp = box(b"ftyp", b"isom" + struct.pack(">I", 0x200) + b"isomiso2mp41")
    moov = box(b"moov", b"".join(_track(t) for t in tracks))
    mdat = box(b"mdat", bytes(200_000))
    data = ftyp + (moov + mdat if where == "start" else mdat + moov)
    sniffer = Sniffer()
    for at in range(0, len(data), 4096):
        sniffer.feed(data[at : at + 4096])
    assert sniffer.result().content_type == expected
    assert (contradiction("audio", expected) is None) is (expected == "audio/mp4")
