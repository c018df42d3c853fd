"""The worker's /metrics: the Temporal SDK's own metrics and the product's, one Prometheus endpoint.

The product's metrics go through the SDK's metric meter, so the runtime that serves the SDK's metrics
serves them too. Labels name a channel, a kind of message or document and an outcome: never a person,
a case id or a case number.
"""

import time
from collections.abc import Iterator
from contextlib import contextmanager

from temporalio import activity
from temporalio.common import MetricMeter
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

NOTIFICATIONS = "referrals_notifications_total"
RENDER_SECONDS = "referrals_document_render_seconds"
RENDER_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0]


def prometheus_runtime(bind_address: str) -> Runtime:
    """A Temporal runtime serving http://<bind_address>/metrics in Prometheus' text format."""
    config = PrometheusConfig(bind_address=bind_address, histogram_bucket_overrides={RENDER_SECONDS: RENDER_BUCKETS})
    return Runtime(telemetry=TelemetryConfig(metrics=config))


def count_notifications(channel: str, kind: str, outcome: str, count: int = 1) -> None:
    """Messages handed to a channel (inbox, email, webhook): `sent`, or `failed` for each failed attempt."""
    if count:
        counter = activity.metric_meter().create_counter(NOTIFICATIONS, "Notifications by channel, kind and outcome")
        counter.add(count, {"channel": channel, "kind": kind, "outcome": outcome})


@contextmanager
def sending(channel: str, kind: str) -> Iterator[None]:
    """Counts the message in the block as sent, or as failed when the block raises (it is retried)."""
    try:
        yield
    except Exception:
        count_notifications(channel, kind, "failed")
        raise
    count_notifications(channel, kind, "sent")


@contextmanager
def rendering(kind: str, meter: MetricMeter | None = None) -> Iterator[None]:
    """Records how long rendering one document of this kind took: on `meter` (the document maker's, its worker's
    runtime), or the activity's."""
    started = time.perf_counter()
    yield
    if meter is None and activity.in_activity():
        meter = activity.metric_meter()
    if meter is None:  # `referrals rebuild` renders outside any worker
        return
    histogram = meter.create_histogram_float(RENDER_SECONDS, "Time to render a Word document", "s")
    histogram.record(time.perf_counter() - started, {"kind": kind})
