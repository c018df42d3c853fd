"""The audit trail: append-only, hash-chained, and a tampered row is caught."""

import asyncio
import re
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from referrals.activities.publication import Publisher
from referrals.domain.publication import PublishRequest
from referrals.store import cases
from referrals.store.audit import GENESIS, verify_chain
from tests.support.cli import referrals
from tests.support.in_process import api_on
from tests.support.policies import CHICAGO
from tests.support.scenario import REFER, Driver
from tests.support.tampering import edit_narrative, rewrite_history


async def test_chain_links_every_event_to_the_one_before(api, people, sessions):
    d = Driver(api, people)
    cid = (await d.new_case())["id"]
    await d.investigate(cid)
    async with sessions() as s:
        rows = await cases.list_events(s, cid)
    assert rows[0].prev_hash == GENESIS
    assert all(later.prev_hash == earlier.hash for earlier, later in zip(rows, rows[1:], strict=False))
    assert verify_chain(cid, rows) is None


async def test_events_cannot_be_changed_or_deleted(api, people, sessions):
    cid = (await Driver(api, people).new_case())["id"]
    for statement in (
        "UPDATE case_event SET kind = 'x' WHERE case_id = :cid",
        "DELETE FROM case_event WHERE case_id = :cid",
    ):
        async with sessions() as s:
            with pytest.raises(DBAPIError, match="append-only"):
                await s.exec(text(statement), params={"cid": cid})


async def test_an_edited_row_is_caught(api, people, sessions, database_url):
    d = Driver(api, people)
    cid = (await d.new_case())["id"]
    await d.investigate(cid)
    await edit_narrative(sessions, cid, 4)
    async with sessions() as s:
        broken = verify_chain(cid, await cases.list_events(s, cid))
    assert broken is not None and broken.seq == 4
    assert "content" in broken.reason
    assert (await d.events(cid))["chain_valid"] is False

    case_number = (await d.get(cid)).json()["case_number"]
    verify = referrals(database_url, "audit", "verify")
    assert verify.returncode == 1
    assert f"BROKEN {case_number} ({cid}): event 4: hash does not match the event's content" in verify.stdout
    one = referrals(database_url, "audit", "verify", case_number)
    assert one.returncode == 1 and "1 case(s)" in one.stdout


async def test_audit_verify_passes_on_intact_chains(api, people, database_url):
    d = Driver(api, people)
    case = await d.new_case()
    done = referrals(database_url, "audit", "verify", case["id"])
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 case(s)" in done.stdout and "all chains intact" in done.stdout
    assert referrals(database_url, "audit", "verify", "CPD-1999-000000").returncode == 2


async def test_a_history_rewritten_after_a_root_was_published_is_named_though_its_chain_verifies(
    api, people, sessions, settings, database_url, tmp_path
):
    """Issue 33: whoever owns the table can disable its trigger and recompute every hash; `verify` cannot tell. The
    root the public snapshot published, kept by the public (here, its JSON saved to a directory), can. (The command
    runs in a thread: the session's worker shares this event loop.)"""
    d = Driver(api, people)
    cid = (await d.new_case())["id"]
    still = (await d.new_case())["id"]  # a case that does not move between the two snapshots
    await d.investigate(cid)
    events = await d.settled(cid)
    await d.settled(still)
    number = (await d.get(cid)).json()["case_number"]
    entry = await Publisher(sessions, CHICAGO).publish(
        PublishRequest(key=f"roots-{uuid.uuid4()}", as_of=datetime.now(UTC))
    )
    async with api_on(settings) as fresh:  # the public's copy, as anyone downloads it
        public = await fresh.get(f"/public/snapshots/{entry.id}")
    assert public.status_code == 200, public.text
    assert re.fullmatch(r"[0-9a-f]{64}", public.json()["chains_root"]) and public.json()["chains_at"]
    assert cid not in public.text and number not in public.text  # the root names nothing
    (tmp_path / f"snapshot-{entry.id}.json").write_bytes(public.content)

    intact = await asyncio.to_thread(referrals, database_url, "audit", "verify", number, "--published", str(tmp_path))
    assert intact.returncode == 0, intact.stdout + intact.stderr
    assert "every chain as published" in intact.stdout

    # The case moves on and the next day's snapshot publishes its new head: it keeps only the heads that moved.
    await d.ok(cid, "legal-review", "reviewer", REFER)
    await d.settled(cid)
    later = await Publisher(sessions, CHICAGO).publish(
        PublishRequest(key=f"roots-{uuid.uuid4()}", as_of=datetime.now(UTC))
    )
    kept = "SELECT snapshot_id FROM published_chain_head WHERE chain = 'case' AND chain_id = :c ORDER BY snapshot_id"
    async with sessions() as s:
        moved, unmoved = [[s for (s,) in (await s.exec(text(kept), params={"c": c})).all()] for c in (cid, still)]
    assert moved == [entry.id, later.id]
    assert unmoved == [entry.id]  # a case that did not move since is not kept again
    async with api_on(settings) as fresh:
        (tmp_path / f"snapshot-{later.id}.json").write_bytes((await fresh.get(f"/public/snapshots/{later.id}")).content)
    both = await asyncio.to_thread(referrals, database_url, "audit", "verify", number, "--published", str(tmp_path))
    assert both.returncode == 0 and "2 published snapshot(s), 2 with a root" in both.stdout, both.stdout + both.stderr

    await rewrite_history(sessions, cid, 1)  # the filing's narrative, every hash after it recomputed
    alone = await asyncio.to_thread(referrals, database_url, "audit", "verify", number)
    assert alone.returncode == 0 and "all chains intact" in alone.stdout, alone.stdout
    caught = await asyncio.to_thread(referrals, database_url, "audit", "verify", number, "--published", str(tmp_path))
    assert caught.returncode == 1, caught.stdout + caught.stderr
    head = events["items"][-1]["seq"]
    assert (
        f"REWRITTEN {number} ({cid}): event {head} is not as it was when snapshot {entry.id}'s root was published "
        f"({entry.published_on.isoformat()}): its history was rewritten after"
    ) in caught.stdout, caught.stdout

    # Whoever also alters the heads kept beside the snapshot no longer gets the root the public holds.
    async with sessions() as s, s.begin():
        await s.exec(
            text("UPDATE published_chain_head SET hash = :h WHERE snapshot_id = :s AND chain_id = :c"),
            params={"h": "0" * 64, "s": entry.id, "c": cid},
        )
    altered = await asyncio.to_thread(referrals, database_url, "audit", "verify", number, "--published", str(tmp_path))
    assert altered.returncode == 1 and f"ALTERED snapshot {entry.id}'s root" in altered.stdout, altered.stdout
    # A source that holds no snapshot is said to, not passed.
    empty = tmp_path / "empty"
    empty.mkdir()
    nothing = await asyncio.to_thread(referrals, database_url, "audit", "verify", number, "--published", str(empty))
    assert nothing.returncode == 1 and "nothing to check" in nothing.stdout
