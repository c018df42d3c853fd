"""The API's /metrics for Prometheus: request latency by route, and the cases as PostgreSQL holds them.

Prometheus scrapes it without a bearer token, so it exposes nothing personal: its labels are route
templates, methods, statuses, stages, tasks and levels, never an id, a case number or a name. The case
counts are read at scrape time under a short timeout; while PostgreSQL is unreachable the scrape still
answers, with `referrals_database_up 0` and no counts.
"""

import asyncio

import structlog
from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, PROCESS_COLLECTOR, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.exc import SQLAlchemyError

from referrals.domain.enums import Stage
from referrals.store.gauges import CaseCounts, case_counts

DATABASE_TIMEOUT_SECONDS = 2.0
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0)

log = structlog.get_logger()
router = APIRouter()


def request_latency() -> Histogram:
    """One per app; the access-log middleware observes every request in it."""
    return Histogram(
        "referrals_http_request_duration_seconds",
        "API requests by route template, method and status",
        ["route", "method", "status"],
        buckets=LATENCY_BUCKETS,
        registry=None,
    )


class CaseGauges(Collector):
    def __init__(self, counts: CaseCounts | None) -> None:
        self._counts = counts

    def collect(self):
        up = GaugeMetricFamily("referrals_database_up", "1 if PostgreSQL answered this scrape's case counts")
        up.add_metric([], 0 if self._counts is None else 1)
        yield up
        if self._counts is None:
            return
        cases = GaugeMetricFamily("referrals_cases", "Cases by stage", labels=["stage"])
        for stage in Stage:
            cases.add_metric([stage.value], self._counts.stages.get(stage.value, 0))
        yield cases
        escalations = GaugeMetricFamily(
            "referrals_open_escalations", "Open tasks escalated, by task and level", labels=["task", "level"]
        )
        for (task, level), count in sorted(self._counts.escalations.items()):
            escalations.add_metric([task, str(level)], count)
        yield escalations


async def _counts(request: Request) -> CaseCounts | None:
    try:
        async with asyncio.timeout(DATABASE_TIMEOUT_SECONDS), request.app.state.sessions() as session:
            return await case_counts(session)
    except (SQLAlchemyError, OSError, TimeoutError) as exc:
        log.warning("metrics_database_unavailable", error=type(exc).__name__)
        return None


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(request.app.state.request_latency)
    registry.register(PROCESS_COLLECTOR)
    registry.register(CaseGauges(await _counts(request)))
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
