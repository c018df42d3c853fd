"""Benchmark: whole referral lifecycles through the HTTP API, beside the floor of the same shape
straight through the Temporal SDK (bench/floor.py), on the same Temporal server.

    .venv/bin/python -m bench.lifecycle --cases 60 --concurrency 10
    .venv/bin/python -m bench.lifecycle --api http://127.0.0.1:8000 --temporal 127.0.0.1:7233 \\
        --tokens var/demo-users.json          # against `make run`'s stack instead of a throw-away one

Prints JSON: cases/s for both and their ratio, p50/p99 milliseconds per API operation and per SDK
update, the update round trip through the API against the SDK's own, and (for a stack it started)
CPU seconds and peak RSS of the API, the worker, the Temporal server and PostgreSQL, and the CPU
seconds per case of each phase: their quotient is the best ratio possible once the cores are the limit.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
import uuid
from contextlib import asynccontextmanager
from pathlib import Path

import psutil
from temporalio.client import Client, WithStartWorkflowOperation
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.worker import Worker

from bench.floor import STEPS, FloorWorkflow, nothing
from bench.people import Answers, People
from bench.stack import Stack

# `make run`'s demo roles, as bench/people.py names the people of the scenario.
DEMO_ROLES = {"officer": "officer", "evidence_custodian": "custodian", "legal_reviewer": "reviewer",
              "command": "commander", "prosecutor_liaison": "liaison", "auditor": "auditor"}


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return {"p50": round(statistics.median(ordered) * 1000, 1), "p99": round(p99 * 1000, 1), "n": len(ordered)}


class Usage:
    """CPU seconds and peak RSS of the stack's processes over a phase, sampled four times a second,
    and the CPU seconds of this process: the HTTP clients, or the SDK's client and the floor's worker."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.processes = {name: psutil.Process(pid) for name, pid in pids.items()}
        self.peak = dict.fromkeys(self.processes, 0)
        self.cpu_before: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        self.bench_cpu = 0.0

    @asynccontextmanager
    async def measured(self):
        self.cpu_before = {name: _cpu(p) for name, p in self.processes.items()}
        bench_before = time.process_time()  # every thread of this process, not its children (the stack)
        sampler = asyncio.create_task(self._sample())
        try:
            yield self
        finally:
            sampler.cancel()
            self.cpu = {name: round(_cpu(p) - self.cpu_before[name], 2) for name, p in self.processes.items()}
            self.bench_cpu = round(time.process_time() - bench_before, 2)

    async def _sample(self) -> None:
        while True:
            for name, process in self.processes.items():
                self.peak[name] = max(self.peak[name], _rss(process))
            await asyncio.sleep(0.25)

    def summary(self) -> dict:
        processes = {name: {"cpu_seconds": self.cpu.get(name), "peak_rss_mib": round(self.peak[name] / 2**20, 1)}
                     for name in self.processes}
        return processes | {"bench": {"cpu_seconds": self.bench_cpu}}

    def cpu_per_case(self, cases: int) -> float:
        return round((sum(self.cpu.values()) + self.bench_cpu) / cases, 3)


def _cpu(process: psutil.Process) -> float:
    """The process and its children (uvicorn and the worker run in their own process groups)."""
    total = sum(process.cpu_times()[:2])
    for child in process.children(recursive=True):
        total += sum(child.cpu_times()[:2])
    return total


def _rss(process: psutil.Process) -> int:
    return process.memory_info().rss + sum(c.memory_info().rss for c in process.children(recursive=True))


async def through_the_api(people: People, cases: int, concurrency: int, usage: Usage | None) -> dict:
    gate = asyncio.Semaphore(concurrency)
    run = f"bench-{uuid.uuid4().hex[:8]}"

    async def one(n: int) -> None:
        async with gate:
            await people.lifecycle(n, run)

    started = time.monotonic()
    if usage:
        async with usage.measured():
            await asyncio.gather(*(one(n) for n in range(cases)))
    else:
        await asyncio.gather(*(one(n) for n in range(cases)))
    seconds = time.monotonic() - started
    return {"seconds": round(seconds, 2), "cases_per_second": round(cases / seconds, 2),
            "ms": {op: percentiles(s) for op, s in people.answers.seconds.items() if op != "read"}}


async def through_the_sdk(client: Client, cases: int, concurrency: int) -> dict:
    queue = f"floor-{uuid.uuid4().hex[:8]}"
    timings: dict[str, list[float]] = {step: [] for step in ["filing_recorded", *STEPS]}
    gate = asyncio.Semaphore(concurrency)

    async def one(n: int) -> None:
        async with gate:
            start = WithStartWorkflowOperation(FloorWorkflow.run, id=f"{queue}-{n}", task_queue=queue,
                                               id_conflict_policy=WorkflowIDConflictPolicy.FAIL)
            began = time.monotonic()
            await client.execute_update_with_start_workflow(FloorWorkflow.step, "filing_recorded",
                                                            start_workflow_operation=start)
            timings["filing_recorded"].append(time.monotonic() - began)
            handle = await start.workflow_handle()
            for step in STEPS:
                began = time.monotonic()
                await handle.execute_update(FloorWorkflow.step, step)
                timings[step].append(time.monotonic() - began)

    async with Worker(client, task_queue=queue, workflows=[FloorWorkflow], activities=[nothing]):
        started = time.monotonic()
        await asyncio.gather(*(one(n) for n in range(cases)))
        seconds = time.monotonic() - started
    return {"seconds": round(seconds, 2), "cases_per_second": round(cases / seconds, 2),
            "ms": {step: percentiles(s) for step, s in timings.items()}}


def compare(api: dict, sdk: dict) -> dict:
    """The update round trip: each step's p50 through the API against the same update's p50 in the SDK."""
    steps = {step: round(api["ms"][step]["p50"] / sdk["ms"][step]["p50"], 2) for step in STEPS}
    api_p50 = statistics.mean(api["ms"][step]["p50"] for step in STEPS)
    sdk_p50 = statistics.mean(sdk["ms"][step]["p50"] for step in STEPS)
    return {"api_p50_ms": round(api_p50, 1), "sdk_p50_ms": round(sdk_p50, 1), "ratio": round(api_p50 / sdk_p50, 2),
            "ratio_by_step": steps}


async def measure(api_url: str, temporal_address: str, tokens: dict[str, str], cases: int, concurrency: int,
                  pids: dict[str, int] | None) -> dict:
    warmup = min(cases, concurrency)
    people = People(api_url, tokens, temporal_address, Answers())
    await through_the_api(people, warmup, concurrency, None)
    people.answers = Answers()
    usage = Usage(pids) if pids else None
    api = await through_the_api(people, cases, concurrency, usage)
    await people.aclose()

    client = await Client.connect(temporal_address)
    await through_the_sdk(client, warmup, concurrency)
    server = Usage({"temporal": pids["temporal"]}) if pids else None
    if server:
        async with server.measured():
            sdk = await through_the_sdk(client, cases, concurrency)
    else:
        sdk = await through_the_sdk(client, cases, concurrency)
    ratio = round(api["cases_per_second"] / sdk["cases_per_second"], 2)
    round_trip = compare(api, sdk)
    # Once the cores are the limit, throughput is cores / CPU seconds per case, so the ratio cannot
    # exceed the floor's CPU per case over the product's: what the product's own work leaves.
    cpu = {"api": usage.cpu_per_case(cases), "sdk": server.cpu_per_case(cases)} if usage and server else None
    return {
        "cases": cases, "concurrency": concurrency, "machine_cpus": psutil.cpu_count(),
        "api": api, "sdk": sdk, "throughput_ratio": ratio, "update_round_trip": round_trip,
        "processes": {"api_phase": usage.summary() if usage else None,
                      "sdk_phase": server.summary() if server else None},
        "cpu_seconds_per_case": cpu and cpu | {"ratio_when_cpu_bound": round(cpu["sdk"] / cpu["api"], 2)},
        "targets": {"throughput_ratio_at_least_0.7": ratio >= 0.7,
                    "update_round_trip_at_most_1.5x": round_trip["ratio"] <= 1.5},
    }


async def main_async(args: argparse.Namespace) -> dict:
    if args.api:
        users = json.loads(Path(args.tokens).read_text())
        tokens = {DEMO_ROLES[user["role"]]: user["token"] for user in users if user["role"] in DEMO_ROLES}
        return await measure(args.api, args.temporal, tokens, args.cases, args.concurrency, None)
    async with Stack.started() as stack:
        return await measure(stack.api_url, stack.temporal_address, stack.tokens, args.cases, args.concurrency,
                             stack.pids())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=60)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--api", help="a running API (default: start a throw-away stack)")
    parser.add_argument("--temporal", default="127.0.0.1:7233", help="its Temporal server, with --api")
    parser.add_argument("--tokens", default="var/demo-users.json", help="make run's demo users, with --api")
    print(json.dumps(asyncio.run(main_async(parser.parse_args())), indent=2))


if __name__ == "__main__":
    main()
