"""Escalations end to end on the dev server with a seconds-long policy: the e-mail arrives at a real
SMTP server, the webhook at a real HTTP receiver, the inbox shows it, the Temporal UI query finds it,
and a worker restarted mid-ladder sends nothing twice."""

import asyncio
import json
import subprocess
from collections import Counter

from referrals.config import ROOT
from referrals.devstack import temporal
from referrals.worker import build_worker
from tests.support.scenario import Driver
from tests.support.waiting import until


async def level_of(d: Driver, case_id: str, task: str = "footage_hold") -> int:
    return (await d.get(case_id)).json()["tasks"][task]["escalation_level"]


async def test_an_unconfirmed_hold_escalates_to_people(
    fast_api, fast_settings, dev_server, sessions, people, smtp_sink, webhook_sink, database_url
):
    d = Driver(fast_api, people)
    async with build_worker(dev_server.client, fast_settings, sessions):
        case = await d.new_case()
        cid, number = case["id"], case["case_number"]
        assert case["purge_warnings"] == []

        async def at_level_two():
            return await level_of(d, cid) == 2

        await until(at_level_two)

        # E-mail: the custodian and the district's supervisor at level 1, command at level 2.
        async def mails():
            return [m for m in smtp_sink.messages if number in m["Subject"]]

        expected = {people.emails[who] for who in ("custodian", "supervisor", "commander")}

        async def all_arrived():
            return expected <= {m["To"] for m in await mails()}

        await until(all_arrived)
        assert people.emails["supervisor_elsewhere"] not in {m["To"] for m in await mails()}
        first = next(m for m in await mails() if m["To"] == people.emails["custodian"])
        body = first.get_content()
        assert f"Case {number}" in body and "Footage hold" in body and "overdue" in body
        assert f"/desk/cases/{cid}" in body and "/incidents/" not in body and f"/workflows/incident-{cid}" in body

        # Webhook: one Slack-style post per escalation step.
        async def hooks():
            return [b for _, b in webhook_sink.posts if b["case_number"] == number]

        await until(lambda: _at_least(hooks, 2))
        assert sorted(b["level"] for b in await hooks()) == [1, 2]
        assert all(number in b["text"] and b["link"].endswith(f"/desk/cases/{cid}") for b in await hooks())

        # The inbox, unread then read.
        inbox = (await fast_api.get("/notifications?unread=true", headers=people.headers("custodian"))).json()
        mine = [n for n in inbox["items"] if n["case_id"] == cid]
        assert [(n["task"], n["level"]) for n in mine] == [("footage_hold", 1)]
        read = await fast_api.post(f"/notifications/{mine[0]['id']}/read", headers=people.headers("custodian"))
        assert read.status_code == 200 and read.json()["read_at"]
        inbox = (await fast_api.get("/notifications?unread=true", headers=people.headers("custodian"))).json()
        assert cid not in [n["case_id"] for n in inbox["items"]]
        other = await fast_api.post(f"/notifications/{mine[0]['id']}/read", headers=people.headers("auditor"))
        assert other.status_code == 404

        # Stuck cases: the API filter, the CLI and the Temporal UI query all find it.
        overdue = (await fast_api.get("/incidents?overdue=true&limit=200", headers=people.headers("auditor"))).json()
        assert any(c["id"] == cid and c["escalation_level"] == 2 for c in overdue["items"])
        stuck = subprocess.run(
            [
                str(ROOT / ".venv/bin/referrals") if (ROOT / ".venv/bin/referrals").exists() else "referrals",
                "stuck",
                "--json",
            ],
            env={"DATABASE_URL": database_url, "REFERRALS_ENV": "test", "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert stuck.returncode == 0, stuck.stderr
        assert any(
            row["case_number"] == number and row["task"] == "footage_hold" and row["escalation_level"] == 2
            for row in json.loads(stuck.stdout)
        )
        listed = subprocess.run(
            [
                str(temporal.binary("temporal")),
                "workflow",
                "list",
                "--address",
                fast_settings.temporal_address,
                "--query",
                f"EscalationLevel > 0 AND CaseNumber = '{number}'",
                "--output",
                "json",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert listed.returncode == 0, listed.stderr
        assert [w["execution"]["workflowId"] for w in json.loads(listed.stdout)] == [f"incident-{cid}"]


async def _at_least(source, n: int):
    found = await source()
    return found if len(found) >= n else None


async def test_a_worker_restarted_mid_ladder_sends_nothing_twice(
    fast_api, fast_settings, dev_server, sessions, people, smtp_sink, webhook_sink
):
    d = Driver(fast_api, people)
    async with build_worker(dev_server.client, fast_settings, sessions):
        case = await d.new_case()
        cid, number = case["id"], case["case_number"]

        async def level_one():
            return await level_of(d, cid) >= 1

        await until(level_one)
    # The worker is gone between the steps; a new one replays the history from scratch.
    await asyncio.sleep(1)
    async with build_worker(dev_server.client, fast_settings, sessions):

        async def level_two():
            return await level_of(d, cid) == 2

        await until(level_two)
        await asyncio.sleep(2)  # time for any duplicate to show up
    mails = [m for m in smtp_sink.messages if number in m["Subject"]]
    ids = Counter(m["Message-ID"] for m in mails)
    assert ids and max(ids.values()) == 1, ids
    per_person_level = Counter((m["To"], "level 2" in m["Subject"]) for m in mails)
    assert max(per_person_level.values()) == 1
    assert sorted(b["level"] for _, b in webhook_sink.posts if b["case_number"] == number) == [1, 2]
    events = [e["kind"] for e in (await d.events(cid))["items"]]
    assert events.count("task_escalated") == 2
