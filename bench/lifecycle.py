"""Benchmark: whole referral lifecycles through the HTTP API (the product), beside two floors, on the same
Temporal server, in one run: the Temporal floor straight through the Temporal SDK (bench/floor.py: the same
start and eight updates, each running one empty activity and nothing else), and the service floor
(bench/service_floor.py: the least a service with the product's parts can cost: a FastAPI app under uvicorn
that authenticates each request with one indexed PostgreSQL query and sends the same update, whose handler
runs one activity inserting one row; on the same PostgreSQL server).

    .venv/bin/python -m bench.lifecycle --cases 60 --concurrency 10
    .venv/bin/python -m bench.lifecycle --api http://127.0.0.1:8000 --temporal 127.0.0.1:7233 \\
        --tokens var/demo-users.json          # against `make run`'s stack instead of a throw-away one
        # (the service floor then only with --database-url, a database URL of that stack's PostgreSQL server)

Prints JSON: each phase's cases/s and p50/p99 milliseconds per operation (API requests; SDK updates);
for a stack it started, each process's CPU seconds and peak RSS over each phase (the product: API,
worker, Temporal server, PostgreSQL and this process's HTTP clients; the floor: the Temporal server
and this process, which runs the floor's worker and SDK client; the service floor: its app, its worker,
the Temporal server, PostgreSQL and this process's HTTP clients) and CPU seconds per case, per process
and in total, with the product/floor and product/service-floor ratios of the totals
(`cpu_seconds_per_case.{product,floor,service_floor}.total`, `.ratio`, `.service_floor_ratio`); each
step's p50 in all three by the floor's update names, the filing ("filing_recorded") included
(`round_trip_p50_ms.{product,floor,service_floor}[STEP]`); and the three targets, against the
Temporal floor (`targets`) and against the service floor (`service_floor_targets`), each with what was
measured and whether it is met:
- each step's round trip through the API (p50) within 1.3x the floor's p50 of the same update, the
  filing included (stated for concurrency 1);
- throughput, product/floor, at least 0.5 (stated for concurrency 10);
- the product's CPU seconds per case at most twice the floor's (null against `make run`'s stack,
  whose processes are not measured).
Each target names the concurrency it was measured at, whatever `--concurrency` was.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import psutil
from temporalio.client import Client, WithStartWorkflowOperation
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.worker import Worker

from bench.floor import UPDATES, FloorWorkflow, nothing
from bench.people import STEPS as PATHS
from bench.people import Answers, People
from bench.service_floor import WHO, ServiceFloor
from bench.stack import Stack

# `make run`'s demo roles, as bench/people.py names the people of the scenario.
DEMO_ROLES = {
    "officer": "officer",
    "evidence_custodian": "custodian",
    "legal_reviewer": "reviewer",
    "command": "commander",
    "prosecutor_liaison": "liaison",
    "auditor": "auditor",
}

# Each operation of the API phase and the floor's update it is compared with.
FLOOR_UPDATE = {"file": UPDATES[0]} | {path: path for path, *_ in PATHS}
assert tuple(FLOOR_UPDATE.values()) == UPDATES, "bench/floor.py's steps are bench/people.py's, in order"
assert WHO == {UPDATES[0]: "officer"} | {path: who for path, who, *_ in PATHS}, "the service floor's people are theirs"

# The targets (issue 13).
ROUND_TRIP_AT_MOST = 1.3  # each step's API p50 over the floor's, at concurrency 1
THROUGHPUT_AT_LEAST = 0.5  # cases/s, product over floor, at concurrency 10
CPU_AT_MOST = 2.0  # CPU seconds per case, product over floor


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return {"p50": round(statistics.median(ordered) * 1000, 1), "p99": round(p99 * 1000, 1), "n": len(ordered)}


class Usage:
    """CPU seconds and peak RSS of the stack's processes over a phase, sampled four times a second,
    and the CPU seconds of this process ("bench"): the HTTP clients, or the SDK's client and the
    floor's worker."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.processes = {name: psutil.Process(pid) for name, pid in pids.items()}
        self.peak = dict.fromkeys(self.processes, 0)
        self.cpu: dict[str, float] = {}

    @asynccontextmanager
    async def measured(self):
        before = {name: _cpu(p) for name, p in self.processes.items()}
        bench_before = time.process_time()  # every thread of this process, not its children (the stack)
        sampler = asyncio.create_task(self._sample())
        try:
            yield self
        finally:
            sampler.cancel()
            self.cpu = {name: round(_cpu(p) - before[name], 3) for name, p in self.processes.items()}
            self.cpu["bench"] = round(time.process_time() - bench_before, 3)

    async def _sample(self) -> None:
        while True:
            for name, process in self.processes.items():
                self.peak[name] = max(self.peak[name], _rss(process))
            await asyncio.sleep(0.25)

    def summary(self) -> dict:
        return {
            name: {"cpu_seconds": seconds}
            | ({"peak_rss_mib": round(self.peak[name] / 2**20, 1)} if name in self.peak else {})
            for name, seconds in self.cpu.items()
        }

    def per_case(self, cases: int) -> dict[str, float]:
        """Each process's CPU seconds per case, and their sum."""
        each = {name: round(seconds / cases, 3) for name, seconds in self.cpu.items()}
        return each | {"total": round(sum(each.values()), 3)}


def _cpu(process: psutil.Process) -> float:
    """The process and its children (uvicorn and the worker run in their own process groups)."""
    total = sum(process.cpu_times()[:2])
    for child in process.children(recursive=True):
        total += sum(child.cpu_times()[:2])
    return total


def _rss(process: psutil.Process) -> int:
    return process.memory_info().rss + sum(c.memory_info().rss for c in process.children(recursive=True))


async def _timed(
    usage: Usage | None, phase: Callable[[], Awaitable[object]], tail: Callable[[], Awaitable[object]] | None = None
) -> float:
    """Seconds the phase took, its processes' usage measured meanwhile and during its `tail` (the work a phase leaves
    running when its last answer comes: the product's documents and e-mails), which the seconds do not count."""
    started = time.monotonic()
    if usage:
        async with usage.measured():
            await phase()
            seconds = time.monotonic() - started
            if tail:
                await tail()
        return seconds
    await phase()
    return time.monotonic() - started


def _phase(cases: int, seconds: float, ms: dict) -> dict:
    return {"seconds": round(seconds, 2), "cases_per_second": round(cases / seconds, 3), "ms": ms}


async def through_the_api(people: People, cases: int, concurrency: int, usage: Usage | None) -> dict:
    gate = asyncio.Semaphore(concurrency)
    run = f"bench-{uuid.uuid4().hex[:8]}"

    filed: list[str] = []

    async def one(n: int) -> None:
        async with gate:
            filed.append(await people.lifecycle(n, run))

    async def done() -> None:
        started = time.monotonic()
        await people.until_done(filed)
        tail["seconds"] = round(time.monotonic() - started, 2)

    # Its CPU counts until every case's workflow has completed: each document made and recorded, the packet e-mailed.
    tail: dict[str, float] = {}
    seconds = await _timed(usage, lambda: asyncio.gather(*(one(n) for n in range(cases))), done if usage else None)
    phase = _phase(cases, seconds, {op: percentiles(s) for op, s in people.answers.seconds.items() if op != "read"})
    return phase | ({"tail_seconds": tail["seconds"]} if tail else {})


async def through_the_sdk(client: Client, cases: int, concurrency: int, usage: Usage | None) -> dict:
    """The floor's lifecycles; `workflow_id` names one of them, for reading its history."""
    queue = f"floor-{uuid.uuid4().hex[:8]}"
    timings: dict[str, list[float]] = {update: [] for update in UPDATES}
    gate = asyncio.Semaphore(concurrency)

    async def one(n: int) -> None:
        async with gate:
            start = WithStartWorkflowOperation(
                FloorWorkflow.run, id=f"{queue}-{n}", task_queue=queue, id_conflict_policy=WorkflowIDConflictPolicy.FAIL
            )
            began = time.monotonic()
            await client.execute_update_with_start_workflow(
                FloorWorkflow.step, UPDATES[0], start_workflow_operation=start
            )
            timings[UPDATES[0]].append(time.monotonic() - began)
            handle = await start.workflow_handle()
            for update in UPDATES[1:]:
                began = time.monotonic()
                await handle.execute_update(FloorWorkflow.step, update)
                timings[update].append(time.monotonic() - began)

    async def lifecycles() -> None:
        async with Worker(client, task_queue=queue, workflows=[FloorWorkflow], activities=[nothing]):
            await asyncio.gather(*(one(n) for n in range(cases)))

    seconds = await _timed(usage, lifecycles)
    return _phase(cases, seconds, {update: percentiles(s) for update, s in timings.items()}) | {
        "workflow_id": f"{queue}-0"
    }


async def through_the_service_floor(
    service_floor: ServiceFloor, tokens: dict[str, str], cases: int, concurrency: int, usage: Usage | None
) -> dict:
    """The service floor's lifecycles through its app, each request timed by the floor's update it sends."""
    timings: dict[str, list[float]] = {update: [] for update in UPDATES}
    gate = asyncio.Semaphore(concurrency)
    headers = {update: {"Authorization": f"Bearer {tokens[who]}"} for update, who in WHO.items()}
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    ids: list[str] = []

    async def send(http: httpx.AsyncClient, path: str, update: str) -> dict:
        began = time.monotonic()
        response = await http.post(path, headers=headers[update])
        if response.status_code not in (200, 201):
            raise RuntimeError(f"the service floor answered {path} with {response.status_code}: {response.text}")
        timings[update].append(time.monotonic() - began)
        return response.json()

    async def one(http: httpx.AsyncClient) -> None:
        async with gate:
            case_id = (await send(http, "/cases", UPDATES[0]))["id"]
            ids.append(case_id)
            for update in UPDATES[1:]:
                await send(http, f"/cases/{case_id}/{update}", update)

    async def lifecycles() -> None:
        async with httpx.AsyncClient(base_url=service_floor.url, timeout=60.0, limits=limits) as http:
            await asyncio.gather(*(one(http) for _ in range(cases)))

    seconds = await _timed(usage, lifecycles)
    written = await asyncio.to_thread(lambda: sum(service_floor.rows(case_id) for case_id in ids))
    return _phase(cases, seconds, {update: percentiles(s) for update, s in timings.items()}) | {
        "workflow_id": ids[0],
        "rows_written": written,
    }


def round_trips(product: dict, floor: dict, service_floor: dict | None) -> dict:
    """Each step's p50 in milliseconds, by the floor's update names (the product's filing is "filing_recorded")."""
    return {
        "product": {update: product["ms"][operation]["p50"] for operation, update in FLOOR_UPDATE.items()},
        "floor": {update: floor["ms"][update]["p50"] for update in UPDATES},
        "service_floor": service_floor and {update: service_floor["ms"][update]["p50"] for update in UPDATES},
    }


def targets(product: dict, floor: dict, concurrency: int, cpu: dict | None, against: str = "floor") -> dict:
    """The issue's three targets, each with what was measured and whether it is met (computed from the
    figures as reported, so each can be checked against them), against the floor `against` names ("floor":
    the Temporal floor; "service_floor")."""
    steps = {}
    for operation, update in FLOOR_UPDATE.items():
        api_p50, floor_p50 = product["ms"][operation]["p50"], floor["ms"][update]["p50"]
        ratio = round(api_p50 / floor_p50, 2)
        steps[operation] = {
            "api_p50_ms": api_p50,
            "floor_p50_ms": floor_p50,
            "ratio": ratio,
            "ok": ratio <= ROUND_TRIP_AT_MOST,
        }
    throughput = round(product["cases_per_second"] / floor["cases_per_second"], 2)
    ratio_key = "ratio" if against == "floor" else f"{against}_ratio"
    cpu_ratio = cpu[ratio_key] if cpu else None
    return {
        "round_trip_p50_within_1.3x_of_the_floor_at_concurrency_1": {
            "concurrency": concurrency,
            "steps": steps,
            "all_steps_within_1.3x": all(step["ok"] for step in steps.values()),
        },
        "throughput_ratio_at_least_0.5_at_concurrency_10": {
            "concurrency": concurrency,
            "product_cases_per_second": product["cases_per_second"],
            "floor_cases_per_second": floor["cases_per_second"],
            "ratio": throughput,
            "ok": throughput >= THROUGHPUT_AT_LEAST,
        },
        "cpu_seconds_per_case_at_most_2x_the_floor": {
            "concurrency": concurrency,
            "product": cpu and cpu["product"]["total"],
            "floor": cpu and cpu[against]["total"],
            "ratio": cpu_ratio,
            "ok": None if cpu_ratio is None else cpu_ratio <= CPU_AT_MOST,
        },
    }


async def measure(
    api_url: str,
    temporal_address: str,
    tokens: dict[str, str],
    cases: int,
    concurrency: int,
    pids: dict[str, int] | None,
    database_url: str | None = None,
    log_dir: Path | None = None,
) -> dict:
    """The product, the Temporal floor and, given the database URL of the stack's PostgreSQL server, the service
    floor, one after another (each after a warm-up of `concurrency` cases)."""
    warmup = min(cases, concurrency)
    people = People(api_url, tokens, temporal_address, Answers())
    await through_the_api(people, warmup, concurrency, None)
    people.answers = Answers()
    product_usage = Usage(pids) if pids else None
    product = await through_the_api(people, cases, concurrency, product_usage)
    await people.aclose()

    client = await Client.connect(temporal_address)
    await through_the_sdk(client, warmup, concurrency, None)
    floor_usage = Usage({"temporal": pids["temporal"]}) if pids else None
    floor = await through_the_sdk(client, cases, concurrency, floor_usage)

    service_floor = service_floor_usage = None
    if database_url:
        async with ServiceFloor.started(database_url, temporal_address, tokens, log_dir) as started:
            await through_the_service_floor(started, tokens, warmup, concurrency, None)
            if pids:
                service_floor_usage = Usage(started.pids() | {name: pids[name] for name in ("temporal", "postgres")})
            service_floor = await through_the_service_floor(started, tokens, cases, concurrency, service_floor_usage)

    cpu = None
    if product_usage and floor_usage:
        # Once the cores are the limit, throughput is cores / CPU seconds per case, so the throughput
        # ratio cannot exceed the inverse of this one.
        cpu = {"product": product_usage.per_case(cases), "floor": floor_usage.per_case(cases)}
        cpu["ratio"] = round(cpu["product"]["total"] / cpu["floor"]["total"], 2)
        if service_floor_usage:
            cpu["service_floor"] = service_floor_usage.per_case(cases)
            cpu["service_floor_ratio"] = round(cpu["product"]["total"] / cpu["service_floor"]["total"], 2)
    return {
        "cases": cases,
        "concurrency": concurrency,
        "machine_cpus": psutil.cpu_count(),
        "product": product,
        "floor": floor,
        "service_floor": service_floor,
        "processes": {
            "product": product_usage and product_usage.summary(),
            "floor": floor_usage and floor_usage.summary(),
            "service_floor": service_floor_usage and service_floor_usage.summary(),
        },
        "cpu_seconds_per_case": cpu,
        "round_trip_p50_ms": round_trips(product, floor, service_floor),
        "targets": targets(product, floor, concurrency, cpu),
        "service_floor_targets": service_floor
        and targets(
            product, service_floor, concurrency, cpu if cpu and "service_floor" in cpu else None, "service_floor"
        ),
    }


async def main_async(args: argparse.Namespace) -> dict:
    if args.api:
        users = json.loads(Path(args.tokens).read_text())
        tokens = {DEMO_ROLES[user["role"]]: user["token"] for user in users if user["role"] in DEMO_ROLES}
        return await measure(
            args.api, args.temporal, tokens, args.cases, args.concurrency, None, database_url=args.database_url
        )
    async with Stack.started() as stack:
        return await measure(
            stack.api_url,
            stack.temporal_address,
            stack.tokens,
            args.cases,
            args.concurrency,
            stack.pids(),
            database_url=stack.database_url,
            log_dir=stack.log_dir,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=60)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--api", help="a running API (default: start a throw-away stack)")
    parser.add_argument("--temporal", default="127.0.0.1:7233", help="its Temporal server, with --api")
    parser.add_argument("--tokens", default="var/demo-users.json", help="make run's demo users, with --api")
    parser.add_argument(
        "--database-url", help="with --api: its PostgreSQL server (DATABASE_URL), to measure the service floor there"
    )
    print(json.dumps(asyncio.run(main_async(parser.parse_args())), indent=2))


if __name__ == "__main__":
    main()
