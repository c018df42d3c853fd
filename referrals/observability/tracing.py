"""Optional tracing: the Temporal SDK's OpenTelemetry plugin, its spans sent to an OTLP/HTTP collector.

With REFERRALS_OTLP_ENDPOINT set, the API's requests (FastAPI's own spans), its calls to Temporal, the
workflow and its activities make one trace per request. Spans carry route templates, workflow, run and
activity ids: no payloads, so no personal data.

The plugin and the exporter are imported only when tracing is configured (they add a third of a second to the start
of each process, the document maker's included, that would not use them).
"""

from typing import TYPE_CHECKING

import opentelemetry.trace

from referrals.config import Settings

if TYPE_CHECKING:
    from temporalio.contrib.opentelemetry import OpenTelemetryPlugin


def plugins(settings: Settings, service: str) -> list["OpenTelemetryPlugin"]:
    """The plugins for a Temporal client (and the workers built on it): tracing only when configured."""
    if not settings.otlp_endpoint:
        return []
    from temporalio.contrib.opentelemetry import OpenTelemetryPlugin

    install_provider(settings.otlp_endpoint, service)
    return [OpenTelemetryPlugin(add_temporal_spans=True)]


def install_provider(endpoint: str, service: str) -> None:
    # OpenTelemetry has one tracer provider per process, set once; workflow code reaches it through the
    # sandbox, and the replay-safe one starts no span again when a workflow replays its history.
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from temporalio.contrib.opentelemetry import ReplaySafeTracerProvider, create_tracer_provider

    if isinstance(opentelemetry.trace.get_tracer_provider(), ReplaySafeTracerProvider):
        return
    provider = create_tracer_provider(resource=Resource.create({SERVICE_NAME: service}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{endpoint.rstrip('/')}/v1/traces")))
    opentelemetry.trace.set_tracer_provider(provider)
