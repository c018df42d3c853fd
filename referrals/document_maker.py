"""The document maker: makes each document the cases' writes asked for (the outbox, referrals/store/outbox.py),
once, beside the worker of the same task queue and off every case's path. A step's write asks for its documents in
its own transaction and the step is answered; the maker takes each request in the order its case asked, makes it
with DocumentWriter (the same code and bytes as the activity that made documents before), stores it and deletes the
request in one transaction. The case records each document made at its next write, or when it has been quiet for a
moment (referrals/workflows/documents.py).

It wakes on PostgreSQL's NOTIFY from the write, and looks every few seconds anyway (a notification lost to a
restart). Several makers (a worker per host) share the outbox: a request is taken with FOR UPDATE SKIP LOCKED, and a
case's next document waits until the one it asked for before is made."""

import asyncio
import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from typing import Any, cast

import opentelemetry.propagate
import opentelemetry.trace
import psycopg
import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.common import MetricMeter

from referrals import logs
from referrals.activities.documents import DocumentWriter
from referrals.activities.pdfs import PdfMaker
from referrals.config import Settings
from referrals.documents.pdf import Converter, LocalConverter, NoConverter, converter_for, converter_of
from referrals.documents.signing import signer_for
from referrals.domain.policy import load_policy
from referrals.observability import tracing
from referrals.observability.worker_metrics import RENDER_SECONDS
from referrals.store import outbox
from referrals.store.engine import async_engine, session_factory

log = structlog.get_logger()
TRACER = opentelemetry.trace.get_tracer(__name__)

# How long a maker sleeps with nothing to make before it looks again without a notification.
LOOK_EVERY_SECONDS = 5.0
# Documents made at once per worker: one renders while another's PDF is converted by LibreOffice.
AT_ONCE = 2
# How much lower the maker's process runs than its worker (os.nice): the steps' processes come first.
NICENESS = 10
# How long the maker's process has to stop once told to (SIGTERM, or its worker gone) before it exits regardless: a
# document being made is rolled back with its connection and made again later.
STOP_GRACE_SECONDS = 10.0


class DocumentMaker:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        writer: DocumentWriter,
        task_queue: str,
        look_every: float = LOOK_EVERY_SECONDS,
        at_once: int = AT_ONCE,
    ) -> None:
        self._sessions = sessions
        self._writer = writer
        self._task_queue = task_queue
        self._look_every = look_every
        self._at_once = at_once
        self._wake = asyncio.Event()

    async def make_next(self) -> bool:
        """Makes the next document due on the task queue; False when none is."""
        async with self._sessions() as session, session.begin():
            # Its commit does not wait for the WAL's flush: a crash before it loses the document with the request's
            # deletion, and it is made again, the same; the case's own write, which waits, flushes it before the case
            # records it.
            await session.exec(text("SET LOCAL synchronous_commit = off"))  # type: ignore[call-overload]
            taken = await outbox.take(session, self._task_queue)
            if taken is None:
                return False
            structlog.contextvars.bind_contextvars(case_id=taken.case_id, document_id=taken.document_id)
            parent = opentelemetry.propagate.extract(taken.trace or {})
            try:
                with TRACER.start_as_current_span(f"MakeDocument:{taken.kind}", context=parent):
                    request = await asyncio.to_thread(taken.request)  # (a case is read on a thread)
                    # In this transaction, which holds the request (one transaction: PostgreSQL sees every lock
                    # it waits on, a deadlock among them included); a failure undoes its part alone.
                    async with session.begin_nested():
                        await self._writer.write_in(session, request, attempt=taken.attempts + 1)
            except Exception as exc:  # a document that cannot be made now: put off, the others go on
                log.error("document_not_made", kind=taken.kind, error=type(exc).__name__)
                await outbox.failed(session, taken.document_id, f"{type(exc).__name__}: {exc}")
                return True
            finally:
                structlog.contextvars.unbind_contextvars("case_id", "document_id")
            await outbox.made(session, taken.document_id)
        return True

    async def run(self) -> None:
        """Until cancelled: listens for the writes' notifications and makes what is due."""
        makers = [asyncio.create_task(self._making()) for _ in range(self._at_once)]
        try:
            await self._listening()
        finally:
            for task in makers:
                task.cancel()
            for task in makers:
                with suppress(asyncio.CancelledError):
                    await task

    async def _making(self) -> None:
        while True:
            self._wake.clear()  # (before looking: a notification from now on wakes it again)
            try:
                while await self.make_next():
                    pass
            except Exception as exc:  # the database away: the next wake or look tries again
                _unless_cancelled()
                log.warning("document_maker_waiting", error=type(exc).__name__)
            with suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._look_every)

    async def _listening(self) -> None:
        engine = self._sessions.kw["bind"]
        assert isinstance(engine, AsyncEngine)
        conninfo = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        backoff = 1.0
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True, connect_timeout=10) as conn:
                    await conn.execute(f"LISTEN {outbox.CHANNEL}")
                    backoff = 1.0
                    self._wake.set()  # what was asked while nobody listened
                    async for _ in conn.notifies():
                        self._wake.set()
            except psycopg.Error as exc:
                _unless_cancelled()
                log.warning("document_maker_not_listening", error=type(exc).__name__)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 30.0)


def _unless_cancelled() -> None:
    """Raises CancelledError when this task was cancelled and something took the cancellation for an error."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


# --- the maker's own process: started by the worker (referrals/worker.py), at a lower priority than the steps


@dataclass(frozen=True)
class ConverterSpec:
    """How the maker's process makes PDFs: the unoserver at `url`, none for `reason`, or (both None: the worker's own
    LibreOffice) as the settings say, starting its own LibreOffice when installed (`converter_for`)."""

    url: str | None = None
    reason: str | None = None

    @classmethod
    def of(cls, converter: Converter | None, settings: Settings) -> "ConverterSpec":
        """The worker's converter, for its maker: none given, the settings' (converter_of)."""
        converter = converter or converter_of(settings)
        if isinstance(converter, NoConverter):
            return cls(reason=converter.reason)
        if isinstance(converter, LocalConverter):  # the worker's own LibreOffice: the maker's process starts its own
            return cls()
        return cls(url=converter.url)


class RenderTimes:
    """The render-time histogram of the maker's process, recorded on its worker's meter: each time crosses a queue."""

    def __init__(self, queue: Any) -> None:
        self._queue = queue

    def create_histogram_float(self, name: str, description: str, unit: str) -> "RenderTimes":
        return self

    def record(self, value: float, attributes: dict[str, str]) -> None:
        self._queue.put((value, attributes))


def serve(settings: Settings, converter: ConverterSpec, times: Any, parent: int) -> None:
    """The maker's process (multiprocessing, spawned): makes documents until SIGTERM or its worker is gone."""
    if settings.document_maker_low_priority:
        _below_the_steps()
    logs.configure(settings.effective_log_format, settings.log_level)
    if settings.otlp_endpoint:  # its spans join the traces of the writes that asked
        tracing.install_provider(settings.otlp_endpoint, "incident-referrals-document-maker")
    try:
        asyncio.run(_serve(settings, converter, times, parent))
    finally:
        provider = opentelemetry.trace.get_tracer_provider()
        if hasattr(provider, "shutdown"):
            provider.shutdown()  # (its last spans sent)


def _below_the_steps() -> None:
    """The maker's process runs when the steps' processes (the worker, the API, Temporal, PostgreSQL) leave a core
    free: niced, and, where Linux groups processes by session for scheduling (autogroup, which makes nice count only
    within a group), in a session and group of its own at the lowest priority."""
    os.nice(NICENESS)
    try:
        os.setsid()
        with open("/proc/self/autogroup", "w") as autogroup:
            autogroup.write("19")
    except OSError:  # not Linux, or no autogroup: the nice alone
        pass


async def _serve(settings: Settings, spec: ConverterSpec, times: Any, parent: int) -> None:
    policy = load_policy(settings.policy_file)
    engine = async_engine(settings.database_url)
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, _stop, task, "SIGTERM")
    asyncio.get_running_loop().add_signal_handler(signal.SIGINT, _stop, task, "SIGINT")
    orphaned = asyncio.create_task(_until_orphaned(parent))
    orphaned.add_done_callback(lambda done: None if done.cancelled() else _stop(task, "worker gone"))
    try:
        async with _converter(settings, spec) as converter:
            sessions = session_factory(engine)
            pdfs = PdfMaker(converter, signer_for(settings, policy.department))
            writer = DocumentWriter(sessions, pdfs=pdfs, meter=cast(MetricMeter, RenderTimes(times)))
            log.info("document_maker_started", task_queue=settings.task_queue)
            await DocumentMaker(sessions, writer, settings.task_queue).run()
    except asyncio.CancelledError:
        log.info("document_maker_stopped")
    finally:
        orphaned.cancel()
        await engine.dispose()


@asynccontextmanager
async def _converter(settings: Settings, spec: ConverterSpec) -> AsyncIterator[Converter]:
    if spec.url:
        yield Converter(spec.url)
    elif spec.reason:
        yield NoConverter(spec.reason)
    else:
        async with converter_for(settings) as converter:
            yield converter


async def _until_orphaned(parent: int) -> None:
    while os.getppid() == parent:
        await asyncio.sleep(2)
    log.warning("document_maker_orphaned")


def _stop(task: asyncio.Task, why: str) -> None:
    """Cancels the maker, and exits the process if it has not stopped within STOP_GRACE_SECONDS: a maker left
    behind by its worker must not run on unseen (a cancellation taken as a database error, a thread that does not
    return), and one on a timer thread exits even if the event loop is stuck."""
    task.cancel()
    timer = threading.Timer(STOP_GRACE_SECONDS, _forced_out, args=(why,))
    timer.daemon = True
    timer.start()


def _forced_out(why: str) -> None:
    log.error("document_maker_forced_out", why=why, grace_seconds=STOP_GRACE_SECONDS)
    for stream in (sys.stdout, sys.stderr):
        stream.flush()  # (os._exit flushes nothing)
    os._exit(1)


class MakerProcess:
    """The worker's side: starts the maker's process, records its render times on the worker's meter, stops it."""

    def __init__(self, settings: Settings, converter: Converter | None, meter: MetricMeter) -> None:
        self._context = multiprocessing.get_context("spawn")  # (the worker has threads a fork would copy mid-flight)
        self._times = self._context.Queue()
        self._meter = meter
        self._process = self._context.Process(
            target=serve,
            args=(settings, ConverterSpec.of(converter, settings), self._times, os.getpid()),
            name="document-maker",
            daemon=True,
        )
        self._recording: asyncio.Task[None] | None = None

    async def __aenter__(self) -> "MakerProcess":
        self._process.start()
        self._recording = asyncio.create_task(self._record())
        return self

    async def __aexit__(self, *exc: Any) -> None:
        if self._process.is_alive():
            self._process.terminate()  # SIGTERM: a document being made is rolled back and made again later
        await asyncio.to_thread(self._process.join, 15)
        if self._process.is_alive():
            self._process.kill()
            await asyncio.to_thread(self._process.join, 5)
        if self._recording is not None:
            self._times.put(None)
            await self._recording

    async def _record(self) -> None:
        histogram = self._meter.create_histogram_float(RENDER_SECONDS, "Time to render a Word document", "s")
        while (item := await asyncio.to_thread(self._times.get)) is not None:
            seconds, attributes = item
            histogram.record(seconds, attributes)
