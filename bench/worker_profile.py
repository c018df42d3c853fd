"""Where the worker's CPU goes, by activity kind: the product's lifecycles through the API (as in
bench/lifecycle.py) with py-spy sampling the worker process (only the thread holding the GIL, so
samples are Python's CPU time), bucketed by what the sampled stack is doing.

    .venv/bin/pip install py-spy      # not a dependency of the project: a profiler, for this benchmark
    .venv/bin/python -m bench.worker_profile --cases 60 --concurrency 10

Prints JSON: the worker's CPU seconds per case (psutil) and, per case, the seconds of Python time in
each activity kind (generate_document, persist_case_events, deliver_document, notify_escalation),
in workflow activations (the sandboxed workflow code and the SDK's activation handling), in payload
conversion and the encryption codec, in the database driver (SQLAlchemy and psycopg, for the writes
and the documents' reads), in the SDK's polling and the event loop, and elsewhere; what is left of the worker's CPU is outside
Python (the SDK's Rust core, gRPC, PostgreSQL's driver in C).
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
from collections import Counter
from pathlib import Path

import psutil

from bench import lifecycle
from bench.people import Answers, People
from bench.stack import Stack

RATE = 100  # samples per second
# The first rule whose marker appears in a sampled stack names its part.
PARTS = (
    ("generate_document", ("DocumentWriter.", "(referrals/documents/")),  # the presenters and render
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


async def profile(cases: int, concurrency: int) -> dict:
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(spy).exists():
        raise SystemExit("bench.worker_profile needs py-spy: .venv/bin/pip install py-spy")
    raw = Path(tempfile.mkdtemp()) / "worker.txt"
    async with Stack.started() as stack:
        people = People(stack.api_url, stack.tokens, stack.temporal_address, Answers())
        await lifecycle.through_the_api(people, concurrency, concurrency, None)  # warm-up
        worker = psutil.Process(stack.pids()["worker"])
        target = (worker.children(recursive=True) or [worker])[0]
        sampler = subprocess.Popen(
            [
                spy,
                "record",
                "--gil",
                "--nonblocking",
                "-r",
                str(RATE),
                "-f",
                "raw",
                "-o",
                str(raw),
                "-p",
                str(target.pid),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        await asyncio.sleep(1.0)  # py-spy attached
        before = sum(target.cpu_times()[:2])
        run = await lifecycle.through_the_api(people, cases, concurrency, None)
        worker_cpu = sum(target.cpu_times()[:2]) - before
        sampler.send_signal(signal.SIGINT)
        sampler.wait(timeout=30)
        await people.aclose()
    samples = bucket(raw)
    python = {part: round(n / RATE / cases, 4) for part, n in samples.most_common()}
    in_python = sum(samples.values()) / RATE / cases
    return {
        "cases": cases,
        "concurrency": concurrency,
        "cases_per_second": run["cases_per_second"],
        "worker_cpu_seconds_per_case": round(worker_cpu / cases, 4),
        "python_seconds_per_case": python,
        "outside_python_seconds_per_case": round(worker_cpu / cases - in_python, 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=60)
    parser.add_argument("--concurrency", type=int, default=10)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(profile(args.cases, args.concurrency)), indent=2))


if __name__ == "__main__":
    main()
