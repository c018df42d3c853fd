"""The access trail (CJIS Security Policy 5.4.1.1): every read, search and codec use leaves an entry (who, when,
what, from where, how it ended) in one append-only hash chain that auditors read through GET /access-log."""

import asyncio
import base64
import csv
import html
import io
import json
import re
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from referrals.api import trail
from referrals.api.main import create_app
from referrals.config import ROOT
from referrals.domain.policy import PolicyError, load_policy
from referrals.store import access_log
from referrals.store.access_log import AccessEntry
from referrals.store.engine import async_engine, session_factory
from referrals.store.tables import AccessEntryRow
from referrals.web.routes import access_log as desk_trail
from tests.support.access_log import newest
from tests.support.cli import referrals
from tests.support.desk_client import signed_in
from tests.support.evidence_files import png
from tests.support.pages import text as words
from tests.support.scenario import PHOTO, Driver


@pytest.fixture(scope="module")
async def case_id(api, people):
    return (await Driver(api, people).new_case("officer"))["id"]


async def entries(sessions, **filters):
    async with sessions() as session:
        return await access_log.query(session, limit=10_000, **filters)


async def test_a_case_read_leaves_who_when_what_where_and_the_outcome(api, people, sessions, case_id):
    before = datetime.now(UTC)
    read = await api.get(f"/incidents/{case_id}", headers=people.headers("reviewer"))
    assert read.status_code == 200
    entry = await newest(sessions, case_id=case_id, user_id=people.ids["reviewer"])
    assert (entry.action, entry.outcome, entry.component) == ("read_case", "allowed", "api")
    assert (entry.user_name, entry.client, entry.target, entry.who) == ("Test reviewer", "127.0.0.1", None, None)
    assert before <= entry.at <= datetime.now(UTC)
    for path, action in (
        (f"/incidents/{case_id}/events", "read_events"),
        (f"/incidents/{case_id}/documents", "list_documents"),
        (f"/incidents/{case_id}/evidence", "list_evidence"),
    ):
        assert (await api.get(path, headers=people.headers("reviewer"))).status_code == 200
        assert (await newest(sessions, case_id=case_id, user_id=people.ids["reviewer"])).action == action


async def test_a_case_the_caller_may_not_see_or_that_does_not_exist_is_not_found(api, people, sessions, case_id):
    hidden = await api.get(f"/incidents/{case_id}", headers=people.headers("officer_elsewhere"))
    assert hidden.status_code == 404
    entry = await newest(sessions, case_id=case_id, user_id=people.ids["officer_elsewhere"])
    assert (entry.action, entry.outcome) == ("read_case", "not_found")
    nowhere = str(uuid.uuid4())
    assert (await api.get(f"/incidents/{nowhere}/documents", headers=people.headers("auditor"))).status_code == 404
    entry = await newest(sessions, case_id=nowhere)
    assert (entry.action, entry.outcome, entry.user_id) == ("list_documents", "not_found", people.ids["auditor"])
    missing = await api.get(f"/incidents/{case_id}/evidence/E-none/custody", headers=people.headers("auditor"))
    assert missing.status_code == 404
    entry = await newest(sessions, case_id=case_id, user_id=people.ids["auditor"])
    assert (entry.action, entry.outcome, entry.target) == ("read_custody", "not_found", "E-none")


async def test_a_forbidden_operation_is_recorded_refused(api, people, sessions, case_id):
    refused = await api.get(f"/incidents/{case_id}/contact-sheet", headers=people.headers("auditor"))
    assert refused.status_code == 403
    entry = await newest(sessions, case_id=case_id, user_id=people.ids["auditor"])
    assert (entry.action, entry.outcome, entry.details) == (
        "make_contact_sheet",
        "refused",
        '{"operation":"read_contact"}',
    )
    step = await api.post(f"/incidents/{case_id}/legal-review", json={}, headers=people.headers("officer"))
    assert step.status_code == 403
    entry = await newest(sessions, case_id=case_id, user_id=people.ids["officer"])
    assert (entry.action, entry.outcome) == ("legal_review", "refused")


async def test_a_listing_records_its_filters_and_never_its_results(api, people, sessions, case_id):
    listed = await api.get(
        "/incidents",
        params={"district": "010", "stage": "investigation", "q": "bystander", "limit": 5},
        headers=people.headers("supervisor"),
    )
    assert listed.status_code == 200 and listed.json()["items"]
    entry = await newest(sessions, user_id=people.ids["supervisor"])
    assert (entry.action, entry.outcome, entry.case_id) == ("list_cases", "allowed", None)
    assert entry.details == '{"district":"010","limit":"5","q":"bystander","stage":"investigation"}'
    assert all(
        item["id"] not in entry.details and item["case_number"] not in entry.details for item in listed.json()["items"]
    )
    assert (await api.get("/stats", headers=people.headers("supervisor"))).status_code == 200
    assert (await newest(sessions, user_id=people.ids["supervisor"])).action == "read_stats"


async def test_a_codec_use_is_recorded_with_the_number_of_payloads(api, people, sessions):
    plain = {
        "payloads": [
            {
                "metadata": {"encoding": base64.b64encode(b"json/plain").decode()},
                "data": base64.b64encode(f'"{n}"'.encode()).decode(),
            }
            for n in range(3)
        ]
    }
    sealed = await api.post("/codec/encode", json=plain, headers=people.headers("admin"))
    opened = await api.post("/codec/decode", json=sealed.json(), headers=people.headers("admin"))
    assert opened.json() == plain
    encode, decode = (await entries(sessions, user_id=people.ids["admin"]))[-2:]
    assert (encode.action, encode.outcome, encode.component, encode.details) == (
        "encode_payloads",
        "allowed",
        "codec",
        '{"payloads":3}',
    )
    assert (decode.action, decode.outcome, decode.details) == ("decode_payloads", "allowed", '{"payloads":3}')
    assert (await api.post("/codec/decode", json=sealed.json(), headers=people.headers("officer"))).status_code == 403
    entry = await newest(sessions, user_id=people.ids["officer"])
    assert (entry.action, entry.outcome, entry.component) == ("decode_payloads", "refused", "codec")


async def test_the_chain_verifies_and_an_entry_altered_in_sql_is_found(api, people, sessions, engine, case_id):
    assert (await api.get(f"/incidents/{case_id}", headers=people.headers("auditor"))).status_code == 200
    checked = []
    assert await access_log.verify(sessions, checked=checked) is None
    assert checked[0].entries >= 1 and checked[0].first_seq == 1 and checked[0].anchor == "0" * 64
    target = (await newest(sessions, case_id=case_id)).seq
    # A superuser with the trigger out of the way, inside a transaction this test rolls back.
    async with engine.connect() as connection:
        transaction = await connection.begin()
        try:
            await connection.execute(text("SET LOCAL session_replication_role = replica"))
            await connection.execute(text("UPDATE access_log SET client = '10.9.9.9' WHERE seq = :s"), {"s": target})
            tampered = async_sessionmaker(
                bind=connection, class_=AsyncSession, expire_on_commit=False, join_transaction_mode="create_savepoint"
            )
            broken = await access_log.verify(tampered)
            assert (broken.seq, broken.reason) == (target, "hash does not match the entry's content")
            await connection.execute(text("DELETE FROM access_log WHERE seq = :s"), {"s": target - 1})
            broken = await access_log.verify(tampered)
            assert (broken.seq, broken.reason) == (target, f"expected entry {target - 1}, found {target}")
        finally:
            await transaction.rollback()
    assert await access_log.verify(sessions) is None


async def test_the_database_refuses_to_change_or_delete_an_entry(sessions):
    seq = await access_log.append(
        sessions,
        AccessEntry(at=datetime.now(UTC), action="test", outcome="allowed", component="api", client="127.0.0.1"),
    )
    for statement in (
        "UPDATE access_log SET outcome = 'refused' WHERE seq = :s",
        "DELETE FROM access_log WHERE seq = :s",
        "TRUNCATE access_log",
    ):
        async with sessions() as session:
            with pytest.raises(DBAPIError, match="append-only"):
                await session.execute(text(statement), {"s": seq})


async def test_get_access_log_filters_pages_and_answers_csv(api, people, sessions, case_id):
    auditor = people.headers("auditor")
    for _ in range(3):
        assert (await api.get(f"/incidents/{case_id}/events", headers=people.headers("liaison"))).status_code == 200
    number = (await api.get(f"/incidents/{case_id}", headers=auditor)).json()["case_number"]
    by_case = await api.get("/access-log", params={"case": number}, headers=auditor)
    assert by_case.status_code == 200, by_case.text
    items = by_case.json()["items"]
    assert items and {item["case_id"] for item in items} == {case_id}
    assert [item["seq"] for item in items] == sorted(item["seq"] for item in items)  # oldest first
    by_user = await api.get("/access-log", params={"user": people.emails["liaison"]}, headers=auditor)
    assert {item["user_id"] for item in by_user.json()["items"]} == {people.ids["liaison"]}
    assert [item["action"] for item in by_user.json()["items"]][-3:] == ["read_events"] * 3
    by_id = await api.get("/access-log", params={"user": people.ids["liaison"]}, headers=auditor)
    assert by_id.json()["items"] == by_user.json()["items"]

    middle = by_user.json()["items"][-2]
    window = await api.get(
        "/access-log",
        params={"user": people.ids["liaison"], "since": middle["at"], "until": by_user.json()["items"][-1]["at"]},
        headers=auditor,
    )
    assert [item["seq"] for item in window.json()["items"]] == [middle["seq"]]

    first = await api.get("/access-log", params={"user": people.ids["liaison"], "limit": 2}, headers=auditor)
    assert len(first.json()["items"]) == 2 and first.json()["next_after"] == first.json()["items"][-1]["seq"]
    rest = await api.get(
        "/access-log", params={"user": people.ids["liaison"], "after": first.json()["next_after"]}, headers=auditor
    )
    assert first.json()["items"] + rest.json()["items"] == by_user.json()["items"]
    assert rest.json()["next_after"] is None

    as_csv = await api.get("/access-log", params={"case": case_id}, headers={**auditor, "Accept": "text/csv"})
    assert as_csv.status_code == 200 and as_csv.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert list(rows[0]) == [
        "seq",
        "at",
        "user_id",
        "user_name",
        "who",
        "client",
        "component",
        "action",
        "outcome",
        "case_id",
        "target",
        "details",
        "prev_hash",
        "hash",
    ]
    assert [int(row["seq"]) for row in rows[: len(items)]] == [item["seq"] for item in items]
    row = rows[0]
    assert row["hash"] == access_log.entry_hash(
        seq=int(row["seq"]),
        at=datetime.fromisoformat(row["at"]),
        details=row["details"],
        prev_hash=row["prev_hash"],
        **{
            name: row[name] or None
            for name in ("user_id", "user_name", "who", "client", "component", "action", "outcome", "case_id", "target")
        },
    )

    read = await newest(sessions, user_id=people.ids["auditor"])
    assert (read.action, read.outcome, read.details) == ("read_access_log", "allowed", f'{{"case":"{case_id}"}}')


async def test_get_access_log_is_for_auditors_and_names_a_bad_time(api, people, sessions):
    refused = await api.get("/access-log", headers=people.headers("admin"))
    assert refused.status_code == 403 and "read_access_log" in refused.json()["error"]["message"]
    entry = await newest(sessions, user_id=people.ids["admin"])
    assert (entry.action, entry.outcome) == ("read_access_log", "refused")
    for bad in ("yesterday", "2026-01-01T10:00:00"):  # not a time; a time without its offset
        answer = await api.get("/access-log", params={"since": bad}, headers=people.headers("auditor"))
        assert answer.status_code == 422 and answer.json()["error"]["details"][0]["field"] == "since", answer.text
    backwards = await api.get(
        "/access-log",
        params={"since": "2026-02-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"},
        headers=people.headers("auditor"),
    )
    assert backwards.status_code == 422 and backwards.json()["error"]["details"][0]["field"] == "until"


async def test_a_read_whose_entry_cannot_be_written_answers_503_and_shows_nothing(api, people, engine, case_id):
    signature = "access_log_append(timestamptz, text, text, text, text, text, text, text, text, text, text)"
    async with engine.begin() as connection:
        await connection.execute(text(f"ALTER FUNCTION {signature} RENAME TO access_log_append_away"))
    try:
        read = await api.get(f"/incidents/{case_id}", headers=people.headers("auditor"))
        listed = await api.get("/incidents", headers=people.headers("auditor"))
    finally:
        async with engine.begin() as connection:
            await connection.execute(
                text(f"ALTER FUNCTION access_log_append_away{signature[17:]} RENAME TO access_log_append")
            )
    for answer in (read, listed):
        assert answer.status_code == 503
        assert answer.json() == {
            "error": {
                "code": "unavailable",
                "message": "the access trail could not be written, so nothing is shown: try again",
                "details": None,
            }
        }
    assert case_id not in read.text
    assert (await api.get(f"/incidents/{case_id}", headers=people.headers("auditor"))).status_code == 200


async def test_a_read_whose_entry_waits_too_long_answers_503_and_leaves_no_entry(
    api, people, engine, sessions, case_id, monkeypatch
):
    monkeypatch.setattr(trail, "TIMEOUT_SECONDS", 0.5)
    async with engine.begin() as connection:  # every append waits behind this lock until the transaction ends
        await connection.execute(text("SELECT pg_advisory_xact_lock(hashtext('access_log'), 0)"))
        last = (await newest(sessions)).seq
        read = await api.get(f"/incidents/{case_id}", headers=people.headers("supervisor"))
    assert read.status_code == 503 and case_id not in read.text
    assert (await newest(sessions)).seq == last  # the append was cancelled in the database, not left to land later
    assert (await api.get(f"/incidents/{case_id}", headers=people.headers("supervisor"))).status_code == 200


async def test_with_the_trail_off_nothing_is_recorded_and_production_refuses_it(settings, people, sessions, case_id):
    app = create_app(settings.model_copy(update={"access_trail": False}))
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as client:
            last = (await newest(sessions)).seq
            assert (await client.get(f"/incidents/{case_id}", headers=people.headers("auditor"))).status_code == 200
            assert (await newest(sessions)).seq == last
    with pytest.raises(ValueError, match="REFERRALS_ACCESS_TRAIL"):
        type(settings)(**{**settings.model_dump(), "env": "production", "access_trail": False})


async def test_the_desk_page_shows_entries_to_auditors_only(api, people, sessions, case_id):
    async with signed_in(api, people.tokens["commander"], f"/desk/cases/{case_id}") as page:
        assert (await page.get(f"/desk/cases/{case_id}")).status_code == 200
        entry = await newest(sessions, case_id=case_id, user_id=people.ids["commander"])
        assert (entry.action, entry.component, entry.outcome) == ("read_case", "desk", "allowed")
        assert 'href="/desk/access-log"' not in (await page.get("/desk/")).text
        refused = await page.get("/desk/access-log")
        assert refused.status_code == 403
        assert (await newest(sessions, user_id=people.ids["commander"])).outcome == "refused"
    async with signed_in(api, people.tokens["auditor"]) as page:
        home = await page.get("/desk/")
        assert 'href="/desk/access-log"' in home.text
        shown = await page.get("/desk/access-log", params={"case": case_id, "since": "", "user": ""})
        assert shown.status_code == 200, shown.text
        assert f'id="entry-{entry.seq}"' in shown.text and "Test commander" in shown.text
        assert "Chain intact" in shown.text
        opened = await page.get("/desk/access-log")  # no filter yet: the last week
        assert opened.status_code == 200 and 'name="since" type="datetime-local" value="' in opened.text
        download = await page.get("/desk/access-log.csv", params={"case": case_id})
        assert download.status_code == 200 and download.text.startswith("seq,at,user_id")
        assert str(entry.seq) in download.text


async def test_a_desk_form_refused_for_its_csrf_token_is_recorded_refused(api, people, sessions, case_id):
    """Another site's form riding the session cookie: refused, and the trail says whose session, which form, where
    from, and whether the token was missing or wrong (never the token itself)."""
    async with signed_in(api, people.tokens["officer"], f"/desk/cases/{case_id}") as page:
        missing = await page.post("/desk/file", data={"event_number": "FORGED-1", "summary": "x"})
        assert missing.status_code == 403 and "did not come from this site" in missing.text
        entry = await newest(sessions, user_id=people.ids["officer"])
        assert (entry.action, entry.outcome, entry.component, entry.case_id, entry.details) == (
            "file_incident",
            "refused",
            "desk",
            None,
            '{"csrf_token":"missing"}',
        )
        assert entry.client == "127.0.0.1"
        wrong = await page.post(
            f"/desk/cases/{case_id}/steps/violation_report",
            data={"csrf_token": "guessed", "allegations[0].statute": "720 ILCS 5/12-3"},
        )
        assert wrong.status_code == 403
        entry = await newest(sessions, user_id=people.ids["officer"])
        assert (entry.action, entry.outcome, entry.case_id, entry.details) == (
            "violation_report",
            "refused",
            case_id,
            '{"csrf_token":"wrong"}',
        )
        out = await page.post("/desk/sign-out", data={})
        assert out.status_code == 403
        entry = await newest(sessions, user_id=people.ids["officer"])
        assert (entry.action, entry.outcome, entry.details) == ("sign_out", "refused", '{"csrf_token":"missing"}')
        assert (await page.get(f"/desk/cases/{case_id}")).status_code == 200  # still signed in: nothing changed


async def test_concurrent_appends_from_several_processes_leave_one_unbroken_chain(sessions, database_url):
    """Five engines (as five API processes: each its own trail connection), ten appends each, all at once."""
    engines = [async_engine(database_url) for _ in range(5)]
    try:
        now = datetime.now(UTC)
        seqs = await asyncio.gather(
            *(
                access_log.append(
                    session_factory(engines[n % 5]),
                    AccessEntry(
                        at=now + timedelta(microseconds=n),
                        action="test",
                        outcome="allowed",
                        component="api",
                        client="127.0.0.1",
                        details={"n": n},
                    ),
                )
                for n in range(50)
            )
        )
    finally:
        for engine in engines:
            await engine.dispose()
    assert sorted(seqs) == list(range(min(seqs), min(seqs) + 50))
    assert await access_log.verify(sessions) is None


async def test_a_trail_connection_the_database_cut_is_replaced(api, people, engine, sessions, case_id):
    assert (await api.get(f"/incidents/{case_id}", headers=people.headers("auditor"))).status_code == 200
    async with engine.begin() as connection:
        cut = (
            await connection.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE pid <> pg_backend_pid() "
                    "AND datname = current_database() AND query LIKE 'SELECT access_log_append(%'"
                )
            )
        ).scalar_one()
    assert cut >= 1
    assert (await api.get(f"/incidents/{case_id}", headers=people.headers("auditor"))).status_code == 200
    assert (await newest(sessions, case_id=case_id)).user_id == people.ids["auditor"]


async def test_prune_keeps_the_retention_and_verify_anchors_on_what_remains(engine, database_url, tmp_path):
    """On a database of its own: prune deletes only the oldest entries, from the start of the chain."""
    name = f"trail_{uuid.uuid4().hex[:8]}"
    async with engine.connect() as connection:
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        await connection.execute(text(f"CREATE DATABASE {name}"))
    url = database_url.replace("/referrals_test?", f"/{name}?")
    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["database_url"] = url
    await asyncio.to_thread(command.upgrade, config, "head")
    own = async_engine(url)
    try:
        sessions = session_factory(own)
        now = datetime.now(UTC)
        for days in (400, 399, 30, 1, 380):  # the last, old as it is, follows newer entries: it stays
            await access_log.append(
                sessions,
                AccessEntry(
                    at=now - timedelta(days=days), action="test", outcome="allowed", component="api", client="127.0.0.1"
                ),
            )
        done = referrals(url, "access-log", "prune")
        assert done.returncode == 0 and done.stdout.strip() == "2 access trail entries older than 365 days deleted"
        assert sorted(row.seq for row in await entries(sessions)) == [3, 4, 5]  # (by time: 5 first)
        done = referrals(url, "access-log", "verify")
        assert done.returncode == 0, done.stdout + done.stderr
        assert done.stdout.startswith("3 access trail entries (3 to 5) checked from entry 3's prev_hash")
        assert done.stdout.strip().endswith("chain intact")
        async with own.begin() as connection:
            await connection.execute(text("SET LOCAL session_replication_role = replica"))
            await connection.execute(text("UPDATE access_log SET action = 'altered' WHERE seq = 4"))
        done = referrals(url, "access-log", "verify")
        assert done.returncode == 1 and done.stdout.strip() == (
            "BROKEN access trail: entry 4: hash does not match the entry's content"
        )
    finally:
        await own.dispose()
        async with engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text(f"DROP DATABASE {name} WITH (FORCE)"))


def test_the_policy_keeps_the_trail_a_year_at_least(tmp_path):
    path = tmp_path / "policy.toml"
    path.write_text(
        (ROOT / "policy" / "chicago.toml")
        .read_text()
        .replace("access_log_retention_days = 365", "access_log_retention_days = 90")
    )
    with pytest.raises(PolicyError, match="access_log_retention_days"):
        load_policy(path)
    assert load_policy(ROOT / "tests" / "fast_policy.toml").access_log_retention_days == 365  # when not given


async def test_the_case_page_shown_again_after_a_refused_step_is_a_read_too(api, people, sessions, case_id):
    from tests.support.desk_client import hidden

    async with signed_in(api, people.tokens["officer"], f"/desk/cases/{case_id}") as page:
        csrf = hidden((await page.get(f"/desk/cases/{case_id}")).text, "csrf_token")
        since = datetime.now(UTC)
        refused = await page.post(f"/desk/cases/{case_id}/steps/violation_report", data={"csrf_token": csrf})
        assert refused.status_code == 422 and "case-summary" in refused.text or refused.status_code == 422
    async with sessions() as session:
        rows = (
            await session.exec(
                select(AccessEntryRow)
                .where(
                    AccessEntryRow.at >= since,
                    AccessEntryRow.user_id == people.ids["officer"],
                    AccessEntryRow.case_id == case_id,
                )
                .order_by(AccessEntryRow.seq)
            )
        ).all()
    assert [(r.action, r.outcome) for r in rows][-1] == ("read_case", "allowed")
    assert '"after":"violation_report"' in rows[-1].details


async def test_the_desk_page_reads_newest_first_in_words_with_evidence_by_its_exhibit(
    api, people, sessions, monkeypatch
):
    """The desk's page, unlike GET /access-log: newest first, its details in words (no JSON), an evidence item by
    its exhibit number and description ("C1 Photo: injury to the left palm"), never by its id."""
    case = await Driver(api, people).new_case("officer")
    files = {"metadata": (None, json.dumps(PHOTO), "application/json"), "file": ("palm.png", png(), "image/png")}
    added = await api.post(f"/incidents/{case['id']}/evidence", files=files, headers=people.headers("officer"))
    assert added.status_code == 201, added.text
    item = added.json()
    for read in (f"/incidents/{case['id']}", item["download"], f"/incidents/{case['id']}/evidence"):
        assert (await api.get(read, headers=people.headers("auditor"))).status_code == 200
    searched = await api.get(
        "/incidents", params={"q": "Pulaski", "stage": "legal_review"}, headers=people.headers("auditor")
    )
    assert searched.status_code == 200
    async with signed_in(api, people.tokens["auditor"]) as page:
        shown = await page.get("/desk/access-log", params={"case": case["case_number"]})
        assert shown.status_code == 200, shown.text
        seqs = [int(n) for n in re.findall(r'<tr id="entry-(\d+)"', shown.text)]
        assert len(seqs) >= 3 and seqs == sorted(seqs, reverse=True)  # newest first
        assert "Entries, newest first" in shown.text
        download = next(e for e in await entries(sessions, case_id=case["id"]) if e.action == "download_evidence")
        row = re.search(rf'<tr id="entry-{download.seq}">(.*?)</tr>', shown.text, re.S)
        assert row, shown.text
        assert "C1 Photo: injury to the left palm" in words(row.group(1))
        assert item["id"] not in shown.text  # the item by its exhibit, not its id
        assert "{" not in words(shown.text.split("<main", 1)[1])  # no JSON: details in words
        everyone = await page.get("/desk/access-log", params={"user": people.ids["auditor"]})
        listing = [e for e in await entries(sessions, user_id=people.ids["auditor"]) if e.action == "list_cases"][-1]
        said = words(re.search(rf'<tr id="entry-{listing.seq}">(.*?)</tr>', everyone.text, re.S).group(1))
        assert "words “Pulaski”" in said and "stage: Legal review" in said
        assert "{" not in words(everyone.text.split("<main", 1)[1])
        # Two a page: the next page goes on to older entries, still newest first.
        monkeypatch.setattr(desk_trail, "PAGE", 2)
        first = await page.get("/desk/access-log", params={"case": case["case_number"]})
        shown_first = [int(n) for n in re.findall(r'<tr id="entry-(\d+)"', first.text)]
        assert shown_first == seqs[:2]
        more = html.unescape(re.search(r'href="([^"]+)" rel="next"', first.text).group(1))
        assert "before=" in more and "after=" not in more
        older = [int(n) for n in re.findall(r'<tr id="entry-(\d+)"', (await page.get(more)).text)]
        assert older == seqs[2:4]
