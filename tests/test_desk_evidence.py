"""Evidence at the desk: the upload form on the case page (no script needed), the items' thumbnails and players fed
in ranges, downloads, and each item's custody log; refusals beside their field with nothing kept.

Each person signs in through the real sign-in form; what the form stored is read back through the JSON API."""

import hashlib
import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import text as sql

from referrals.api.main import create_app
from referrals.domain.enums import EvidenceKind, EvidenceSource
from tests.support.desk_client import browser, signed_in
from tests.support.desk_evidence import CHICAGO, COLLECTED, TYPED, evidence_form, items, options, post
from tests.support.evidence_files import WINDOWS_EXE, mp4, pdf, png
from tests.support.pages import error_beside, repeated_ids, text
from tests.support.scenario import VICTIM, Driver, filing


@pytest.fixture
async def case(api, people) -> dict:
    return await Driver(api, people).new_case("officer", filing(people=[VICTIM]))


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
    sent = await post(officer, form, TYPED | {"collected_where": "W 26th St and S Kedzie Ave"}, photo)
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
    assert re.search(rf'<a href="{re.escape(base)}/view"><img class="thumb" src="{re.escape(base)}/thumbnail"', row)
    assert f'href="{base}"' in row and f'href="{base}/custody"' in row
    assert f'title="{item["sha256"]}">{item["sha256"][:12]}…' in row
    seen = text(row)
    assert "Photo : injury to the left palm" in seen and "Concerns Victim: Jane Roe (P1)" in seen
    assert (
        "CPD" in seen and "collected by P.O. Ana Ruiz, star 12345" in seen and "at W 26th St and S Kedzie Ave" in seen
    )
    assert f"{len(photo)} Bytes image/png" in seen
    assert COLLECTED.strftime("%d %b %Y, %H:%M") in seen

    # The photo opened, in the range a player would ask for: inline, and an event of its custody.
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
        ("1", "Collected", "Test officer"),
        ("2", "Added", "Test officer"),
        ("3", "Opened", "Test officer"),
        ("4", "Downloaded", "Test liaison"),
    ]
    assert "Chain intact" in log.text and "bytes 8-23/" in log.text and "client " in text(log.text)
    assert f"Back to case {case['case_number']}" in text(log.text)
    # As a court reads it: the collection first (who, when, where), then the receipt, then who opened or took it.
    chain = [[text(cell) for cell in re.findall(r"<td>(.*?)</td>", tr)] for tr in entries_of(log.text)]
    assert chain[0][1:] == ["Collected at W 26th St and S Kedzie Ave", "P.O. Ana Ruiz, star 12345"]
    assert chain[0][0].startswith(COLLECTED.strftime("%a %d %b %Y, %H:%M"))  # when collected, not when uploaded
    assert chain[1][1:] == ["Received into the evidence system; its SHA-256 computed on receipt", "Test officer"]
    assert [c[1:] for c in chain[2:]] == [
        ["Opened or played in the desk", "Test officer"],
        ["Downloaded", "Test liaison"],
    ]

    # Someone who may not see the case gets nothing of it.
    elsewhere = await desk("supervisor_elsewhere")
    for path in (base, f"{base}/view", f"{base}/thumbnail", f"{base}/custody"):
        assert (await elsewhere.get(path)).status_code == 404


def entries_of(page: str) -> list[str]:
    """The rows of the custody page's chain as a court reads it."""
    return re.findall(r'<tr id="entry-\d+">.*?</tr>', page, re.S)


async def test_thumbnails_are_not_custody_and_openings_are_told_once_an_hour_per_person(
    api, people, desk, sessions, case
):
    from tests.support.access_log import entries

    url = f"/desk/cases/{case['id']}"
    officer = await desk("officer")
    photo = png(1200, 900, rgb=(10, 200, 30))
    assert (await post(officer, evidence_form((await officer.get(url)).text), TYPED, photo)).status_code == 303
    (item,) = await items(api, people, case["id"])
    base = f"{url}/evidence/{item['id']}"
    since = datetime.now(UTC)

    # The case page shown again and again: its thumbnail is a small copy, in the access trail and not the chain.
    for _ in range(7):
        page = await officer.get(url)
        assert f'src="{base}/thumbnail"' in page.text and f'src="{base}/view"' not in page.text
        small = await officer.get(f"{base}/thumbnail")
        assert small.status_code == 200 and small.headers["content-type"] == "image/png"
        assert small.content != photo and len(small.content) < len(photo)
    assert (await officer.get(f"{base}/thumbnail", headers={"Range": "bytes=0-"})).content == small.content
    shown = [e for e in await entries(sessions, since, "view_evidence_thumbnail") if e.target == item["id"]]
    assert len(shown) == 8 and {e.user_name for e in shown} == {"Test officer"}
    log = (await api.get(item["custody"], headers=people.headers("auditor"))).json()
    assert [e["kind"] for e in log["items"]] == ["collected", "added"]

    # Opened five times within the hour by one person, once by another: two lines, with their counts.
    reviewer = await desk("reviewer")
    for _ in range(5):
        opened = await reviewer.get(f"{base}/view")
        assert opened.status_code == 200 and opened.content == photo
    assert (await officer.get(f"{base}/view")).status_code == 200
    log = (await api.get(item["custody"], headers=people.headers("auditor"))).json()
    assert log["chain_valid"] and [e["kind"] for e in log["items"]] == ["collected", "added"] + ["opened"] * 6
    assert [(e["by"], e["times"]) for e in log["entries"][2:]] == [("Test reviewer", 5), ("Test officer", 1)]
    page = (await reviewer.get(f"{base}/custody")).text
    told = [text(row) for row in entries_of(page)]
    assert len(told) == 4 and "Opened or played in the desk, 5 times, the last at " in told[2]
    assert "Test reviewer" in told[2] and "Test officer" in told[3]
    # The custody page's own picture is the thumbnail, a link to opening the photo.
    assert f'<a href="{base}/view"><img class="preview" src="{base}/thumbnail"' in page
    # Opening is custody however it is asked for: a thumbnail's headers or a parameter suppress nothing.
    assert (await officer.get(f"{base}/view", headers={"Sec-Fetch-Dest": "image"})).status_code == 200
    assert (await officer.get(f"{base}/view?preview=1")).status_code == 200
    log = (await api.get(item["custody"], headers=people.headers("auditor"))).json()
    assert [(e["by"], e["times"]) for e in log["entries"][2:]] == [("Test reviewer", 5), ("Test officer", 3)]


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
    # Nothing is loaded until it is played: a page shown is not a playing of the video.
    assert re.search(rf'<video class="player" controls preload="none" src="{re.escape(base)}/view"', page)
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
    assert '<details class="step-more" open>' in refused.text and 'id="error-summary-add_evidence"' in refused.text

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
    assert (await officer.get(f"{base}/thumbnail")).status_code == 404
    log = (await officer.get(f"{base}/custody")).text
    assert re.findall(r'<tr id="custody-\d+"><td>\d+</td><td>([^<]+)</td>', log) == ["Collected", "Added", "Removed"]
    assert "Chain intact" in log and "reason attached to the wrong case" in text(log)
