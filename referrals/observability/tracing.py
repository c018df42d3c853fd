"""Optional tracing: the Temporal SDK's OpenTelemetry plugin, its spans sent to an OTLP/HTTP collector.

With REFERRALS_OTLP_ENDPOINT set, the API's requests (FastAPI's own spans), its calls to Temporal, the
workflow and its activities make one trace per request. Spans carry route templates, workflow, run and
activity ids: no payloads, so no personal data.
"""

import opentelemetry.trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from temporalio.contrib.opentelemetry import OpenTelemetryPlugin, ReplaySafeTracerProvider, create_tracer_provider

from referrals.config import Settings


def plugins(settings: Settings, service: str) -> list[OpenTelemetryPlugin]:
    """The plugins for a Temporal client (and the workers built on it): tracing only when configured."""
    if not settings.otlp_endpoint:
        return []
    install_provider(settings.otlp_endpoint, service)
    return [OpenTelemetryPlugin(add_temporal_spans=True)]


def install_provider(endpoint: str, service: str) -> None:
    # OpenTelemetry has one tracer provider per process, set once; workflow code reaches it through the
    # sandbox, and the replay-safe one starts no span again when a workflow replays its history.
    if isinstance(opentelemetry.trace.get_tracer_provider(), ReplaySafeTracerProvider):
        return
    provider = create_tracer_provider(resource=Resource.create({SERVICE_NAME: service}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{endpoint.rstrip('/')}/v1/traces")))
    opentelemetry.trace.set_tracer_provider(provider)
