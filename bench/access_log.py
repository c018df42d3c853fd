"""Benchmark: the access trail. Seeds the trail with N entries (spread over N/50 cases and N/100 users, hashed
here and written with one COPY, chained onto what the trail already holds), then measures through the HTTP API
(uvicorn on loopback) one case's entries and one user's entries, `GET /access-log?case=` and `?user=`, at each
size; and a case read, `GET /incidents/{id}`, with the trail on and off: two API processes against the same
database, one with REFERRALS_ACCESS_TRAIL=false, read in turn.

    .venv/bin/python -m bench.access_log                          # 10 000 and 1 000 000 entries
    .venv/bin/python -m bench.access_log --sizes 2000,20000 --queries 20

After seeding, the table is vacuumed and checkpointed, as autovacuum and the checkpointer would long have done to
a trail of that size (settle()).

Prints JSON: per size, the seconds seeding and vacuuming took, p50/p99 milliseconds of the two queries and of the
case read on and off (and their ratio), and of an append alone from this process; the database's own plan and time
for one case's and one user's page; the seconds `verify` takes over the whole chain; then each target beside what
it was measured from. The
targets are reported, not asserted: one case's or one user's entries p99 < 100 ms at the largest size, the largest
size no slower than the smallest by more than 2x, a case read with the trail on within 1.2x of it off.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import psutil
import psycopg

from bench.lifecycle import percentiles
from bench.stack import Stack
from referrals.api.routes.access_log import COLUMNS as ACCESS_LOG_COLUMNS
from referrals.config import ROOT
from referrals.devstack import procs
from referrals.store import access_log
from referrals.store.access_log import AccessEntry
from referrals.store.engine import async_engine, session_factory
from tests.support.scenario import FILING

# The trail's columns, in the order the CSV export gives them (and COPY takes them).
COLUMNS = ACCESS_LOG_COLUMNS
READS = ("read_case", "read_events", "list_documents", "list_evidence", "download_evidence", "read_custody")
SPAN = timedelta(days=300)  # the seeded entries' times: within the last 300 days, so within the retention
TARGETS = {"entries_p99_ms": 100.0, "growth": 2.0, "trail_on_over_off": 1.2}


def _conninfo(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def _rows(start_seq: int, prev: str, count: int, cases: list[str], users: list[str], rng: random.Random):
    """`count` entries after (start_seq, prev), their hashes as the database's access_log_append makes them."""
    now = datetime.now(UTC)
    begin = now - SPAN
    step = SPAN / count
    for n in range(count):
        seq = start_seq + n
        at = begin + step * n
        user = rng.choice(users)
        if rng.random() < 0.1:  # a listing: no case, its filters as details
            case_id, target, action, details = (
                None,
                None,
                "list_cases",
                access_log.details_text({"district": f"{rng.randrange(1, 26):03d}", "stage": "investigation"}),
            )
        else:
            case_id, action = rng.choice(cases), rng.choice(READS)
            target = f"E{rng.randrange(1, 9)}" if action in ("download_evidence", "read_custody") else None
            details = "{}"
        fields = dict(
            seq=seq,
            at=at,
            user_id=user,
            user_name=f"Bench {user[:8]}",
            who=None,
            client=f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}",
            component="api" if rng.random() < 0.7 else "desk",
            action=action,
            outcome="allowed" if rng.random() < 0.97 else "not_found",
            case_id=case_id,
            target=target,
            details=details,
            prev_hash=prev,
        )
        prev = access_log.entry_hash(**fields)
        yield tuple(fields[c] for c in COLUMNS[:-1]) + (prev,)


def seed(database_url: str, count: int, cases: list[str], users: list[str], seed_value: int) -> float:
    """Adds `count` entries at the end of the chain (under the appenders' own lock, so none comes between) and the
    users they name; returns the seconds it took."""
    began = time.monotonic()
    rng = random.Random(seed_value)
    with psycopg.connect(_conninfo(database_url)) as conn:
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('access_log'), 0)")
        last = conn.execute("SELECT seq, hash FROM access_log ORDER BY seq DESC LIMIT 1").fetchone()
        seq, prev = (last[0] + 1, last[1]) if last else (1, access_log.GENESIS)
        with conn.cursor().copy(f"COPY access_log ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            for row in _rows(seq, prev, count, cases, users, rng):
                copy.write_row(row)
        # The users exist, so `?user=` finds them by id or e-mail as it finds anyone.
        conn.execute(
            "INSERT INTO app_user (id, name, email, roles, token_hash, active, created_at) "
            "SELECT id, 'Bench ' || left(id, 8), id || '@bench.invalid', ARRAY['officer'], md5(id) || md5('t' || id), "
            "true, now() FROM unnest(%s::text[]) AS id ON CONFLICT DO NOTHING",
            (users,),
        )
        conn.commit()
    return time.monotonic() - began


def settle(database_url: str) -> float:
    """What autovacuum and the checkpointer would have done long before a trail grew this big: hint bits and the
    visibility map set, statistics gathered, the pages written out. (Without it the first queries after a bulk
    load dirty each page they touch, and the next append's commit flushes that WAL.)"""
    began = time.monotonic()
    with psycopg.connect(_conninfo(database_url), autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE) access_log")
        conn.execute("VACUUM (ANALYZE) app_user")
        conn.execute("CHECKPOINT")
    return time.monotonic() - began


def plans(database_url: str, case_id: str, user_id: str) -> dict:
    """The database's own time for one case's and one user's page of entries, and how it found them."""
    found = {}
    with psycopg.connect(_conninfo(database_url)) as conn:
        for name, column, value in (("case", "case_id", case_id), ("user", "user_id", user_id)):
            plan = conn.execute(
                f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) SELECT * FROM access_log WHERE {column} = %s "
                "ORDER BY at, seq LIMIT 501",
                (value,),
            ).fetchone()[0][0]
            node = plan["Plan"]
            while node.get("Plans") and node["Node Type"] in ("Limit", "Sort", "Incremental Sort"):
                node = node["Plans"][0]
            found[name] = {
                "execution_ms": round(plan["Execution Time"], 2),
                "rows": plan["Plan"]["Actual Rows"],
                "scan": f"{node['Node Type']} on {node.get('Index Name', node.get('Relation Name'))}",
                "buffers_hit": node.get("Shared Hit Blocks"),
                "buffers_read": node.get("Shared Read Blocks"),
            }
    return found


async def timed(http: httpx.AsyncClient, token: str, paths: list[str], expect_items: bool = False) -> list[float]:
    seconds = []
    for path in paths:
        began = time.monotonic()
        response = await http.get(path, headers={"Authorization": f"Bearer {token}"})
        seconds.append(time.monotonic() - began)
        if response.status_code != 200 or expect_items and not response.json()["items"]:
            raise RuntimeError(f"GET {path} answered {response.status_code}: {response.text[:500]}")
    return seconds


async def case_reads(on: httpx.AsyncClient, off: httpx.AsyncClient, token: str, case_id: str, reads: int) -> dict:
    """The same case read through both API processes, in turn, so drift falls on both alike."""
    path = f"/incidents/{case_id}"
    await timed(on, token, [path] * 20)
    await timed(off, token, [path] * 20)
    samples: dict[str, list[float]] = {"on": [], "off": []}
    for _ in range(reads):
        samples["on"] += await timed(on, token, [path])
        samples["off"] += await timed(off, token, [path])
    on_ms, off_ms = percentiles(samples["on"]), percentiles(samples["off"])
    return {
        "trail_on_ms": on_ms,
        "trail_off_ms": off_ms,
        "ratio_p50": round(on_ms["p50"] / off_ms["p50"], 2),
        "ratio_p99": round(on_ms["p99"] / off_ms["p99"], 2),
    }


async def appends(database_url: str, count: int) -> dict:
    """An append alone, from this process: what the trail adds to a read, less the request around it."""
    engine = async_engine(database_url)
    sessions = session_factory(engine)
    seconds = []
    try:
        for n in range(count):
            entry = AccessEntry(
                at=datetime.now(UTC),
                action="bench_append",
                outcome="allowed",
                component="api",
                client="127.0.0.1",
                user_id="bench",
                user_name="Bench",
                details={"n": n},
            )
            began = time.monotonic()
            await access_log.append(sessions, entry)
            seconds.append(time.monotonic() - began)
    finally:
        await engine.dispose()
    return percentiles(seconds)


async def _start_api_without_trail(stack: Stack) -> tuple:
    port = procs.free_port()
    env = {**stack.env(), "REFERRALS_ACCESS_TRAIL": "false"}
    proc = procs.spawn(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "referrals.api.main:create_app",
            "--no-access-log",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env=env,
        cwd=ROOT,
        log_file=stack.log_dir / "api-trail-off.log",
    )
    url = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient(base_url=url) as http:
        for _ in range(300):
            if proc.poll() is not None:
                raise RuntimeError(f"the second API exited ({proc.returncode}); see {stack.log_dir}")
            try:
                if (await http.get("/healthz")).status_code == 200:
                    return proc, url
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise TimeoutError("the second API did not start")


async def measure(
    stack: Stack,
    on_url: str,
    off_url: str,
    case_id: str,
    cases: list[str],
    users: list[str],
    queries: int,
    reads: int,
    rng: random.Random,
) -> dict:
    token = stack.tokens["auditor"]
    found: dict = {}
    async with (
        httpx.AsyncClient(base_url=on_url, timeout=60) as on,
        httpx.AsyncClient(base_url=off_url, timeout=60) as off,
    ):
        await timed(on, token, [f"/access-log?case={c}" for c in rng.sample(cases, min(10, len(cases)))])  # warm up
        found["case_entries_ms"] = percentiles(
            await timed(on, token, [f"/access-log?case={rng.choice(cases)}" for _ in range(queries)], expect_items=True)
        )
        found["user_entries_ms"] = percentiles(
            await timed(on, token, [f"/access-log?user={rng.choice(users)}" for _ in range(queries)], expect_items=True)
        )
        sample = await on.get(f"/access-log?case={cases[0]}", headers={"Authorization": f"Bearer {token}"})
        found["entries_per_case_sample"] = len(sample.json()["items"])
        found["case_read"] = await case_reads(on, off, token, case_id, reads)
    found["append_alone_ms"] = await appends(stack.database_url, min(reads, 200))
    return found


async def main_async(sizes: list[int], queries: int, reads: int) -> dict:
    rng = random.Random(5411)
    report: dict = {
        "sizes": sizes,
        "queries_per_measure": queries,
        "case_reads_per_instance": reads,
        "machine_cpus": psutil.cpu_count(),
        "results": [],
    }
    async with Stack.started() as stack:
        off_proc, off_url = await _start_api_without_trail(stack)
        try:
            async with httpx.AsyncClient(base_url=stack.api_url, timeout=60) as http:
                filed = await http.post(
                    "/incidents", json=FILING, headers={"Authorization": f"Bearer {stack.tokens['officer']}"}
                )
                if filed.status_code != 201:
                    raise RuntimeError(f"filing answered {filed.status_code}: {filed.text[:500]}")
                case_id = filed.json()["id"]
            cases: list[str] = []
            users: list[str] = []
            seeded = 0
            for size in sizes:
                cases += [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(size // 50 - len(cases))]
                users += [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(size // 100 - len(users))]
                seconds = await asyncio.to_thread(seed, stack.database_url, size - seeded, cases, users, size)
                settled = await asyncio.to_thread(settle, stack.database_url)
                seeded = size
                result = {
                    "entries": size,
                    "cases": len(cases),
                    "users": len(users),
                    "seed_seconds": round(seconds, 1),
                    "vacuum_seconds": round(settled, 1),
                    **await measure(stack, stack.api_url, off_url, case_id, cases, users, queries, reads, rng),
                    "database_plans": await asyncio.to_thread(
                        plans, stack.database_url, rng.choice(cases), rng.choice(users)
                    ),
                }
                report["results"].append(result)
            report["chain_verify_seconds"] = await _verify_seconds(stack.database_url)
        finally:
            procs.stop(off_proc)
    report["targets"] = targets(report["results"])
    return report


async def _verify_seconds(database_url: str) -> dict:
    engine = async_engine(database_url)
    try:
        began = time.monotonic()
        broken = await access_log.verify(session_factory(engine))
        return {"seconds": round(time.monotonic() - began, 1), "intact": broken is None}
    finally:
        await engine.dispose()


def targets(results: list[dict]) -> dict:
    first, last = results[0], results[-1]
    p99 = {name: last[f"{name}_entries_ms"]["p99"] for name in ("case", "user")}
    growth = {
        name: round(last[f"{name}_entries_ms"]["p99"] / first[f"{name}_entries_ms"]["p99"], 2)
        for name in ("case", "user")
    }
    ratio = last["case_read"]["ratio_p50"]
    return {
        f"entries_p99_under_{TARGETS['entries_p99_ms']:.0f}ms_at_{last['entries']}": {
            "case_p99_ms": p99["case"],
            "user_p99_ms": p99["user"],
            "ok": all(v < TARGETS["entries_p99_ms"] for v in p99.values()),
        },
        f"p99_at_{last['entries']}_within_{TARGETS['growth']:.0f}x_of_{first['entries']}": {
            **{f"{name}_ratio": value for name, value in growth.items()},
            "ok": all(v <= TARGETS["growth"] for v in growth.values()),
        },
        f"case_read_trail_on_over_off_p50_at_most_{TARGETS['trail_on_over_off']}": {
            "ratio_p50": ratio,
            "ratio_p99": last["case_read"]["ratio_p99"],
            "ok": ratio <= TARGETS["trail_on_over_off"],
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,1000000", help="entry counts to measure at, ascending")
    parser.add_argument("--queries", type=int, default=200, help="queries of each kind per size")
    parser.add_argument("--reads", type=int, default=200, help="case reads per API process per size")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(json.dumps(asyncio.run(main_async(sizes, args.queries, args.reads)), indent=2))


if __name__ == "__main__":
    main()
