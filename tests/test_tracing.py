"""Tracing with REFERRALS_OTLP_ENDPOINT set: the spans of a lifecycle reach a real OTLP/HTTP receiver on
loopback, one trace from the API's request through the workflow to its activities, with no personal data."""

import gzip
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import opentelemetry.trace
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from referrals.api.main import create_app
from referrals.domain.case import workflow_id_for
from referrals.observability import tracing
from referrals.temporal_client import connect
from referrals.worker import build_worker
from tests.support.scenario import SECRETS, Driver


class OtlpReceiver:
    """POST /v1/traces on 127.0.0.1: every span exported to it, as protobuf."""

    def __init__(self) -> None:
        self.spans = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                request = ExportTraceServiceRequest.FromString(body)
                receiver.spans += [
                    span
                    for resource in request.resource_spans
                    for scope in resource.scope_spans
                    for span in scope.spans
                ]
                reply = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200 if self.path == "/v1/traces" else 404)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self._server.shutdown()


async def test_a_filing_is_one_trace_from_the_api_through_the_workflow_to_its_activities(
    settings, sessions, people, dev_server
):
    receiver = OtlpReceiver()
    own = settings.model_copy(update={"task_queue": f"traced-{uuid.uuid4()}", "otlp_endpoint": receiver.url})
    client = await connect(own, plugins=tracing.plugins(own, "incident-referrals-worker"))
    app = create_app(own)
    async with build_worker(client, own, sessions), app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as api:
            d = Driver(api, people)
            cid = (await d.new_case())["id"]
            await d.refer_to_the_end(cid)
            await d.decline_charges(cid)
            await dev_server.client.get_workflow_handle(workflow_id_for(cid)).result()
            assert (await api.get("/metrics")).status_code == 200
    assert opentelemetry.trace.get_tracer_provider().force_flush()
    receiver.stop()

    spans = receiver.spans
    filing = next(span for span in spans if span.name == "POST /incidents")
    names = {span.name for span in spans if span.trace_id == filing.trace_id}
    assert {
        "StartUpdateWithStartWorkflow:IncidentWorkflow",
        "RunWorkflow:IncidentWorkflow",
        "HandleUpdate:filing_recorded",
        "StartActivity:persist_case_events",
        "RunActivity:persist_case_events",
        "MakeDocument:preservation_request",  # by the document maker, in the trace of the write that asked for it
    } <= names, names
    workflow = next(span for span in spans if span.name == "RunWorkflow:IncidentWorkflow")
    assert {a.key: a.value.string_value for a in workflow.attributes}["temporalWorkflowID"] == workflow_id_for(cid)

    # A step is a trace of its own: the request, its workflow update and the (local) activity that stores it.
    hold = next(span for span in spans if span.name == "POST /incidents/{case_id}/footage-hold")
    in_hold = {span.name for span in spans if span.trace_id == hold.trace_id}
    assert {"StartWorkflowUpdate:footage_hold", "RunActivity:persist_case_events"} <= in_hold, in_hold
    assert not any(span.name.endswith("/metrics") for span in spans)  # scrapes are not traced

    exported = b"".join(span.SerializeToString() for span in spans)
    for secret in SECRETS:
        assert secret.encode() not in exported, secret
