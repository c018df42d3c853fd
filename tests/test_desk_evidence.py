"""Evidence at the desk: the upload form on the case page (no script needed), the items' thumbnails and players fed
in ranges, downloads, and each item's custody log; refusals beside their field with nothing kept.

Each person signs in through the real sign-in form; what the form stored is read back through the JSON API."""

import hashlib
import re
import struct
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import text as sql

from referrals.api.main import create_app
from referrals.domain.enums import EvidenceKind, EvidenceSource
from tests.desk_client import browser, signed_in
from tests.evidence_files import WINDOWS_EXE, mp4, pdf, png
from tests.scenario import VICTIM, Driver, filing
from tests.test_web_case import _Forms, desk, error_beside, repeated_ids, text  # noqa: F401 (desk: a fixture)

CHICAGO = ZoneInfo("America/Chicago")
COLLECTED = (datetime.now(UTC) - timedelta(hours=3)).astimezone(CHICAGO).replace(second=0, microsecond=0, tzinfo=None)


@pytest.fixture
async def case(api, people) -> dict:
    return await Driver(api, people).new_case("officer", filing(people=[VICTIM]))


def evidence_form(page: str) -> dict | None:
    """The upload form of the case page ({action, fields, selects}), or None when the page has none."""
    parser = _Forms()
    parser.feed(page)
    return next((f for f in parser.forms if (f["action"] or "").endswith("/evidence")), None)


def options(page: str, name: str) -> list[str]:
    select = re.search(rf'<select id="[^"]+" name="{re.escape(name)}".*?</select>', page, re.S).group(0)
    return [v for v in re.findall(r'<option value="([^"]*)"', select) if v]


TYPED = {
    "kind": "photo",
    "source": "cpd",
    "description": "injury to the left palm",
    "collected_by": "P.O. Ana Ruiz, star 12345",
    "collected_at": COLLECTED.strftime("%Y-%m-%dT%H:%M"),
    "person_id": "P1",
}


async def post(
    page: httpx.AsyncClient, form: dict, typed: dict, content: bytes | None, filename: str = "palm.jpg"
) -> httpx.Response:
    """The form as a browser sends it: its fields in order (the CSRF token first), the file part last."""
    fields = {name: typed.get(name, value) for name, value in form["fields"] if name != "file"}
    unknown = set(typed) - set(fields)
    assert not unknown, f"no fields {unknown} in the form"
    file = ("", b"") if content is None else (filename, content)  # a browser sends an empty part when none is chosen
    return await page.post(form["action"], data=fields, files={"file": (*file, "application/octet-stream")})


async def items(api, people, case_id: str) -> list[dict]:
    listed = await api.get(f"/incidents/{case_id}/evidence", headers=people.headers("auditor"))
    assert listed.status_code == 200, listed.text
    return listed.json()["items"]


async def stored(sessions, case_id: str) -> tuple[int, int]:
    """(file rows, stored chunks) of the case's evidence."""
    async with sessions() as s:
        files = (
            await s.exec(sql("SELECT count(*) FROM evidence_file WHERE case_id = :c"), params={"c": case_id})
        ).one()
        chunks = (
            await s.exec(sql("SELECT count(*) FROM evidence_chunk WHERE key LIKE :p"), params={"p": f"{case_id}/%"})
        ).one()
    return files[0], chunks[0]


async def test_a_photo_through_the_form_is_shown_served_in_ranges_and_its_custody_logged(api, people, desk, case):
    url = f"/desk/cases/{case['id']}"
    officer = await desk("officer")
    page = (await officer.get(url)).text
    assert re.search(r"<h2[^>]*>Evidence</h2>", page) and "No evidence has been added to this case." in page
    form = evidence_form(page)
    assert form is not None and form["fields"][0][0] == "csrf_token" and form["fields"][-1][0] == "file"
    assert 'enctype="multipart/form-data"' in page and 'type="datetime-local"' in page
    assert options(page, "kind") == [k.value for k in EvidenceKind]
    assert options(page, "source") == [s.value for s in EvidenceSource]
    assert options(page, "person_id") == ["P1"]
    assert ("collected_by", "Test officer, star 12345") in form["fields"]  # the signed-in person, prefilled
    assert repeated_ids(page) == []

    photo = png(40, 30)
    sent = await post(officer, form, TYPED, photo)
    assert sent.status_code == 303, sent.text
    assert sent.headers["location"] == f"{url}?done=add_evidence&item=1#evidence-1"
    (item,) = await items(api, people, case["id"])
    assert (item["number"], item["kind"], item["person_id"], item["content_type"], item["size"]) == (
        1,
        "photo",
        "P1",
        "image/png",
        len(photo),
    )
    assert item["sha256"] == hashlib.sha256(photo).hexdigest() and item["added_by"]["name"] == "Test officer"
    # The datetime-local field is read on Chicago's clock.
    assert datetime.fromisoformat(item["collected_at"]) == COLLECTED.replace(tzinfo=CHICAGO)

    shown = await officer.get(sent.headers["location"])
    assert re.search(r'class="notice" role="status">Evidence item 1 added\.<', shown.text)
    base = f"{url}/evidence/{item['id']}"
    row = re.search(r'<tr id="evidence-1">.*?</tr>', shown.text, re.S).group(0)
    assert re.search(rf'<img class="thumb" src="{re.escape(base)}/view"[^>]* loading="lazy"', row)
    assert f'href="{base}"' in row and f'href="{base}/custody"' in row
    assert f'title="{item["sha256"]}">{item["sha256"][:12]}…' in row
    seen = text(row)
    assert "Photo : injury to the left palm" in seen and "Concerns Victim: Jane Roe (P1)" in seen
    assert "CPD" in seen and "collected by P.O. Ana Ruiz, star 12345" in seen
    assert f"{len(photo)} Bytes image/png" in seen
    assert COLLECTED.strftime("%d %b %Y, %H:%M") in seen

    # The thumbnail's bytes, in the range a player would ask for: inline, and noted in the custody log.
    part = await officer.get(f"{base}/view", headers={"Range": "bytes=8-23"})
    assert part.status_code == 206, part.text
    assert part.content == photo[8:24] and part.headers["content-range"] == f"bytes 8-23/{len(photo)}"
    assert part.headers["content-disposition"].startswith("inline;") and part.headers["content-type"] == "image/png"
    whole = await (await desk("liaison")).get(base)
    assert whole.status_code == 200 and whole.content == photo
    assert whole.headers["content-disposition"].startswith("attachment;")

    log = await officer.get(f"{base}/custody")
    assert log.status_code == 200, log.text
    rows = re.findall(r'<tr id="custody-(\d+)"><td>\d+</td><td>([^<]+)</td><td>([^<]+)</td>', log.text)
    assert rows == [
        ("1", "Added", "Test officer"),
        ("2", "Viewed", "Test officer"),
        ("3", "Downloaded", "Test liaison"),
    ]
    assert "Chain intact" in log.text and "bytes 8-23/" in log.text and "client " in text(log.text)
    assert f"Back to case {case['case_number']}" in text(log.text)

    # Someone who may not see the case gets nothing of it.
    elsewhere = await desk("supervisor_elsewhere")
    for path in (base, f"{base}/view", f"{base}/custody"):
        assert (await elsewhere.get(path)).status_code == 404


async def test_a_video_plays_in_the_page_and_a_reference_needs_no_file(api, people, desk, case):
    url = f"/desk/cases/{case['id']}"
    officer = await desk("officer")
    form = evidence_form((await officer.get(url)).text)
    video = mp4(8192)
    assert (await post(officer, form, TYPED | {"kind": "video", "person_id": ""}, video, "clip.mp4")).status_code == 303
    elsewhere = TYPED | {
        "kind": "video",
        "description": "the body-worn camera recording",
        "person_id": "",
        "held_elsewhere.system": "Axon Evidence.com",
        "held_elsewhere.reference": "AXON-2026-0042",
    }
    reused = await post(officer, form, elsewhere, None)  # the same form's key for another item: refused
    assert reused.status_code == 409 and "was already used for a different upload" in text(reused.text)
    form = evidence_form((await officer.get(url)).text)
    assert (await post(officer, form, elsewhere, None)).status_code == 303
    first, second = await items(api, people, case["id"])
    assert first["content_type"] == "video/mp4" and second["sha256"] is None

    page = (await officer.get(url)).text
    base = f"{url}/evidence/{first['id']}"
    assert re.search(rf'<video class="player" controls preload="metadata" src="{re.escape(base)}/view"', page)
    assert "Held elsewhere: Axon Evidence.com, AXON-2026-0042" in text(page)
    played = await officer.get(f"{base}/view", headers={"Range": "bytes=0-"})
    assert played.status_code == 206 and played.content == video
    assert played.headers["content-range"] == f"bytes 0-{len(video) - 1}/{len(video)}"
    gone = await officer.get(f"{url}/evidence/{second['id']}/view")
    assert gone.status_code == 404 and "held elsewhere" in gone.text


async def test_refusals_come_back_beside_their_field_with_what_was_typed_and_nothing_kept(
    api, people, desk, case, sessions
):
    url = f"/desk/cases/{case['id']}"
    officer = await desk("officer")
    form = evidence_form((await officer.get(url)).text)

    refused = await post(officer, form, TYPED, WINDOWS_EXE, "palm.jpg.exe")
    assert refused.status_code == 422, refused.text
    assert "Windows executable" in error_beside(refused.text, "evidence-file")
    assert 'value="injury to the left palm"' in refused.text  # what was typed, kept
    assert '<details class="step-more" open>' in refused.text and "Not recorded:" in refused.text

    contradicted = await post(officer, form, TYPED, pdf(), "palm.pdf")
    assert contradicted.status_code == 422, contradicted.text
    assert "PDF" in error_beside(contradicted.text, "evidence-kind")
    assert re.search(r'<option value="photo" selected>', contradicted.text)

    missing = await post(officer, form, TYPED | {"collected_at": "", "held_elsewhere.system": "Axon"}, None)
    assert missing.status_code == 422, missing.text
    assert error_beside(missing.text, "evidence-collected_at")
    assert error_beside(missing.text, "evidence-held_elsewhere-reference")

    later = (datetime.now(UTC) + timedelta(days=2)).astimezone(CHICAGO).strftime("%Y-%m-%dT%H:%M")
    future = await post(officer, form, TYPED | {"collected_at": later}, png())
    assert future.status_code == 422 and error_beside(future.text, "evidence-collected_at")

    assert await items(api, people, case["id"]) == []
    assert await stored(sessions, case["id"]) == (0, 0)
    # The form that follows a refusal is a working form: sent again, put right, it stores the item once.
    again = evidence_form(refused.text)
    assert again["fields"][0] == form["fields"][0] and again["fields"][1][0] == "idempotency_key"
    assert (await post(officer, again, {}, png())).status_code == 303
    assert len(await items(api, people, case["id"])) == 1


async def test_the_same_form_sent_twice_adds_one_item(api, people, desk, case, sessions):
    officer = await desk("officer")
    form = evidence_form((await officer.get(f"/desk/cases/{case['id']}")).text)
    photo = png()
    first = await post(officer, form, TYPED, photo)
    second = await post(officer, form, TYPED, photo)  # a double click: the same idempotency key and body
    assert (first.status_code, second.status_code) == (303, 303)
    assert first.headers["location"] == second.headers["location"]
    assert len(await items(api, people, case["id"])) == 1 and await stored(sessions, case["id"]) == (1, 1)


async def test_only_those_who_add_evidence_get_the_form_and_a_forged_form_is_refused(api, people, desk, case, sessions):
    url = f"/desk/cases/{case['id']}"
    officer = await desk("officer")
    form = evidence_form((await officer.get(url)).text)
    assert evidence_form((await (await desk("custodian")).get(url)).text) is not None

    reviewer = await desk("reviewer")
    page = (await reviewer.get(url)).text
    assert evidence_form(page) is None and "No evidence has been added to this case." in page
    token = re.search(r'name="csrf_token" value="([^"]*)"', page).group(1)
    refused = await post(reviewer, form | {"fields": [("csrf_token", token), *form["fields"][1:]]}, TYPED, png())
    assert refused.status_code == 403 and "add_evidence needs the role" in refused.text

    forged = [(n, v) for n, v in form["fields"] if n != "csrf_token"]
    assert (await post(officer, form | {"fields": forged}, TYPED, png())).status_code == 403
    wrong = [("csrf_token", "not-the-token"), *forged]
    no_token = await post(officer, form | {"fields": wrong}, TYPED, png())
    assert no_token.status_code == 403 and "did not come from this site" in no_token.text
    # A token sent after the file is not looked for: the file would be stored before the form was known to be ours.
    late = await officer.post(
        form["action"],
        data={n: TYPED.get(n, v) for n, v in forged if n != "file"},
        files=[("file", ("palm.png", png(), "image/png")), ("csrf_token", (None, form["fields"][0][1]))],
    )
    assert late.status_code == 403

    not_multipart = await officer.post(form["action"], data={"csrf_token": form["fields"][0][1]})
    assert not_multipart.status_code == 415

    assert await items(api, people, case["id"]) == []
    assert await stored(sessions, case["id"]) == (0, 0)
    # Not signed in: to the sign-in page, nothing stored.
    async with browser(api) as stranger:
        assert (await stranger.post(form["action"], data={"csrf_token": "x"})).status_code == 303


async def test_a_file_over_the_limit_comes_back_beside_the_file_field_with_nothing_kept(
    settings, worker, people, sessions
):
    app = create_app(settings.model_copy(update={"max_evidence_bytes": 2048}))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as api,
    ):
        case = await Driver(api, people).new_case("officer", filing(people=[VICTIM]))
        async with signed_in(api, people.tokens["officer"]) as officer:
            form = evidence_form((await officer.get(f"/desk/cases/{case['id']}")).text)
            refused = await post(officer, form, TYPED, png(64, 64) + bytes(4096))
            assert refused.status_code == 413, refused.text
            assert refused.headers["connection"] == "close"
            assert "over the limit of 2048 bytes" in error_beside(refused.text, "evidence-file")
            assert 'value="injury to the left palm"' in refused.text
            assert await items(api, people, case["id"]) == [] and await stored(sessions, case["id"]) == (0, 0)


async def test_a_removed_item_stays_struck_through_with_its_reason_and_its_bytes_gone(api, people, desk, case):
    url = f"/desk/cases/{case['id']}"
    officer = await desk("officer")
    assert (await post(officer, evidence_form((await officer.get(url)).text), TYPED, png())).status_code == 303
    (item,) = await items(api, people, case["id"])
    removal = await api.post(
        f"/incidents/{case['id']}/evidence/{item['id']}/removal",
        json={"reason": "attached to the wrong case"},
        headers=people.headers("admin"),
    )
    assert removal.status_code == 200, removal.text

    page = (await officer.get(url)).text
    row = re.search(r'<tr id="evidence-1" class="removed">.*?</tr>', page, re.S).group(0)
    assert "<del>injury to the left palm</del>" in row and "attached to the wrong case" in text(row)
    assert "<img" not in row and "Download" not in row
    base = f"{url}/evidence/{item['id']}"
    assert (await officer.get(f"{base}/view")).status_code == 404
    log = (await officer.get(f"{base}/custody")).text
    assert re.findall(r'<tr id="custody-\d+"><td>\d+</td><td>([^<]+)</td>', log) == ["Added", "Removed"]
    assert "Chain intact" in log and "reason attached to the wrong case" in text(log)


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
