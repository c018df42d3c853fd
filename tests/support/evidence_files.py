"""Real files for the evidence tests, made in the test: images, a PDF, videos (one a browser plays), an executable,
an archive."""

import io
import struct
import zipfile
import zlib


def png(width: int = 4, height: int = 3, rgb: tuple[int, int, int] = (200, 40, 40)) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def pdf(text: str = "Hospital record 4471") -> bytes:
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for n, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def mp4(payload: int = 4096) -> bytes:
    ftyp = b"ftyp" + b"isom" + struct.pack(">I", 512) + b"isomiso2avc1mp41"
    mdat = b"mdat" + bytes(range(256)) * (payload // 256)
    return struct.pack(">I", len(ftyp) + 4) + ftyp + struct.pack(">I", len(mdat) + 4) + mdat


def zip_archive() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("notes.txt", "not evidence")
    return out.getvalue()


WINDOWS_EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + bytes(200)


def _jpeg_segment(marker: int, payload: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


def jpeg(width: int = 16, height: int = 8) -> bytes:
    """A baseline JFIF of flat grey: a tiny encoder whose Huffman tables hold one code each (DC 0 and EOB)."""
    blocks = -(-width // 8) * -(-height // 8)
    bits = "00" * blocks  # per 8x8 block: DC difference category 0 ('0'), then end of block ('0')
    bits += "1" * (-len(bits) % 8)  # pad the last byte with 1s
    return (
        b"\xff\xd8"
        + _jpeg_segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
        + _jpeg_segment(0xDB, b"\x00" + b"\x01" * 64)
        + _jpeg_segment(0xC0, struct.pack(">BHHB", 8, height, width, 1) + b"\x01\x11\x00")
        + _jpeg_segment(0xC4, b"\x00" + bytes([1] + [0] * 15) + b"\x00")
        + _jpeg_segment(0xC4, b"\x10" + bytes([1] + [0] * 15) + b"\x00")
        + _jpeg_segment(0xDA, b"\x01\x01\x00\x00\x3f\x00")
        + int(bits, 2).to_bytes(len(bits) // 8, "big")
        + b"\xff\xd9"
    )


# --- a real, playable MP4 for the browser, made here: H.264 with uncompressed (I_PCM) macroblocks, no encoder -----


class _Bits:
    """An H.264 RBSP written bit by bit: fixed-width and Exp-Golomb fields, and whole bytes once aligned."""

    def __init__(self):
        self.out, self.acc, self.n = bytearray(), 0, 0

    def u(self, width: int, value: int) -> None:
        for shift in reversed(range(width)):
            self.acc, self.n = self.acc << 1 | (value >> shift) & 1, self.n + 1
            if self.n == 8:
                self.out.append(self.acc)
                self.acc, self.n = 0, 0

    def ue(self, value: int) -> None:
        code = value + 1
        self.u(code.bit_length() - 1, 0)
        self.u(code.bit_length(), code)

    def align(self) -> None:
        self.u(-self.n % 8, 0)

    def raw(self, data: bytes) -> None:
        assert self.n == 0
        self.out += data

    def nal(self, header: int) -> bytes:
        """The NAL unit: trailing bits, and an 03 wherever two zero bytes come before a byte of 0 to 3."""
        self.u(1, 1)
        self.align()
        out, zeros = bytearray([header]), 0
        for byte in self.out:
            if zeros >= 2 and byte <= 3:
                out.append(3)
                zeros = 0
            out.append(byte)
            zeros = zeros + 1 if byte == 0 else 0
        return bytes(out)


def _parameter_sets(width: int, height: int) -> tuple[bytes, bytes]:
    sps = _Bits()
    sps.u(8, 66), sps.u(8, 0), sps.u(8, 10)  # Baseline profile, level 1
    for _ in range(5):  # its id, log2 of the frame number's and the order count's range less 4, order type, refs
        sps.ue(0)
    sps.u(1, 0), sps.ue(width // 16 - 1), sps.ue(height // 16 - 1)
    sps.u(1, 1), sps.u(1, 1), sps.u(1, 0), sps.u(1, 0)  # frames only, direct 8x8, no cropping, no VUI
    pps = _Bits()
    pps.ue(0), pps.ue(0), pps.u(1, 0), pps.u(1, 0), pps.ue(0), pps.ue(0), pps.ue(0), pps.u(1, 0), pps.u(2, 0)
    pps.ue(0), pps.ue(0), pps.ue(0), pps.u(1, 0), pps.u(1, 0), pps.u(1, 0)  # QPs 26, no offsets or flags
    return sps.nal(0x67), pps.nal(0x68)


def _picture(n: int, width: int, height: int) -> bytes:
    """An IDR picture of diagonal stripes that move with n, every macroblock its raw samples."""
    slice_ = _Bits()
    slice_.ue(0), slice_.ue(7), slice_.ue(0), slice_.u(4, 0), slice_.ue(n % 2), slice_.u(4, 0)
    slice_.u(1, 0), slice_.u(1, 0), slice_.ue(0)  # reference marking of an IDR picture; no QP change
    for top in range(0, height, 16):
        for left in range(0, width, 16):
            slice_.ue(25)  # I_PCM
            slice_.align()
            slice_.raw(
                bytes(40 + (x + y + 4 * n) % 64 * 2 for y in range(top, top + 16) for x in range(left, left + 16))
            )
            slice_.raw(bytes([150] * 64 + [110] * 64))  # Cb, Cr: a blue-grey
    return slice_.nal(0x65)


def _box(kind: bytes, *parts: bytes, version_flags: int | None = None) -> bytes:
    body = (b"" if version_flags is None else struct.pack(">I", version_flags)) + b"".join(parts)
    return struct.pack(">I", 8 + len(body)) + kind + body


def h264_mp4(frames: int = 10, fps: int = 10, width: int = 128, height: int = 96) -> bytes:
    """A one-second MP4 (ISO base media, brand isom) that browsers play: `frames` H.264 pictures, faststart."""
    sps, pps = _parameter_sets(width, height)
    samples = [struct.pack(">I", len(p)) + p for p in (_picture(n, width, height) for n in range(frames))]
    delta, duration = 1000 // fps, 1000 // fps * frames  # in milliseconds
    matrix = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)
    avcc = _box(
        b"avcC",
        bytes([1, 66, 0, 10, 0xFF, 0xE1]),
        struct.pack(">H", len(sps)),
        sps,
        b"\x01",
        struct.pack(">H", len(pps)),
        pps,
    )
    avc1 = _box(
        b"avc1",
        bytes(6),
        struct.pack(">H", 1),
        bytes(16),
        struct.pack(">HHIIIH", width, height, 0x480000, 0x480000, 0, 1),
        bytes(32),
        struct.pack(">Hh", 0x18, -1),
        avcc,
    )

    def moov(offset: int) -> bytes:
        stbl = _box(
            b"stbl",
            _box(b"stsd", struct.pack(">I", 1), avc1, version_flags=0),
            _box(b"stts", struct.pack(">III", 1, frames, delta), version_flags=0),
            _box(b"stsc", struct.pack(">IIII", 1, 1, frames, 1), version_flags=0),
            _box(
                b"stsz", struct.pack(">II", 0, frames), *(struct.pack(">I", len(s)) for s in samples), version_flags=0
            ),
            _box(b"stco", struct.pack(">II", 1, offset), version_flags=0),
        )
        dinf = _box(b"dinf", _box(b"dref", struct.pack(">I", 1), _box(b"url ", version_flags=1), version_flags=0))
        minf = _box(b"minf", _box(b"vmhd", bytes(8), version_flags=1), dinf, stbl)
        mdia = _box(
            b"mdia",
            _box(b"mdhd", struct.pack(">IIIIHH", 0, 0, 1000, duration, 0x55C4, 0), version_flags=0),
            _box(b"hdlr", bytes(4), b"vide", bytes(12), b"Video\x00", version_flags=0),
            minf,
        )
        tkhd = _box(
            b"tkhd",
            struct.pack(">IIIII", 0, 0, 1, 0, duration),
            bytes(16),
            matrix,
            struct.pack(">II", width << 16, height << 16),
            version_flags=3,
        )
        mvhd = _box(
            b"mvhd",
            struct.pack(">IIIIIH", 0, 0, 1000, duration, 0x10000, 0x100),
            bytes(10),
            matrix,
            bytes(24),
            struct.pack(">I", 2),
            version_flags=0,
        )
        return _box(b"moov", mvhd, _box(b"trak", tkhd, mdia))

    ftyp = _box(b"ftyp", b"isom", struct.pack(">I", 512), b"isomiso2avc1mp41")
    return ftyp + moov(len(ftyp) + len(moov(0)) + 8) + _box(b"mdat", *samples)
