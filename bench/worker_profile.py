"""Where the worker's CPU goes, by activity kind: the product's lifecycles through the API (as in
bench/lifecycle.py) with py-spy sampling the worker process and its document maker's (only the thread holding the
GIL, so samples are Python's CPU time), bucketed by what the sampled stack is doing, until every case has completed.

    .venv/bin/pip install py-spy      # not a dependency of the project: a profiler, for this benchmark
    .venv/bin/python -m bench.worker_profile --cases 60 --concurrency 10

Prints JSON, for the worker and for the document maker: CPU seconds per case (psutil) and, per case, the seconds of
Python time in each activity kind (making documents, `generate_document`, the maker's included; persist_case_events,
deliver_document, notify_escalation), in workflow activations (the sandboxed workflow code and the SDK's activation
handling), in payload conversion and the encryption codec, in the database driver (SQLAlchemy and psycopg, for the
writes and the documents' reads), in the SDK's polling and the event loop, and elsewhere; what is left of each
process's CPU is outside Python (the SDK's Rust core, gRPC, PostgreSQL's driver in C).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import psutil

from bench import lifecycle
from bench.people import Answers, People
from bench.stack import Stack

RATE = 100  # samples per second
# The first rule whose marker appears in a sampled stack names its part.
PARTS = (
    # The presenters and render (the maker's and, for cases started before it, the activity's).
    ("generate_document", ("DocumentWriter.", "(referrals/documents/", "DocumentMaker.")),
    ("persist_case_events", ("CaseStore.persist_events", "persist_events (referrals/store/cases.py")),
    ("deliver_document", ("Notifier.deliver_document",)),
    ("notify_escalation", ("Notifier.notify",)),
    ("payload_conversion_and_codec", ("PayloadVisitor", "EncryptionCodec", "converter.py", "codec.py")),
    (
        "workflow_activations",
        ("_WorkflowWorker._handle_activation", "_WorkflowInstanceImpl", "_runner.py", "workflows/incident.py"),
    ),
    # SQLAlchemy's async layer runs its statements in greenlets whose stacks lack the activity's frames.
    ("database_driver", ("(sqlalchemy/", "(psycopg/", "(psycopg_pool/")),
    ("sdk_polling_and_event_loop", ("(temporalio/", "(asyncio/")),
)


def part_of(stack: str) -> str:
    for part, markers in PARTS:
        if any(marker in stack for marker in markers):
            return part
    return "other_python"


def bucket(raw: Path) -> Counter:
    samples = Counter()
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if stack:
            samples[part_of(stack)] += int(count)
    return samples


def _spy(spy: str, pid: int, raw: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [spy, "record", "--gil", "--nonblocking", "-r", str(RATE), "-f", "raw", "-o", str(raw), "-p", str(pid)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _processes(stack: Stack) -> tuple[psutil.Process, psutil.Process | None]:
    """The worker's Python process, and its document maker's (multiprocessing's resource tracker aside)."""
    spawned = psutil.Process(stack.pids()["worker"])
    worker = next(
        p for p in [spawned, *spawned.children(recursive=True)] if "referrals.worker" in " ".join(p.cmdline())
    )
    maker = next((p for p in worker.children() if "resource_tracker" not in " ".join(p.cmdline())), None)
    return worker, maker


async def profile(cases: int, concurrency: int) -> dict:
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(spy).exists():
        raise SystemExit("bench.worker_profile needs py-spy: .venv/bin/pip install py-spy")
    folder = Path(tempfile.mkdtemp())
    async with Stack.started() as stack:
        people = People(stack.api_url, stack.tokens, stack.temporal_address, Answers())
        await lifecycle.through_the_api(people, concurrency, concurrency, None)  # warm-up
        worker, maker = _processes(stack)
        profiled = {"worker": worker} | ({"document_maker": maker} if maker else {})
        samplers = {name: _spy(spy, p.pid, folder / f"{name}.txt") for name, p in profiled.items()}
        await asyncio.sleep(1.0)  # py-spy attached
        before = {name: sum(p.cpu_times()[:2]) for name, p in profiled.items()}
        gate, run_id = asyncio.Semaphore(concurrency), "profile"

        async def one(n: int) -> str:
            async with gate:
                return await people.lifecycle(n, run_id)

        started = time.monotonic()
        filed = await asyncio.gather(*(one(n) for n in range(cases)))
        seconds = time.monotonic() - started
        await people.until_done(list(filed))  # the documents made and recorded, the packets e-mailed
        cpu = {name: sum(p.cpu_times()[:2]) - before[name] for name, p in profiled.items()}
        for sampler in samplers.values():
            sampler.send_signal(signal.SIGINT)
            sampler.wait(timeout=30)
        await people.aclose()
    report: dict = {"cases": cases, "concurrency": concurrency, "cases_per_second": round(cases / seconds, 3)}
    for name in profiled:
        samples = bucket(folder / f"{name}.txt")
        in_python = sum(samples.values()) / RATE / cases
        report[name] = {
            "cpu_seconds_per_case": round(cpu[name] / cases, 4),
            "python_seconds_per_case": {part: round(n / RATE / cases, 4) for part, n in samples.most_common()},
            "outside_python_seconds_per_case": round(cpu[name] / cases - in_python, 4),
        }
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=60)
    parser.add_argument("--concurrency", type=int, default=10)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(profile(args.cases, args.concurrency)), indent=2))


if __name__ == "__main__":
    main()
