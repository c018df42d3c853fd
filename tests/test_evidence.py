"""Evidence files: streamed to storage with their SHA-256, typed from their bytes, served back whole or in ranges,
each with a hash-chained custody log; the same tests against PostgreSQL and against an S3 server on loopback."""

import asyncio
import hashlib
import io
import json
import os
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import boto3
import httpx
import pytest
from docx import Document
from moto.server import ThreadedMotoServer
from pydantic import SecretStr
from sqlalchemy import text

from referrals.api.main import create_app
from referrals.config import ROOT
from tests.support.desk_client import signed_in
from tests.support.documents import log_after
from tests.support.evidence_files import WINDOWS_EXE, jpeg, mp4, pdf, png, zip_archive
from tests.support.scenario import PHOTO, VICTIM, Driver, filing

S3 = {
    "evidence_s3_bucket": "evidence-test",
    "evidence_s3_access_key": "test",
    "evidence_s3_secret_key": SecretStr("test"),
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Storage:
    """The API with one storage adapter, and a way to see what that storage holds for a case."""

    def __init__(self, name: str, client: httpx.AsyncClient, settings, sessions, s3=None):
        self.name, self.client, self.settings, self.sessions, self.s3 = name, client, settings, sessions, s3
        self.app = None

    async def objects(self, case_id: str) -> list[str]:
        """Every stored piece of the case's evidence: chunk rows, or objects and unfinished multipart uploads."""
        if self.s3 is None:
            async with self.sessions() as s:
                keys = (
                    await s.exec(
                        text("SELECT DISTINCT key FROM evidence_chunk WHERE key LIKE :p"), params={"p": f"{case_id}/%"}
                    )
                ).all()
            return [k[0] for k in keys]
        bucket = self.settings.evidence_s3_bucket
        listed = self.s3.list_objects_v2(Bucket=bucket, Prefix=case_id).get("Contents", [])
        pending = self.s3.list_multipart_uploads(Bucket=bucket, Prefix=case_id).get("Uploads", [])
        return [o["Key"] for o in listed] + [u["Key"] for u in pending]

    async def tamper(self, case_id: str) -> None:
        """Change one byte of the case's stored evidence, behind the product's back."""
        (key,) = await self.objects(case_id)
        if self.s3 is None:
            async with self.sessions() as s:
                await s.exec(
                    text(
                        "UPDATE evidence_chunk SET data = overlay(data placing '\\x00'::bytea from 9) "
                        "WHERE key = :k AND n = 0"
                    ),
                    params={"k": key},
                )
                await s.commit()
            return
        body = self.s3.get_object(Bucket=self.settings.evidence_s3_bucket, Key=key)["Body"].read()
        self.s3.put_object(Bucket=self.settings.evidence_s3_bucket, Key=key, Body=body[:8] + b"\x00" + body[9:])

    def env(self) -> dict:
        env = {**os.environ, "DATABASE_URL": self.settings.database_url, "REFERRALS_ENV": "test"}
        if self.s3 is not None:
            env |= {
                "REFERRALS_EVIDENCE_S3_URL": self.settings.evidence_s3_url,
                "REFERRALS_EVIDENCE_S3_BUCKET": self.settings.evidence_s3_bucket,
                "REFERRALS_EVIDENCE_S3_ACCESS_KEY": "test",
                "REFERRALS_EVIDENCE_S3_SECRET_KEY": "test",
            }
        return env


@pytest.fixture(scope="module", params=["postgres", "s3"])
async def storage(request, settings, worker, sessions):
    server = None
    own = settings.model_copy(update={"max_evidence_bytes": 64 * 1024})
    s3 = None
    if request.param == "s3":
        port = _free_port()
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        server.start()
        url = f"http://127.0.0.1:{port}"
        own = own.model_copy(update={"evidence_s3_url": url, **S3})
        s3 = boto3.client(
            "s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test"
        )
    try:
        app = create_app(own)
        async with app.router.lifespan_context(app):
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app, client=("203.0.113.7", 5000)), base_url="http://api"
            ) as client:
                storage = Storage(request.param, client, own, sessions, s3)
                storage.app = app  # for a client that goes away halfway (test_an_upload_cut_off_halfway_leaves_none)
                yield storage
    finally:
        if server is not None:
            server.stop()


async def upload(
    storage: Storage,
    people,
    case_id: str,
    content: bytes | None,
    metadata: dict | str | None = None,
    who: str = "officer",
    filename: str = "palm.png",
    key: str | None = None,
) -> httpx.Response:
    files = {}
    if metadata is not None:
        files["metadata"] = (None, metadata if isinstance(metadata, str) else json.dumps(metadata), "application/json")
    if content is not None:
        files["file"] = (filename, content, "application/octet-stream")
    headers = people.headers(who) | ({"Idempotency-Key": key} if key else {})
    return await storage.client.post(f"/incidents/{case_id}/evidence", files=files, headers=headers)


async def rows(sessions, case_id: str) -> dict:
    async with sessions() as s:
        files = (
            await s.exec(
                text("SELECT id, sha256, size, deleted_at FROM evidence_file WHERE case_id = :c"), params={"c": case_id}
            )
        ).all()
        custody = (
            await s.exec(
                text(
                    "SELECT evidence_id, seq, kind, actor_name, data FROM evidence_custody "
                    "WHERE case_id = :c ORDER BY evidence_id, seq"
                ),
                params={"c": case_id},
            )
        ).all()
    return {"files": files, "custody": custody}


@pytest.fixture
async def case_id(storage, people):
    d = Driver(storage.client, people)
    case_id = (await d.new_case(body=filing(people=[VICTIM])))["id"]
    yield case_id
    # Closed again, so that the shared database's open tasks (the desk's queues) are not this module's.
    if (await d.get(case_id)).json()["stage"] != "closed":
        await d.ok(case_id, "withdrawal", "admin", {"reason": "End of the test."})


async def test_a_photo_is_stored_typed_from_its_bytes_and_served_back(storage, people, sessions, case_id):
    photo = png()
    # The client calls it a JPEG; the bytes say PNG, and PNG is what is stored and served.
    sent = PHOTO | {"person_id": "P1", "collected_where": "W 26th St and S Kedzie Ave, on the sidewalk"}
    response = await upload(storage, people, case_id, photo, sent, filename="../../palm.jpg")
    assert response.status_code == 201, response.text
    item = response.json()
    assert (item["sha256"], item["size"], item["content_type"]) == (
        hashlib.sha256(photo).hexdigest(),
        len(photo),
        "image/png",
    )
    assert (item["number"], item["kind"], item["person_id"], item["filename"]) == (1, "photo", "P1", "palm.jpg")
    case = (await Driver(storage.client, people).get(case_id)).json()
    assert [e["item"]["sha256"] for e in case["evidence"]] == [item["sha256"]]
    events = (await Driver(storage.client, people).events(case_id))["items"]
    added = [e for e in events if e["kind"] == "evidence_added"]
    assert len(added) == 1 and added[0]["data"]["sha256"] == item["sha256"] and "data" not in added[0]["data"]
    assert len(await storage.objects(case_id)) == 1

    got = await storage.client.get(item["download"], headers=people.headers("liaison"))
    assert got.status_code == 200 and got.content == photo
    assert got.headers["content-type"] == "image/png"
    # Saved as what it is: a PNG under a .png name (the item keeps the name it was sent with).
    assert got.headers["content-disposition"] == 'attachment; filename="palm.png"'
    assert got.headers["x-content-type-options"] == "nosniff"
    assert got.headers["x-content-sha256"] == item["sha256"]
    part = await storage.client.get(item["download"], headers=people.headers("liaison") | {"Range": "bytes=8-23"})
    assert part.status_code == 206 and part.content == photo[8:24]
    assert part.headers["content-range"] == f"bytes 8-23/{len(photo)}"
    tail = await storage.client.get(item["download"], headers=people.headers("liaison") | {"Range": "bytes=-4"})
    assert tail.status_code == 206 and tail.content == photo[-4:]
    beyond = await storage.client.get(item["download"], headers=people.headers("liaison") | {"Range": "bytes=9999-"})
    assert beyond.status_code == 416 and beyond.headers["content-range"] == f"bytes */{len(photo)}"

    log = (await storage.client.get(item["custody"], headers=people.headers("auditor"))).json()
    assert log["chain_valid"] is True
    # The chain begins with the collection (as the upload tells it), then the receipt; the download from the
    # first byte is an event, the two ranges after it within the hour are told under it (the access trail has them).
    assert [(e["kind"], e["actor_name"]) for e in log["items"]] == [
        ("collected", "Test officer"),
        ("added", "Test officer"),
        ("downloaded", "Test liaison"),
    ]
    assert log["items"][0]["data"]["collected_by"] == PHOTO["collected_by"]
    assert log["items"][1]["data"]["received_from"] == "203.0.113.7"  # kept in the chain's data
    assert log["items"][1]["data"]["sha256"] == item["sha256"]
    assert log["items"][2]["data"]["bytes"] == f"0-{len(photo) - 1}/{len(photo)}"
    assert log["items"][1]["prev_hash"] == log["items"][0]["hash"]
    first, second, third = log["entries"]
    assert (first["kind"], first["by"], first["what"]) == (
        "collected",
        PHOTO["collected_by"],
        "Collected at W 26th St and S Kedzie Ave, on the sidewalk",
    )
    assert datetime.fromisoformat(first["at"]) == datetime.fromisoformat(PHOTO["collected_at"])
    assert (second["kind"], second["by"]) == ("added", "Test officer")
    assert second["what"] == "Received into the evidence system; its SHA-256 computed on receipt"
    assert (third["what"], third["by"], third["times"]) == ("Downloaded", "Test liaison", 1)
    assert "203.0.113.7" not in json.dumps(log["entries"])
    listed = (await storage.client.get(f"/incidents/{case_id}/evidence", headers=people.headers("reviewer"))).json()
    assert [i["id"] for i in listed["items"]] == [item["id"]]


async def test_every_download_through_the_api_is_in_the_custody_chain_once_an_hour_with_its_count(
    storage, people, sessions, case_id
):
    from tests.support.access_log import entries

    photo = png(40, 30)
    item = (await upload(storage, people, case_id, photo, PHOTO)).json()
    since = datetime.now(UTC)

    async def download(who: str, query: str = "", **headers: str) -> None:
        got = await storage.client.get(item["download"] + query, headers=people.headers(who) | headers)
        assert got.status_code in (200, 206), got.text

    # A person's first request within the hour is an event even when it is not from the first byte, and nothing
    # a caller adds to the request makes it less than one: a parameter is refused with nothing served, and a
    # header a browser sends for an <img> changes nothing.
    await download("liaison", Range="bytes=5-")
    asked = await storage.client.get(item["download"] + "?preview=1", headers=people.headers("liaison"))
    assert asked.status_code == 422 and asked.content != photo
    await download("liaison", **{"Sec-Fetch-Dest": "image"})
    for _ in range(3):
        await download("liaison")
    await download("liaison", Range="bytes=9-")  # the rest of one of those: told under it
    await download("reviewer")
    log = (await storage.client.get(item["custody"], headers=people.headers("auditor"))).json()
    assert log["chain_valid"]
    assert [(e["kind"], e["actor_name"], e["data"]["bytes"]) for e in log["items"][2:]] == [
        ("downloaded", "Test liaison", f"5-{len(photo) - 1}/{len(photo)}"),
        *[("downloaded", "Test liaison", f"0-{len(photo) - 1}/{len(photo)}")] * 4,
        ("downloaded", "Test reviewer", f"0-{len(photo) - 1}/{len(photo)}"),
    ]
    # Told as a court reads it: one line per person within the hour, with how many times.
    assert [(e["what"].split(",")[0], e["by"], e["times"], e["events"]) for e in log["entries"][2:]] == [
        ("Downloaded", "Test liaison", 5, [3, 4, 5, 6, 7]),
        ("Downloaded", "Test reviewer", 1, [8]),
    ]
    assert log["entries"][2]["what"].startswith("Downloaded, 5 times, the last at ")
    # Every request is in the access trail, naming the chain's event it is told under.
    trail = [e for e in await entries(sessions, since, "download_evidence") if e.target == item["id"]]
    assert [json.loads(e.details)["custody_event"] for e in trail] == [3, 4, 5, 6, 7, 7, 8]


async def test_a_video_and_a_reference_to_evidence_held_elsewhere(storage, people, case_id):
    video = mp4()
    made = await upload(
        storage,
        people,
        case_id,
        video,
        PHOTO | {"kind": "video", "source": "civilian", "description": "bystander's phone video"},
        filename="IMG_0042.MOV",
    )
    assert made.status_code == 201 and made.json()["content_type"] == "video/mp4", made.text
    axon = PHOTO | {
        "kind": "video",
        "description": "BWC X6031234, full length",
        "held_elsewhere": {"system": "Axon Evidence.com", "reference": "8f2c1e4a"},
    }
    held = await upload(storage, people, case_id, None, axon)
    assert held.status_code == 201, held.text
    assert (held.json()["sha256"], held.json()["download"], held.json()["number"]) == (None, None, 2)
    assert len(await storage.objects(case_id)) == 1  # the reference has no bytes here
    none = await storage.client.get(
        f"/incidents/{case_id}/evidence/{held.json()['id']}", headers=people.headers("officer")
    )
    assert none.status_code == 404 and "Axon Evidence.com" in none.text


async def test_a_download_is_saved_under_a_name_for_what_its_bytes_are(storage, people, case_id):
    """An HTML page taken as plain text, and a JPEG with a page in its tail, are never saved as .html: opened
    from the disk, the browser would run their script. The item keeps the name it was sent with."""
    html = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>\n"
    page = await upload(storage, people, case_id, html, PHOTO | {"kind": "document"}, filename="page.html")
    polyglot = await upload(storage, people, case_id, jpeg() + html, PHOTO, filename="polyglot.html")
    assert (page.status_code, polyglot.status_code) == (201, 201), page.text + polyglot.text
    saved = {
        page.json()["id"]: ("page.html", "text/plain", "page.txt", html),
        polyglot.json()["id"]: ("polyglot.html", "image/jpeg", "polyglot.jpg", jpeg() + html),
    }
    listed = (await storage.client.get(f"/incidents/{case_id}/evidence", headers=people.headers("auditor"))).json()
    assert {i["id"]: (i["filename"], i["content_type"]) for i in listed["items"]} == {
        item_id: (sent, content_type) for item_id, (sent, content_type, _, _) in saved.items()
    }
    async with signed_in(storage.client, people.tokens["liaison"]) as desk:
        for item_id, (_, content_type, name, content) in saved.items():
            for got in (
                await storage.client.get(f"/incidents/{case_id}/evidence/{item_id}", headers=people.headers("liaison")),
                await desk.get(f"/desk/cases/{case_id}/evidence/{item_id}"),
            ):
                assert got.status_code == 200 and got.content == content, got.text
                assert got.headers["content-type"].split(";")[0] == content_type
                assert got.headers["content-disposition"] == f'attachment; filename="{name}"'
        view = await desk.get(f"/desk/cases/{case_id}/evidence/{polyglot.json()['id']}/view")
        assert view.status_code == 200 and view.headers["content-disposition"] == 'inline; filename="polyglot.jpg"'


async def test_the_same_upload_retried_is_one_item(storage, people, sessions, case_id):
    photo = png(rgb=(1, 2, 3))
    first = await upload(storage, people, case_id, photo, PHOTO, key="upload-1")
    again = await upload(storage, people, case_id, photo, PHOTO, key="upload-1")
    assert (first.status_code, again.status_code) == (201, 200), again.text
    assert again.json()["id"] == first.json()["id"]
    other = await upload(storage, people, case_id, png(rgb=(9, 9, 9)), PHOTO, key="upload-1")
    assert other.status_code == 409 and other.json()["error"]["details"][0]["field"] == "Idempotency-Key"
    assert len((await rows(sessions, case_id))["files"]) == 1
    assert len(await storage.objects(case_id)) == 1


@pytest.fixture(scope="module")
async def refusing_case(storage, people):
    """One case (per storage) for all the refused uploads: each must leave it exactly as it was, and checks that it
    did, so they need no fresh case each (a filing and its first document, a second or so)."""
    d = Driver(storage.client, people)
    case_id = (await d.new_case(body=filing(people=[VICTIM])))["id"]
    yield case_id
    await d.ok(case_id, "withdrawal", "admin", {"reason": "End of the tests."})


def _later() -> str:
    return (datetime.now(UTC) + timedelta(days=1)).isoformat()


@pytest.mark.parametrize(
    ("content", "metadata", "status", "field"),
    [
        (WINDOWS_EXE, PHOTO | {"kind": "other"}, 422, "file"),
        (zip_archive(), PHOTO | {"kind": "other"}, 422, "file"),
        (b"", PHOTO, 422, "file"),
        (pdf(), PHOTO, 422, "metadata.kind"),  # a PDF is not a photo
        (png(), None, 422, "metadata"),
        (png(), "{not json", 422, "metadata"),
        (png(), PHOTO | {"kind": "selfie"}, 422, "metadata.kind"),
        (png(), PHOTO | {"collected_at": _later()}, 422, "metadata.collected_at"),
        (png(), PHOTO | {"person_id": "P9"}, 422, "person_id"),
        (png(), PHOTO | {"immigration_status": "x"}, 422, "metadata"),
        (png(), PHOTO | {"held_elsewhere": {"system": "Axon", "reference": "1"}}, 422, "metadata.held_elsewhere"),
        (None, PHOTO, 422, "file"),
        (bytes(70 * 1024), PHOTO | {"kind": "other"}, 413, "file"),  # over this app's 64 KiB limit
    ],
)
async def test_a_bad_upload_is_refused_and_nothing_is_kept(
    storage, people, sessions, dev_server, refusing_case, content, metadata, status, field
):
    case_id = refusing_case
    before = await Driver(storage.client, people).settled(case_id)
    steps = await _history_length(dev_server, case_id)
    response = await upload(storage, people, case_id, content, metadata)
    assert response.status_code == status, response.text
    details = response.json()["error"]["details"] or []
    assert any(d["field"].startswith(field) for d in details), response.text
    assert (await Driver(storage.client, people).events(case_id))["items"] == before["items"]
    assert await rows(sessions, case_id) == {"files": [], "custody": []}
    assert await storage.objects(case_id) == []
    assert await _history_length(dev_server, case_id) == steps


async def _history_length(dev_server, case_id: str) -> int:
    """The steps (accepted updates) in the case's Temporal history: a refused one never enters it. (The rest of
    the history may still grow meanwhile: a document's record is written in the background.)"""
    from temporalio.api.enums.v1 import EventType

    from referrals.domain.case import workflow_id_for

    history = await dev_server.client.get_workflow_handle(workflow_id_for(case_id)).fetch_history()
    return sum(e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED for e in history.events)


async def test_a_closed_case_takes_no_evidence_and_others_cannot_see_it(storage, people, sessions, case_id):
    item = (await upload(storage, people, case_id, png(), PHOTO)).json()
    for who in ("officer_elsewhere", "supervisor_elsewhere"):  # the case is not theirs to see: as if it did not exist
        for path in (item["download"], item["custody"], f"/incidents/{case_id}/evidence"):
            assert (await storage.client.get(path, headers=people.headers(who))).status_code == 404, (who, path)
    await Driver(storage.client, people).ok(case_id, "withdrawal", "admin", {"reason": "Filed in error."})
    late = await upload(storage, people, case_id, png(rgb=(5, 5, 5)), PHOTO)
    assert late.status_code == 409, late.text
    assert len((await rows(sessions, case_id))["files"]) == 1 and len(await storage.objects(case_id)) == 1
    # Nothing is deleted when the case closes: its evidence follows it.
    assert (await storage.client.get(item["download"], headers=people.headers("auditor"))).content == png()


async def test_who_may_add_and_who_may_remove(storage, people, sessions, case_id):
    refused = await upload(storage, people, case_id, png(), PHOTO, who="commander")
    assert refused.status_code == 403
    not_json = await storage.client.post(
        f"/incidents/{case_id}/evidence", json=PHOTO, headers=people.headers("officer")
    )
    assert not_json.status_code == 415
    item = (await upload(storage, people, case_id, png(), PHOTO, who="custodian")).json()
    removal = f"/incidents/{case_id}/evidence/{item['id']}/removal"
    assert (
        await storage.client.post(removal, json={"reason": "x"}, headers=people.headers("officer"))
    ).status_code == 403
    assert (await storage.client.post(removal, json={}, headers=people.headers("admin"))).status_code == 422
    removed = await storage.client.post(
        removal, json={"reason": "attached to the wrong case"}, headers=people.headers("admin")
    )
    assert removed.status_code == 200, removed.text
    assert removed.json()["removed"]["reason"] == "attached to the wrong case" and removed.json()["download"] is None
    assert await storage.objects(case_id) == []  # the bytes are gone
    gone = await storage.client.get(f"/incidents/{case_id}/evidence/{item['id']}", headers=people.headers("admin"))
    assert gone.status_code == 404
    log = (await storage.client.get(item["custody"], headers=people.headers("auditor"))).json()
    assert [e["kind"] for e in log["items"]] == ["collected", "added", "removed"] and log["chain_valid"]
    assert log["items"][2]["data"] == {
        "reason": "attached to the wrong case",
        "sha256": item["sha256"],
        "case_event": log["items"][2]["data"]["case_event"],
    }
    assert log["items"][2]["actor_name"] == "Test admin"
    assert log["entries"][-1]["what"] == "Removed from the case and its file deleted: attached to the wrong case"
    (row,) = (await rows(sessions, case_id))["files"]
    assert row.deleted_at is not None and row.sha256 == item["sha256"]  # the tombstone keeps the hash
    twice = await storage.client.post(removal, json={"reason": "again"}, headers=people.headers("admin"))
    assert twice.status_code == 200 and twice.json()["removed"]["reason"] == "attached to the wrong case"


async def _command(command: list[str], storage) -> subprocess.CompletedProcess:
    """`referrals` in a process of its own, the test's event loop free meanwhile: the in-process worker, whose
    activity may hold a lock the command waits for (an item's custody chain), goes on and lets it go."""
    return await asyncio.to_thread(
        subprocess.run, command, cwd=ROOT, env=storage.env(), capture_output=True, text=True, timeout=60
    )


async def test_verify_reads_every_file_back_and_names_the_one_that_changed(storage, people, sessions, case_id):
    item = (
        await upload(storage, people, case_id, pdf(), PHOTO | {"kind": "medical_record", "source": "hospital"})
    ).json()
    cmd = [sys.executable, "-m", "referrals.cli", "evidence", "verify", case_id]
    ok = await _command(cmd, storage)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "1 file(s) read back: every SHA-256 matches" in ok.stdout
    await storage.tamper(case_id)
    bad = await _command(cmd, storage)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "CHANGED" in bad.stdout and item["id"] in bad.stdout
    log = (await storage.client.get(item["custody"], headers=people.headers("auditor"))).json()
    assert [(e["kind"], e["data"].get("intact")) for e in log["items"]] == [
        ("collected", None),
        ("added", None),
        ("integrity_checked", True),
        ("integrity_checked", False),
    ]
    assert [(e["what"], e["by"]) for e in log["entries"][2:]] == [
        ("Integrity checked: SHA-256 matched", None),
        ("Integrity checked: SHA-256 DID NOT MATCH the one computed on receipt", None),
    ]
    # The chains, with their new kinds of event, still hold.
    audit = [sys.executable, "-m", "referrals.cli", "audit", "verify", case_id]
    chains = await _command(audit, storage)
    assert chains.returncode == 0 and "all chains intact" in chains.stdout, chains.stdout + chains.stderr


async def test_the_packet_inventories_the_evidence_and_the_email_lists_it_unattached(api, people, smtp_sink, sessions):
    from tests.support.documents import listed_documents
    from tests.support.scenario import ACK, APPROVE, REFER

    d = Driver(api, people)
    case = await d.new_case(body=filing(people=[VICTIM]))
    case_id = case["id"]
    photo = png(rgb=(10, 200, 30))
    files = {
        "metadata": (None, json.dumps(PHOTO | {"person_id": "P1", "collected_where": "W 26th St"}), "application/json"),
        "file": ("palm.png", photo, "image/png"),
    }
    item = (await api.post(f"/incidents/{case_id}/evidence", files=files, headers=people.headers("officer"))).json()
    axon = {
        "metadata": (
            None,
            json.dumps(
                PHOTO
                | {
                    "kind": "video",
                    "description": "BWC X6031234, full length",
                    "held_elsewhere": {"system": "Axon Evidence.com", "reference": "8f2c1e4a"},
                }
            ),
            "application/json",
        )
    }
    assert (
        await api.post(f"/incidents/{case_id}/evidence", files=axon, headers=people.headers("officer"))
    ).status_code == 201
    for _ in range(3):  # the reviewer downloads it three times: one line of the chain, with the count
        assert (await api.get(item["download"], headers=people.headers("reviewer"))).status_code == 200
    await d.investigate(case_id)
    await d.ok(case_id, "legal-review", "reviewer", REFER)
    await d.ok(case_id, "command-approval", "commander", APPROVE)
    (packet,) = [doc for doc in await listed_documents(d, case_id) if doc["kind"] == "referral_packet"]
    docx = await api.get(packet["download"], headers=people.headers("liaison"))
    text = "\n".join(p.text for p in Document(io.BytesIO(docx.content)).paragraphs)
    tables = "\n".join(
        cell.text for t in Document(io.BytesIO(docx.content)).tables for row in t.rows for cell in row.cells
    )
    assert "Evidence inventory" in text and "Chain of custody" in text
    assert "C1  Photo: injury to the left palm (concerns P1)" in text
    assert f"SHA-256 {item['sha256']}" in text
    assert f"File: {item['size']} bytes, PNG image." in text  # its type in words
    assert "Held in Axon Evidence.com, reference 8f2c1e4a" in text
    # The photo's chain as a court reads it: its collection, its receipt, the downloads; never an address.
    chain = log_after(Document(io.BytesIO(docx.content)), "C1 ", prefix=True)
    assert chain[0][1:] == ["Collected at W 26th St", PHOTO["collected_by"]]
    collected = datetime.fromisoformat(PHOTO["collected_at"]).astimezone(ZoneInfo("America/Chicago"))
    assert chain[0][0].startswith(f"{collected:%a %d %b %Y, %H:%M}")  # when it was collected, before the upload
    assert chain[1][1:] == ["Received into the evidence system; its SHA-256 computed on receipt", "Test officer"]
    assert chain[2][1].startswith("Downloaded, 3 times, the last at ") and chain[2][2] == "Test reviewer"
    assert len(chain) == 3  # this packet's own inclusion is the next version's to tell
    assert log_after(Document(io.BytesIO(docx.content)), "C2 ", prefix=True)[0][1] == "Collected (place not recorded)"
    assert "127.0.0.1" not in text + tables and "Added: from" not in text + tables
    exhibits = log_after(Document(io.BytesIO(docx.content)), "Exhibits", by=False)
    assert any(f"SHA-256 {item['sha256']}" in told for _, told in exhibits)  # the exhibit list numbers it too
    for _ in range(100):
        sent = [m for m in smtp_sink.messages if case["case_number"] in m["Subject"]]
        if sent:
            break
        await asyncio.sleep(0.1)
    (mail,) = sent
    attachments = [part.get_filename() for part in mail.iter_attachments()]
    # The packet only (its signed PDF, where LibreOffice made one): evidence files are listed, not attached.
    assert attachments == [packet["pdf"]["filename"] if packet["pdf"]["state"] == "signed" else packet["filename"]]
    body = mail.get_body(("plain",)).get_content()
    assert "C1  injury to the left palm" in body and item["sha256"] in body and "Axon Evidence.com" in body
    log = (await api.get(item["custody"], headers=people.headers("auditor"))).json()
    for _ in range(50):
        kinds = [e["kind"] for e in log["items"]]
        if "delivered" in kinds:
            break
        await asyncio.sleep(0.1)
        log = (await api.get(item["custody"], headers=people.headers("auditor"))).json()
    assert kinds == ["collected", "added", "downloaded", "downloaded", "downloaded", "included_in_packet", "delivered"]
    assert log["chain_valid"]
    assert log["items"][5]["data"] == {
        "document_id": packet["id"],
        "version": 1,
        "addressed_to": "Cook County State's Attorney's Office",
    }
    assert [e["what"] for e in log["entries"][3:]] == [
        "Included in referral packet, version 1",
        "Delivered to the Cook County State's Attorney's Office with packet version 1",
    ]
    await d.ok(case_id, "referral-acknowledgement", "liaison", ACK)


def test_a_file_name_is_made_safe_for_a_header_and_a_disk():
    from referrals.api.evidence_upload import safe_filename

    assert safe_filename("../../palm.jpg", "evidence-1") == "palm.jpg"
    assert safe_filename("C:\\Users\\rivera\\IMG 0042.MOV", "evidence-1") == "IMG 0042.MOV"
    assert safe_filename("фото.jpg", "evidence-1") == "evidence-1.jpg"  # ASCII only: it goes into a header
    assert safe_filename('a"; filename=evil.exe', "evidence-1") == "a_ filename_evil.exe"
    assert safe_filename(None, "evidence-1") == "evidence-1"


async def test_a_held_item_cannot_be_removed_until_released(storage, people, case_id):
    item = (await upload(storage, people, case_id, png(), PHOTO)).json()
    base = f"/incidents/{case_id}/evidence/{item['id']}"
    hold = {"reference": "Order 26-CR-0417", "reason": "preserve for the criminal proceeding"}
    assert (await storage.client.post(f"{base}/hold", json=hold, headers=people.headers("officer"))).status_code == 403
    # A reference the custody log would show in another order than it was typed: refused, nothing recorded.
    turned = await storage.client.post(
        f"{base}/hold", json=hold | {"reference": "Order \u202e7140-RC-62"}, headers=people.headers("custodian")
    )
    assert turned.status_code == 422 and turned.json()["error"]["details"][0]["field"] == "reference", turned.text
    assert "right-to-left override" in turned.json()["error"]["message"]
    held = await storage.client.post(f"{base}/hold", json=hold, headers=people.headers("custodian"))
    assert held.status_code == 200, held.text
    assert [e["kind"] for e in held.json()["items"]] == ["collected", "added", "held"]
    assert (
        held.json()["entries"][-1]["what"]
        == "Placed on hold under Order 26-CR-0417: preserve for the criminal proceeding"
    )
    again = await storage.client.post(f"{base}/hold", json=hold, headers=people.headers("custodian"))
    assert again.status_code == 409
    refused = await storage.client.post(
        f"{base}/removal", json={"reason": "wrong case"}, headers=people.headers("admin")
    )
    assert refused.status_code == 409 and "Order 26-CR-0417" in refused.text
    assert len(await storage.objects(case_id)) == 1  # still there
    second = {"reference": "Litigation hold 2026-11", "reason": "civil suit"}
    assert (
        await storage.client.post(f"{base}/hold", json=second, headers=people.headers("custodian"))
    ).status_code == 200
    release = {"reference": "Order 26-CR-0417", "reason": "order vacated"}
    released = await storage.client.post(f"{base}/release", json=release, headers=people.headers("custodian"))
    assert released.status_code == 200
    assert released.json()["items"][-1]["data"]["reference"] == "Order 26-CR-0417" and released.json()["chain_valid"]
    assert (
        await storage.client.post(f"{base}/release", json=release, headers=people.headers("custodian"))
    ).status_code == 409
    still = await storage.client.post(f"{base}/removal", json={"reason": "wrong case"}, headers=people.headers("admin"))
    assert still.status_code == 409 and "Litigation hold 2026-11" in still.text  # the second hold still stands
    assert (
        await storage.client.post(
            f"{base}/release", json=second | {"reason": "settled"}, headers=people.headers("custodian")
        )
    ).status_code == 200
    removed = await storage.client.post(
        f"{base}/removal", json={"reason": "wrong case"}, headers=people.headers("admin")
    )
    assert removed.status_code == 200 and await storage.objects(case_id) == []


async def test_an_item_whose_bytes_are_gone_is_named_not_served(api, people, sessions, database_url):
    """As after PostgreSQL is restored from a backup older than the upload: the case knows the item, storage not."""
    from tests.support.cli import referrals

    d = Driver(api, people)
    case_id = (await d.new_case(body=filing(people=[VICTIM])))["id"]
    files = {"metadata": (None, json.dumps(PHOTO), "application/json"), "file": ("palm.png", png(), "image/png")}
    item = (await api.post(f"/incidents/{case_id}/evidence", files=files, headers=people.headers("officer"))).json()
    async with sessions() as s:
        await s.exec(text("DELETE FROM evidence_chunk WHERE key LIKE :p"), params={"p": f"{case_id}/%"})
        await s.exec(text("DELETE FROM evidence_file WHERE id = :i"), params={"i": item["id"]})
        await s.commit()
    gone = await api.get(item["download"], headers=people.headers("auditor"))
    assert gone.status_code == 404 and "not in storage" in gone.text
    done = referrals(database_url, "evidence", "verify", case_id)
    assert done.returncode == 1 and "MISSING" in done.stdout and item["id"] in done.stdout, done.stdout
    await d.ok(case_id, "withdrawal", "admin", {"reason": "End of the test."})


async def test_an_upload_refused_after_chunks_were_written_leaves_none(storage, people, sessions, case_id, monkeypatch):
    """Small chunks and parts, so that an upload over the limit has stored pieces when it is refused: the PostgreSQL
    adapter deletes its chunks, the S3 one aborts its multipart upload."""
    import referrals.store.blobs

    monkeypatch.setattr(referrals.store.blobs, "CHUNK", 4096)
    monkeypatch.setattr(referrals.store.blobs, "PART", 4096)
    big = await upload(storage, people, case_id, bytes(70 * 1024), PHOTO | {"kind": "other"})
    assert big.status_code == 413, big.text
    exe = await upload(storage, people, case_id, WINDOWS_EXE * 100, PHOTO | {"kind": "other"})
    assert exe.status_code == 422, exe.text
    assert await storage.objects(case_id) == [] and (await rows(sessions, case_id))["files"] == []


async def test_an_upload_cut_off_halfway_leaves_none(storage, people, sessions, case_id, monkeypatch):
    """The client goes away after pieces were written (small chunks and parts, written while the next arrive): the
    upload is refused and, once the pieces under way are written, what was stored is deleted (aborted in S3)."""
    import referrals.store.blobs

    monkeypatch.setattr(referrals.store.blobs, "CHUNK", 4096)
    monkeypatch.setattr(referrals.store.blobs, "PART", 4096)
    boundary = "cut-off-halfway"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="metadata"\r\n\r\n{json.dumps(PHOTO)}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="palm.png"\r\n\r\n'
    ).encode()
    file = png() + os.urandom(40 * 1024)
    messages = [{"type": "http.request", "body": head, "more_body": True}]
    messages += [{"type": "http.request", "body": file[i : i + 3000], "more_body": True} for i in range(0, 36000, 3000)]
    sent: list[dict] = []

    async def receive() -> dict:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)

    headers = people.headers("officer") | {"content-type": f"multipart/form-data; boundary={boundary}"}
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": f"/incidents/{case_id}/evidence",
        "raw_path": f"/incidents/{case_id}/evidence".encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"api")] + [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("203.0.113.7", 5000),
        "server": ("api", 80),
    }
    await storage.app(scope, receive, send)
    assert sent[0]["status"] == 400, sent
    assert await storage.objects(case_id) == [] and (await rows(sessions, case_id))["files"] == []


async def test_pieces_are_written_while_the_next_are_read_and_an_abort_waits_for_them():
    """A writer hands its pieces to tasks of their own, at most `depth` under way: a write returns before they are
    stored, an abort deletes only once they are (none is cancelled halfway), and a failure is raised by what follows."""
    from referrals.store.blobs import _Buffered

    log: list[tuple] = []

    class Slow(_Buffered):
        depth = 2

        async def flush(self, piece: bytes) -> None:
            log.append(("begun", bytes(piece)))
            await asyncio.sleep(0.02)
            if piece == b"FAIL":
                raise OSError("storage away")
            log.append(("stored", bytes(piece)))

        async def abort(self) -> None:
            await self.settle()
            log.append(("deleted",))

    writer = Slow(4)
    await writer.write(b"aaaabb")
    await writer.write(b"bb")  # two pieces under way: neither stored yet
    await asyncio.sleep(0)  # their tasks begin
    assert log == [("begun", b"aaaa"), ("begun", b"bbbb")] and len(writer.flushing) == 2
    await writer.write(b"cccc")  # a third waits for the first
    assert ("stored", b"aaaa") in log and ("stored", b"cccc") not in log
    await writer.abort()
    assert log[-1] == ("deleted",) and {("stored", b"bbbb"), ("stored", b"cccc")} <= set(log)

    failing = Slow(4)
    await failing.write(b"FAILdddd")
    with pytest.raises(OSError, match="storage away"):
        await failing.rest()
    log.clear()
    await failing.abort()  # the rest under way settles; the failure already raised is not raised again
    assert log[-1] == ("deleted",)


async def test_the_file_is_hashed_and_handed_on_in_whole_pieces_whatever_the_reads():
    """Reads of any size (smaller than a piece, larger than several) reach the writer as pieces of its size, in
    order, the last shorter, hashed as they were sent."""
    from referrals.api.evidence_upload import _Pipeline

    class Recorder:
        size = 10

        def __init__(self):
            self.pieces: list[bytes] = []

        async def write(self, data: bytes) -> None:
            self.pieces.append(bytes(data))

    data = os.urandom(137)
    for reads in ([3] * 46, [10] * 14, [25, 1, 9, 60, 42], [137]):
        writer, sha256 = Recorder(), hashlib.sha256()
        pipeline = _Pipeline(writer, sha256)  # type: ignore[arg-type]  # a writer that only records
        at = 0
        for n in reads:
            await pipeline.add(data[at : at + n])
            at += n
        await pipeline.finish()
        assert [len(p) for p in writer.pieces] == [10] * 13 + [7], reads
        assert b"".join(writer.pieces) == data and sha256.hexdigest() == hashlib.sha256(data).hexdigest()


async def test_a_hold_and_a_removal_at_once_do_not_both_succeed(storage, people, case_id):
    item = (await upload(storage, people, case_id, png(), PHOTO)).json()
    base = f"/incidents/{case_id}/evidence/{item['id']}"
    hold, removal = await asyncio.gather(
        storage.client.post(
            f"{base}/hold", json={"reference": "Order 1", "reason": "keep"}, headers=people.headers("custodian")
        ),
        storage.client.post(f"{base}/removal", json={"reason": "wrong case"}, headers=people.headers("admin")),
    )
    assert sorted([hold.status_code, removal.status_code]) == [200, 409], (hold.text, removal.text)
    kinds = [
        e["kind"]
        for e in (await storage.client.get(item["custody"], headers=people.headers("auditor"))).json()["items"]
    ]
    assert kinds in (["collected", "added", "held"], ["collected", "added", "removed"])


async def test_uploads_cut_off_are_swept(storage, people, sessions):
    if storage.name != "postgres":
        pytest.skip("S3 ages unfinished uploads out by the bucket's lifecycle rule")
    from referrals.store.blobs import PostgresBlobs

    async with sessions() as s:  # the chunks of an upload a crash cut off a day ago, and of one under way now
        await s.exec(
            text(
                "INSERT INTO evidence_chunk (key, n, data, written_at) VALUES "
                "('cut-off/x/1', 0, '\\x00', now() - interval '1 day'), ('under-way/y/2', 0, '\\x00', now())"
            )
        )
        await s.commit()
    assert await PostgresBlobs(sessions).sweep() >= 1
    async with sessions() as s:
        left = (
            await s.exec(text("SELECT key FROM evidence_chunk WHERE key IN ('cut-off/x/1', 'under-way/y/2')"))
        ).all()
        await s.exec(text("DELETE FROM evidence_chunk WHERE key = 'under-way/y/2'"))
        await s.commit()
    assert [k[0] for k in left] == ["under-way/y/2"]


async def test_an_upload_whose_answer_was_lost_is_kept_and_found_again(storage, people, case_id, monkeypatch):
    """The step was stored but Temporal's answer never came (a timeout, a lost connection): the file stays, and the
    same upload sent again with the same Idempotency-Key answers with the item, its bytes downloadable."""
    from temporalio.service import RPCError, RPCStatusCode

    import referrals.api.evidence_upload

    real = referrals.api.evidence_upload.take_step

    async def answer_lost(*args, **kwargs):
        await real(*args, **kwargs)
        raise RPCError("deadline exceeded", RPCStatusCode.DEADLINE_EXCEEDED, b"")

    photo = png(rgb=(7, 7, 7))
    monkeypatch.setattr(referrals.api.evidence_upload, "take_step", answer_lost)
    lost = await upload(storage, people, case_id, photo, PHOTO, key="lost-answer")
    assert lost.status_code == 503, lost.text
    monkeypatch.setattr(referrals.api.evidence_upload, "take_step", real)
    again = await upload(storage, people, case_id, photo, PHOTO, key="lost-answer")
    assert again.status_code == 200, again.text
    got = await storage.client.get(again.json()["download"], headers=people.headers("auditor"))
    assert got.status_code == 200 and got.content == photo
    assert len(await storage.objects(case_id)) == 1


async def test_an_upload_stopped_before_the_case_recorded_it_is_completed_by_its_retry(
    storage, people, case_id, monkeypatch
):
    """The file was stored and the worker never reached (the step not applied): the retry stores the item once."""
    from temporalio.service import RPCError, RPCStatusCode

    import referrals.api.evidence_upload

    real = referrals.api.evidence_upload.take_step

    async def unreachable(*args, **kwargs):
        raise RPCError("unavailable", RPCStatusCode.UNAVAILABLE, b"")

    photo = png(rgb=(8, 8, 8))
    monkeypatch.setattr(referrals.api.evidence_upload, "take_step", unreachable)
    assert (await upload(storage, people, case_id, photo, PHOTO, key="stopped")).status_code == 503
    monkeypatch.setattr(referrals.api.evidence_upload, "take_step", real)
    again = await upload(storage, people, case_id, photo, PHOTO, key="stopped")
    assert again.status_code == 201, again.text
    assert len(await storage.objects(case_id)) == 1  # the retry's own copy went; the first one is the item's
    got = await storage.client.get(again.json()["download"], headers=people.headers("auditor"))
    assert got.content == photo


async def test_with_the_object_storage_away_an_upload_answers_503_and_the_api_still_starts(settings, worker, people):
    own = settings.model_copy(update={"evidence_s3_url": f"http://127.0.0.1:{_free_port()}", **S3})
    app = create_app(own)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as client:
            assert (await client.get("/healthz")).status_code == 200
            case_id = (await Driver(client, people).new_case())["id"]
            away = Storage("s3", client, own, None)
            response = await upload(away, people, case_id, png(), PHOTO)  # one PUT, which finds no server
            assert response.status_code == 503 and "evidence storage" in response.text, response.text
            await Driver(client, people).ok(case_id, "withdrawal", "admin", {"reason": "End of the test."})


async def test_an_event_appended_to_many_chains_at_once_is_appended_once_to_each(sessions, case_id):
    """A packet's inclusion and delivery append the same event to every item's chain in a few statements
    (store/evidence.py, append_custody_to_each): after each chain's own last event, once however often retried."""
    from referrals.store import evidence
    from referrals.store.audit import verify_chain

    at = datetime.now(UTC)
    before, fresh = f"chain-{case_id}-a", f"chain-{case_id}-b"
    async with sessions() as s, s.begin():
        await evidence.append_custody(s, before, case_id, "added", at, {"n": 1})
        await evidence.append_custody(s, before, case_id, "downloaded", at, {"n": 2})
    for attempt in range(2):
        async with sessions() as s, s.begin():
            done = await evidence.append_custody_to_each(
                s, [fresh, before, fresh], case_id, "included_in_packet", at, {"document_id": "D1"}, once="document_id"
            )
        assert done == ([before, fresh] if attempt == 0 else [])
    async with sessions() as s:
        chains = {item: await evidence.custody(s, item) for item in (before, fresh)}
    assert [r.kind for r in chains[before]] == ["added", "downloaded", "included_in_packet"]
    assert [r.kind for r in chains[fresh]] == ["included_in_packet"]
    assert all(verify_chain(item, rows) is None for item, rows in chains.items())
