"""The worker: builds the adapters, registers the workflow and its activities, and runs."""

import argparse
import asyncio
import signal
import sys
from typing import Any

import structlog
from pydantic import ValidationError
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleUpdate,
)
from temporalio.runtime import Runtime
from temporalio.worker import Worker

from referrals import exiting, logs
from referrals.activities.case_store import CaseStore
from referrals.activities.documents import DocumentWriter
from referrals.activities.notifier import build_notifier
from referrals.activities.pdfs import PdfMaker
from referrals.activities.publication import Publisher
from referrals.activity_log_context import ActivityLogContext
from referrals.codec import EncryptionKeyError, parse_keys
from referrals.config import Settings, get_settings
from referrals.document_maker import MakerProcess
from referrals.documents.pdf import Converter, converter_for, converter_of
from referrals.documents.signing import SigningKeyError, signer_for
from referrals.domain.policy import Policy, PolicyError, load_policy
from referrals.observability import tracing
from referrals.observability.worker_metrics import prometheus_runtime
from referrals.store.database_tls import DatabaseTLSError, check_database
from referrals.store.engine import async_engine, session_factory
from referrals.temporal_client import connect, verifying, worker_client
from referrals.temporal_environment import TemporalConnectError, TemporalSettingError
from referrals.workflows.digest import SCHEDULE_ID, DigestWorkflow
from referrals.workflows.incident import IncidentWorkflow
from referrals.workflows.publication import SCHEDULE_ID as PUBLICATION_SCHEDULE_ID
from referrals.workflows.publication import PublishStatsWorkflow


class ReferralsWorker:
    """The Temporal worker and the document maker of its task queue, in a process of its own
    (referrals/document_maker.py), started together (`async with`) and stopped together: the maker first (a document
    it was making is made again)."""

    def __init__(self, worker: Worker, maker: MakerProcess) -> None:
        self.worker = worker
        self.maker = maker

    async def __aenter__(self) -> "ReferralsWorker":
        await self.maker.__aenter__()
        try:
            await self.worker.__aenter__()
        except BaseException:
            await self.maker.__aexit__(None, None, None)
            raise
        return self

    async def __aexit__(self, *exc: Any) -> None:
        try:
            await self.maker.__aexit__(*exc)
        finally:
            await self.worker.__aexit__(*exc)


def build_worker(client: Client, settings: Settings, sessions, converter: Converter | None = None) -> ReferralsWorker:
    """Polls on `client`'s connection, refusing unencrypted payloads and updates whose actor assertion does not hold
    (referrals/actor_assertions.py), and makes the documents its cases ask for in a process of its own. `converter`
    makes the documents' PDFs (default: the unoserver the settings name, or none, where the worker makes them; the
    document maker then starts its own LibreOffice when installed); the department's certificate signs them."""
    policy = load_policy(settings.policy_file)  # the notifier's words, the public figures' districts and statutes
    notifier = build_notifier(sessions, settings, policy)
    store = CaseStore(sessions)
    pdfs = PdfMaker(converter or converter_of(settings), signer_for(settings, policy.department))
    runtime = client.service_client.config.runtime or Runtime.default()  # (whose /metrics the maker's times join)
    worker = Worker(
        worker_client(client, settings),
        task_queue=settings.task_queue,
        workflows=[IncidentWorkflow, DigestWorkflow, PublishStatsWorkflow],
        activities=[
            store.persist_events,  # each step's one write
            store.documents_made,  # what a quiet case asks of the document maker's work
            # (the cases started before the document maker: their documents, made as activities)
            DocumentWriter(sessions, pdfs=pdfs).generate,
            notifier.notify,
            notifier.send_digest,
            notifier.deliver_document,
            Publisher(sessions, policy).publish,
        ],
        interceptors=[verifying(settings), ActivityLogContext()],
        max_cached_workflows=settings.max_cached_workflows,
    )
    return ReferralsWorker(worker, MakerProcess(settings, converter, runtime.metric_meter))


async def ensure_digest_schedule(client: Client, settings: Settings) -> None:
    """The daily digest runs as a Temporal Schedule; creating it again changes nothing."""
    schedule = Schedule(
        action=ScheduleActionStartWorkflow(DigestWorkflow.run, id="referrals-digest", task_queue=settings.task_queue),
        spec=ScheduleSpec(cron_expressions=[settings.digest_cron]),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )
    try:
        await client.create_schedule(SCHEDULE_ID, schedule)
    except ScheduleAlreadyRunningError:
        pass


def publication_schedule(settings: Settings, policy: Policy) -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(
            PublishStatsWorkflow.run, id=PUBLICATION_SCHEDULE_ID, task_queue=settings.task_queue
        ),
        spec=ScheduleSpec(cron_expressions=[policy.publication.cron], time_zone_name=policy.time_zone),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )


async def ensure_publication_schedule(client: Client, settings: Settings, policy: Policy) -> None:
    """The public figures are published by a Temporal Schedule at the policy's cron, in its time zone: created if
    missing, brought up to the policy's cron, time zone and this task queue if it exists (paused or not, as it was)."""
    wanted = publication_schedule(settings, policy)
    try:
        await client.create_schedule(PUBLICATION_SCHEDULE_ID, wanted)
    except ScheduleAlreadyRunningError:

        def updated(update) -> ScheduleUpdate:
            wanted.state = update.description.schedule.state
            return ScheduleUpdate(schedule=wanted)

        await client.get_schedule_handle(PUBLICATION_SCHEDULE_ID).update(updated)


class MetricsBindError(Exception):
    """The worker cannot serve its metrics where it was told to."""


async def main() -> None:
    settings = get_settings()
    logs.configure(settings.effective_log_format, settings.log_level)
    policy = load_policy(settings.policy_file)  # a malformed policy stops the worker here, naming the key
    parse_keys(settings.effective_encryption_keys)  # and so do malformed encryption keys
    parse_keys(settings.effective_actor_keys, "REFERRALS_ACTOR_KEYS")  # and actor keys
    signer_for(settings, policy.department)  # and a signing certificate or key that cannot be used
    check_database(settings)  # and DATABASE_URL's TLS (sslmode, sslrootcert) that does not hold
    engine = async_engine(settings.database_url)
    # The SDK's runtime serves /metrics: its own metrics and the product's, recorded through its meter.
    try:
        runtime = prometheus_runtime(settings.worker_metrics_bind) if settings.worker_metrics_bind else None
    except ValueError as exc:  # not host:port, or the port is taken
        raise MetricsBindError(f"REFERRALS_WORKER_METRICS_BIND={settings.worker_metrics_bind!r}: {exc}") from None
    client = await connect(settings, runtime=runtime, plugins=tracing.plugins(settings, "incident-referrals-worker"))
    log = structlog.get_logger().bind(task_queue=settings.task_queue)
    await ensure_digest_schedule(client, settings)
    await ensure_publication_schedule(client, settings, policy)
    log.info(
        "worker_started",
        temporal=settings.temporal.address,
        metrics=settings.worker_metrics_bind,
        tracing=settings.otlp_endpoint is not None,
    )
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(signum, stop.set)
    try:
        # LibreOffice (the worker's own, unless REFERRALS_PDF_CONVERTER names one) starts beside the worker and stops
        # after it. Leaving the block shuts the worker down gracefully: running activities may finish.
        # (the worker's LibreOffice converts only the documents of cases started before the document maker, which
        # starts its own: it starts at its first conversion)
        async with converter_for(settings, start=False) as converter:
            async with build_worker(client, settings, session_factory(engine), converter):
                await stop.wait()
    finally:
        await engine.dispose()
    log.info("worker_stopped")


def _arguments() -> None:
    """`--help` says what the worker is and how it is configured; it takes no other argument."""
    parser = argparse.ArgumentParser(
        prog="python -m referrals.worker",
        description="The worker: runs the cases' workflows and their activities (database writes, documents, "
        "notifications) on the task queue REFERRALS_TASK_QUEUE of the Temporal that TEMPORAL_ADDRESS (and the "
        "rest of Temporal's environment configuration: TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS_*, "
        "TEMPORAL_PROFILE) names. "
        "Configured from the environment (README, 'Configuration'); SIGINT or SIGTERM stops it "
        "gracefully.",
    )
    parser.parse_args()


if __name__ == "__main__":
    _arguments()
    try:
        asyncio.run(main())
    except (
        PolicyError,
        EncryptionKeyError,
        MetricsBindError,
        SigningKeyError,
        TemporalConnectError,
        TemporalSettingError,
        DatabaseTLSError,
    ) as exc:
        exiting.now(1, f"worker: {exc}")
    except ValidationError as exc:
        sys.exit(f"worker: configuration: {'; '.join(e['msg'].removeprefix('Value error, ') for e in exc.errors())}")
