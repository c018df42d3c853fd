"""The document maker's own process (referrals/document_maker.py) leaves with its worker: when the worker is killed
outright, and when the maker's own stop gets stuck. A maker left running unseen would take documents from the
outbox for a worker that is gone."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import psutil

from referrals.config import ROOT

# A worker's part alone: starts the maker's process, as the worker does, and waits to be killed.
WORKER = textwrap.dedent(
    """
    import asyncio, sys
    from temporalio.common import MetricMeter
    from referrals.config import Settings
    from referrals.document_maker import MakerProcess
    from tests.support.keys import TEST_ACTOR_KEYS, TEST_KEYS

    async def main():
        settings = Settings(env="test", database_url=sys.argv[1], task_queue="gone", encryption_keys=TEST_KEYS,
                            actor_keys=TEST_ACTOR_KEYS, pdf_converter="off", log_format="json")
        async with MakerProcess(settings, None, MetricMeter.noop):
            await asyncio.sleep(600)

    asyncio.run(main())
    """
)

# A maker whose stop is stuck (its loop takes every cancellation for something else), told to stop.
STUCK = textwrap.dedent(
    """
    import asyncio
    from referrals import document_maker, logs

    document_maker.STOP_GRACE_SECONDS = 1.0
    logs.configure("json", "INFO")

    async def stuck():
        while True:
            try:
                await asyncio.sleep(60)
            except asyncio.CancelledError:
                pass

    async def main():
        task = asyncio.create_task(stuck())
        await asyncio.sleep(0.1)
        document_maker._stop(task, "worker gone")
        await task

    asyncio.run(main())
    """
)


def _until(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


def _running(proc: psutil.Process) -> bool:
    try:
        return proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_a_maker_whose_worker_is_killed_stops_within_seconds(database_url, tmp_path):
    log = tmp_path / "worker.log"
    with log.open("w") as out:
        worker = subprocess.Popen(
            [sys.executable, "-c", WORKER, database_url], cwd=ROOT, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        assert _until(lambda: "document_maker_started" in log.read_text(), 60), log.read_text()[-3000:]
        (maker,) = [p for p in psutil.Process(worker.pid).children() if "resource_tracker" not in " ".join(p.cmdline())]
        assert maker.ppid() == worker.pid
        # Below the steps by default (REFERRALS_DOCUMENT_MAKER_LOW_PRIORITY; the suite's own makers run at their
        # worker's): niced by 10.
        assert _until(lambda: maker.nice() == psutil.Process(worker.pid).nice() + 10, 10), maker.nice()
    finally:
        os.kill(worker.pid, signal.SIGKILL)  # no shutdown: the worker's own stop of its maker never runs
        worker.wait()
    try:
        assert _until(lambda: not _running(maker), 15), "the maker outlived its worker"
    finally:
        if _running(maker):
            maker.kill()
    said = log.read_text()
    assert '"event": "document_maker_orphaned"' in said and '"event": "document_maker_stopped"' in said, said[-3000:]


def test_a_maker_whose_stop_is_stuck_leaves_after_its_grace():
    began = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", STUCK], cwd=ROOT, capture_output=True, text=True, timeout=20, check=False
    )
    assert done.returncode == 1, done.stderr[-3000:]
    assert '"event": "document_maker_forced_out"' in done.stdout and '"why": "worker gone"' in done.stdout
    assert time.monotonic() - began < 30
