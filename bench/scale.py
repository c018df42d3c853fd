"""Scale: seed open cases straight through the Temporal SDK (each workflow stores itself through the
worker's activity, as a filing does) and measure, at each size, what people and operators would
feel: listing with each filter, reading one case, `referrals stuck`, and the memory of the worker
holding every case on a timer.

    .venv/bin/python -m bench.scale --sizes 1000,10000

Prints JSON: per size, p50/p99 milliseconds per request, the stuck command's seconds, RSS of the
worker and of the Temporal server, and how each figure grew from the first size to the last.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import random
import statistics
import subprocess
import sys
import time
import uuid

import httpx
import psutil
from sqlalchemy import text

from bench.lifecycle import percentiles
from bench.stack import Stack
from referrals.config import ROOT, Settings
from referrals.domain.case import IncidentInput, workflow_id_for
from referrals.domain.messages import Actor, IncidentFiling
from referrals.domain.policy import load_policy
from referrals.store.engine import async_engine
from referrals.temporal_client import connect
from referrals.workflows.incident import IncidentWorkflow
from tests.support.scenario import FILING

DISTRICTS = [f"{n:03d}" for n in range(1, 26)]
# (who asks, query): every filter of GET /incidents, and a supervisor whose visibility narrows it.
LISTINGS = {
    "all": ("auditor", ""),
    "stage": ("auditor", "stage=investigation"),
    "task": ("auditor", "task=violation_report"),
    "district": ("auditor", "district=010"),
    "overdue": ("auditor", "overdue=true"),
    "supervisor_visibility": ("supervisor", ""),
    # Full-text search (issue 14): a word in every case (the worst case: every case ranked), one case's
    # OEMC event number, a word with a date range and a filter.
    "search_every_case": ("auditor", "q=bystander"),
    "search_event_number": ("auditor", "q=2600000042"),
    "search_word_in_range": ("auditor", "q=masked+agents&occurred_from=2026-01-01&occurred_to=2026-12-31&district=010"),
}


def _filing(n: int) -> IncidentFiling:
    body = copy.deepcopy(FILING)
    body.update(district=DISTRICTS[n % len(DISTRICTS)], event_number=f"26{n:08d}", recordings=[])
    return IncidentFiling.model_validate(body)


async def seed(stack: Stack, start: int, stop: int, concurrency: int = 50) -> float:
    """Start cases start..stop-1 and wait until PostgreSQL holds them all; returns the seconds it took."""
    settings = Settings(database_url=stack.database_url, temporal_address=stack.temporal_address, env="development")
    client = await connect(settings)
    policy = load_policy(ROOT / "policy" / "chicago.toml")
    officer = Actor(
        user_id=stack.user_ids["officer"], name="Drill officer", roles=["officer"], district="010", star="12345"
    )
    gate = asyncio.Semaphore(concurrency)
    began = time.monotonic()

    async def one(n: int) -> None:
        case_id = str(uuid.uuid4())
        inp = IncidentInput(
            case_id=case_id,
            case_number=f"SCALE-2026-{n:06d}",
            filed_by=officer,
            filing=_filing(n),
            policy=policy,
            request_hash="seeded",
        )
        async with gate:
            await client.start_workflow(
                IncidentWorkflow.run, inp, id=workflow_id_for(case_id), task_queue=settings.task_queue
            )

    await asyncio.gather(*(one(n) for n in range(start, stop)))
    engine = async_engine(stack.database_url)
    try:
        while True:
            async with engine.connect() as db:
                if (await db.execute(text("SELECT count(*) FROM incident"))).scalar_one() >= stop:
                    break
            await asyncio.sleep(1)
    finally:
        await engine.dispose()
    return time.monotonic() - began


async def timed(http: httpx.AsyncClient, token: str, paths: list[str]) -> list[float]:
    seconds = []
    for path in paths:
        began = time.monotonic()
        response = await http.get(path, headers={"Authorization": f"Bearer {token}"})
        seconds.append(time.monotonic() - began)
        if response.status_code != 200:
            raise RuntimeError(f"GET {path} answered {response.status_code}: {response.text}")
    return seconds


async def measure(stack: Stack, requests: int, stuck_runs: int = 5, settle: float = 5.0) -> dict:
    engine = async_engine(stack.database_url)
    try:
        async with engine.connect() as db:
            ids = [row[0] for row in (await db.execute(text("SELECT id FROM incident"))).all()]
    finally:
        await engine.dispose()
    found: dict = {"cases": len(ids)}
    async with httpx.AsyncClient(base_url=stack.api_url, timeout=30) as http:
        for name, (who, query) in LISTINGS.items():
            paths = [f"/incidents?{query}"] * requests
            found[f"list_{name}_ms"] = percentiles(await timed(http, stack.tokens[who], paths))
        picks = [f"/incidents/{random.choice(ids)}" for _ in range(requests)]
        found["get_case_ms"] = percentiles(await timed(http, stack.tokens["auditor"], picks))
    runs = []
    for _ in range(stuck_runs):
        began = time.monotonic()
        subprocess.run(
            [sys.executable, "-m", "referrals.cli", "stuck", "--json"],
            env=stack.env(),
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        runs.append(time.monotonic() - began)
    found["referrals_stuck_seconds"] = round(statistics.median(runs), 3)
    await asyncio.sleep(settle)  # let the worker settle: every case waits on its timer
    for name in ("worker", "temporal"):
        found[f"{name}_rss_mib"] = round(psutil.Process(stack.pids()[name]).memory_info().rss / 2**20, 1)
    return found


def growth(first: dict, last: dict) -> dict:
    figures = {}
    for key, value in first.items():
        if key == "cases" or key.startswith("seed_"):
            continue
        before, after = (value["p99"], last[key]["p99"]) if isinstance(value, dict) else (value, last[key])
        figures[key] = round(after / before, 2) if before else None
    return figures


async def main_async(sizes: list[int], requests: int, stuck_runs: int = 5, settle: float = 5.0) -> dict:
    """`stuck_runs`: how many times `referrals stuck` is timed (the median is reported); `settle`: seconds the
    worker is left before its memory is read."""
    report: dict = {"sizes": sizes, "requests_per_measure": requests, "machine_cpus": psutil.cpu_count(), "results": []}
    async with Stack.started() as stack:
        seeded = 0
        for size in sizes:
            seconds = await seed(stack, seeded, size)
            report["results"].append(
                {
                    "seed_seconds": round(seconds, 1),
                    "seed_cases_per_second": round((size - seeded) / seconds, 1),
                    **await measure(stack, requests, stuck_runs, settle),
                }
            )
            seeded = size
    report["growth_p99_first_to_last"] = growth(report["results"][0], report["results"][-1])
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000", help="case counts to measure at, ascending")
    parser.add_argument("--requests", type=int, default=200, help="requests per measured operation")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(json.dumps(asyncio.run(main_async(sizes, args.requests)), indent=2))


if __name__ == "__main__":
    main()
