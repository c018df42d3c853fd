"""Fault drills: cases run their whole lifecycle through the HTTP API while a part of the stack fails.

    .venv/bin/python -m bench.faults worker-kill      [--cases 30 --kills 8 --seed 7]
    .venv/bin/python -m bench.faults server-restart   [--cases 30 --down 5]
    .venv/bin/python -m bench.faults database-outage  [--cases 30 --outage 15]
    .venv/bin/python -m bench.faults restore          [--cases 30 --dump-after 2 --restore-after 3]

Each drill starts its own stack of real processes (bench/stack.py), files the Chicago scenario
N times and carries every case to the prosecutor's acknowledgement, as people would: a request
answered 503 (or cut off) is sent again after a pause with the same Idempotency-Key. Meanwhile
the worker is SIGKILLed at random moments, the Temporal dev server is stopped and started on its
on-disk state, PostgreSQL is stopped for a while, or its database is dumped mid-run and, the
lifecycles going on, restored from that dump (as from last night's backup) and rebuilt with
`referrals rebuild` from the workflows. Prints JSON: what was done to the stack, how
the API answered, and what every case ended with beside what it should have.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import time
from collections import Counter

import psycopg
from sqlalchemy import text
from temporalio.client import Client

from bench.people import Answers, People
from bench.stack import Stack
from referrals.config import DEVELOPMENT_KEYS
from referrals.domain.case import workflow_id_for
from referrals.store.engine import async_engine
from referrals.temporal_client import data_converter
from referrals.workflows.incident import IncidentWorkflow

# What each of these cases must end with: every audit event, document and e-mail exactly once. The
# documents are made after the steps that ask for them, so where their events fall among the steps'
# varies from run to run; PostgreSQL's trail must be the workflow's own, event for event.
EXPECTED = {
    "stage": "closed",
    "disposition": "referred",
    "steps": [
        "case_filed",
        "footage_hold_confirmed",
        "supervisor_identification_recorded",
        "violation_report_recorded",
        "stage_changed",
        "legal_review_decided",
        "stage_changed",
        "command_decided",
        "stage_changed",
        "referral_acknowledged",
        "stage_changed",
        "charging_decided",
        "case_closed",
    ],
    "documents_generated": ["preservation_request", "hold_confirmation", "legal_review_memo", "referral_packet"],
    "same_as_workflow": True,
    "chain_valid": True,
    "documents": [
        ["hold_confirmation", 1],
        ["legal_review_memo", 1],
        ["preservation_request", 1],
        ["referral_packet", 1],
    ],
    "documents_as_hashed": True,
    "deliveries": 1,
    "emails": 1,
    "notifications": 0,
}


async def outcome(stack: Stack, people: People, case_ids: list[str]) -> list[dict]:
    """What each case ended with: from the API, PostgreSQL and the mail that arrived."""
    engine = async_engine(stack.database_url)
    try:
        async with engine.connect() as db:
            documents = (
                await db.execute(
                    text(
                        "SELECT case_id, kind, version, id, sha256, encode(sha256(content), 'hex') = sha256 FROM document"
                        " ORDER BY case_id, kind, version"
                    )
                )
            ).all()
            deliveries = (
                await db.execute(
                    text("SELECT d.case_id FROM document_delivery x JOIN document d ON d.id = x.document_id")
                )
            ).all()
            notifications = (await db.execute(text("SELECT case_id FROM notification"))).all()
    finally:
        await engine.dispose()
    mail = Counter()
    for message in stack.mail():
        mail[(message["Subject"], message["Message-ID"])] += 1
    client = await Client.connect(stack.temporal_address, data_converter=data_converter(DEVELOPMENT_KEYS))
    found = []
    for case_id in case_ids:
        case = (await people.request("GET", f"/incidents/{case_id}", "auditor")).json()
        trail = (await people.request("GET", f"/incidents/{case_id}/events", "auditor")).json()
        recorded = await client.get_workflow_handle(workflow_id_for(case_id)).query(IncidentWorkflow.audit_trail)
        number = case["case_number"]
        mine = {key: count for key, count in mail.items() if number in key[0]}
        kinds = [e["kind"] for e in trail["items"]]
        listed = {d.id: d.sha256 for d in recorded.state.documents}
        stored = [row for row in documents if row[0] == case_id]
        found.append(
            {
                "case_number": number,
                "stage": case["stage"],
                "disposition": case["disposition"],
                "steps": [k for k in kinds if k != "document_generated"],
                "documents_generated": [e["data"]["kind"] for e in trail["items"] if e["kind"] == "document_generated"],
                "same_as_workflow": [(e["seq"], e["kind"], e["actor_id"], e["data"]) for e in trail["items"]]
                == [(e.seq, str(e.kind), e.actor.id if e.actor else None, e.data) for e in recorded.events],
                "chain_valid": trail["chain_valid"],
                "documents": [[kind, version] for _, kind, version, *_ in stored],
                # Every stored document is the one the workflow listed, and its bytes hash to what was recorded.
                "documents_as_hashed": {doc_id: sha for _, _, _, doc_id, sha, _ in stored} == listed
                and all(ok for *_, ok in stored),
                "deliveries": sum(1 for (cid,) in deliveries if cid == case_id),
                # Distinct messages (by Message-ID); `copies` counts a resend after a crash between the
                # SMTP hand-off and its record, which a receiver drops by its Message-ID.
                "emails": len(mine),
                "copies": sum(mine.values()),
                "notifications": sum(1 for (cid,) in notifications if cid == case_id),
            }
        )
    return found


async def activity_retries(stack: Stack, case_ids: list[str]) -> int:
    """Activity attempts beyond the first, across the cases' histories (no payload is read)."""
    client = await Client.connect(stack.temporal_address)
    retries = 0
    for case_id in case_ids:
        history = await client.get_workflow_handle(workflow_id_for(case_id)).fetch_history()
        for event in history.events:
            if event.HasField("activity_task_started_event_attributes"):
                retries += event.activity_task_started_event_attributes.attempt - 1
    return retries


async def drill(
    fault,
    *,
    cases: int,
    concurrency: int,
    think: float,
    seed: int,
    finish_within: float = 300,
    request_timeout: float = 20.0,
) -> dict:
    """Run `cases` lifecycles while `fault(stack, running)` breaks the stack; report everything."""
    rng = random.Random(seed)
    answers = Answers()
    started = time.monotonic()
    async with Stack.started(request_timeout=request_timeout) as stack:
        people = People(
            stack.api_url, stack.tokens, stack.temporal_address, answers, think, rng, timeout=request_timeout + 30
        )
        gate = asyncio.Semaphore(concurrency)
        run = f"drill-{seed}-{int(time.time())}"

        async def one(n: int) -> str:
            async with gate:
                return await people.lifecycle(n, run)

        lifecycles = asyncio.gather(*(one(n) for n in range(cases)))
        done = asyncio.Event()
        lifecycles.add_done_callback(lambda _: done.set())
        faults = await fault(stack, people, done, rng)
        case_ids = await lifecycles
        for case_id in case_ids:
            await people.until_closed(case_id, finish_within)
        found = await outcome(stack, people, case_ids)
        retries = await activity_retries(stack, case_ids)
        await people.aclose()
    unexpected = [c["case_number"] for c in found if {k: c[k] for k in EXPECTED} != EXPECTED]
    return {
        "cases": cases,
        "seed": seed,
        "seconds": round(time.monotonic() - started, 1),
        "faults": faults,
        "api": answers.summary(),
        "activity_retries": retries,
        "as_expected": len(found) - len(unexpected),
        "unexpected": unexpected,
        "duplicate_email_copies": sum(c["copies"] - c["emails"] for c in found),
        "outcomes": found,
    }


def worker_kills(kills: int, gap: tuple[float, float] = (1.0, 4.0), down: tuple[float, float] = (0.0, 1.5)):
    async def fault(stack: Stack, people: People, done: asyncio.Event, rng: random.Random) -> list[dict]:
        record = []
        for _ in range(kills):
            await asyncio.sleep(rng.uniform(*gap))
            if done.is_set():
                break
            stack.kill_worker()
            pause = rng.uniform(*down)
            await asyncio.sleep(pause)
            stack.start_worker()
            record.append({"worker_killed": "SIGKILL", "restarted_after_seconds": round(pause, 2)})
        return record

    return fault


def server_restart(after: float, down: float):
    async def fault(stack: Stack, people: People, done: asyncio.Event, rng: random.Random) -> list[dict]:
        await asyncio.sleep(after)
        stack.stop_temporal()
        await asyncio.sleep(down)
        restarted = time.monotonic()
        await stack.start_temporal()
        return [
            {
                "temporal_stopped_after_seconds": after,
                "down_seconds": down,
                "ready_after_start_seconds": round(time.monotonic() - restarted, 2),
            }
        ]

    return fault


def database_outage(after: float, outage: float):
    async def fault(stack: Stack, people: People, done: asyncio.Event, rng: random.Random) -> list[dict]:
        began = time.monotonic()
        await asyncio.sleep(after)
        # Stop it under a write in progress, so the worker's activities meet the outage too: the audit
        # table is held locked until a step has waited on it, then the server goes (taking the lock).
        async with await psycopg.AsyncConnection.connect(stack.database_url.replace("+psycopg", "")) as blocker:
            await blocker.execute("LOCK TABLE case_event IN ACCESS EXCLUSIVE MODE")
            locked = time.monotonic()  # (at most 30 s: the outage comes whether or not a request met the lock)
            while not done.is_set() and time.monotonic() - locked < 30:
                if any(time.monotonic() - s > 0.5 for s in people.steps_in_flight.values()):
                    break
                await asyncio.sleep(0.01)
            stopped = time.monotonic()
            stack.stop_database()
            with contextlib.suppress(psycopg.Error):
                await blocker.rollback()
        await asyncio.sleep(outage)
        stack.start_database()
        return [{"postgres_stopped_after_seconds": round(stopped - began, 2), "outage_seconds": outage}]

    return fault


def restore(dump_after: float, restore_after: float):
    """A backup taken mid-run; the lifecycles go on; the database is lost and restored from that backup
    while the API is stopped (people meet a refused connection and try again); `referrals rebuild`
    writes back what the workflows recorded since; the API starts again."""

    async def fault(stack: Stack, people: People, done: asyncio.Event, rng: random.Random) -> list[dict]:
        began = time.monotonic()
        await asyncio.sleep(dump_after)
        dump = stack.root / "referrals.dump"
        await asyncio.to_thread(stack.dump_database, dump)
        dumped = time.monotonic()
        await asyncio.sleep(restore_after)
        stack.stop_api()
        running, finished = people.filed - people.finished, people.finished
        await asyncio.to_thread(stack.restore_database, dump)
        restored = time.monotonic()
        reports = await stack.rebuild()
        rebuilt = time.monotonic()
        await stack.start_api()
        return [
            {
                "dumped_after_seconds": round(dumped - began, 2),
                "restored_after_seconds": round(restored - began, 2),
                "lifecycles_going_at_restore": running,
                "lifecycles_done_at_restore": finished,
                "rebuild_seconds": round(rebuilt - restored, 2),
                "rebuilt_cases": len(reports),
                "rebuilt_ok": sum(r["ok"] for r in reports),
                "events_added": sum(r["events_added"] for r in reports),
                # Lost with the restore: recorded by their case (made again, checked against the recorded hash), or
                # asked for and not yet recorded (made again from the request the workflow keeps).
                "documents_made_again": sum(len(r["documents_made_again"]) for r in reports),
                "documents_asked_made": sum(r["documents_asked_made"] for r in reports),
                "deliveries_added": sum(r["deliveries_added"] for r in reports),
                "problems": [r for r in reports if not r["ok"]],
            }
        ]

    return fault


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("drill", choices=["worker-kill", "server-restart", "database-outage", "restore"])
    parser.add_argument("--cases", type=int, default=30)
    parser.add_argument("--concurrency", type=int, default=30)
    parser.add_argument("--think", type=float, default=2.0, help="most seconds a person waits between steps")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--kills", type=int, default=8)
    parser.add_argument("--down", type=float, default=5.0, help="seconds the Temporal server stays stopped")
    parser.add_argument("--outage", type=float, default=15.0, help="seconds PostgreSQL stays stopped")
    parser.add_argument("--dump-after", type=float, default=2.0, help="seconds into the run the backup is taken")
    parser.add_argument("--restore-after", type=float, default=3.0, help="seconds after the backup it is restored")
    parser.add_argument("--outcomes", action="store_true", help="also print every case's outcome")
    args = parser.parse_args()
    fault = {
        "worker-kill": lambda: worker_kills(args.kills),
        "server-restart": lambda: server_restart(after=3.0, down=args.down),
        "database-outage": lambda: database_outage(after=3.0, outage=args.outage),
        "restore": lambda: restore(args.dump_after, args.restore_after),
    }[args.drill]()
    report = asyncio.run(drill(fault, cases=args.cases, concurrency=args.concurrency, think=args.think, seed=args.seed))
    if not args.outcomes:
        report.pop("outcomes")
    print(json.dumps({"drill": args.drill, **report}, indent=2))


if __name__ == "__main__":
    main()
