"""The audit trail: append-only, hash-chained, and a tampered row is caught."""

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from referrals.store import cases
from referrals.store.audit import GENESIS, verify_chain
from tests.support.cli import referrals
from tests.support.scenario import Driver
from tests.support.tampering import edit_narrative


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
