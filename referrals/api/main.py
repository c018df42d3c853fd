"""The FastAPI application: routes, error mapping, and the clients it holds for its lifetime."""

import asyncio
from contextlib import asynccontextmanager

import structlog
from botocore.exceptions import BotoCoreError, ClientError
from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from sqlalchemy.exc import DBAPIError

from referrals import __version__, heap, logs
from referrals.api import errors, metrics
from referrals.api.bodylimit import BodyLimit
from referrals.api.deadline import RequestDeadline
from referrals.api.deps import known_query_parameters
from referrals.api.oidc import Provider
from referrals.api.public_cache import PublicFigures
from referrals.api.request_log import RequestLog
from referrals.api.routes import access_log as access_trail
from referrals.api.routes import (
    codec,
    documents,
    evidence,
    health,
    incidents,
    notifications,
    public,
    stats,
    steps,
    users,
)
from referrals.api.routes import policy as policy_file  # (policy names the policy in force below)
from referrals.api.routes.evidence import FORM_PART_MODELS
from referrals.api.startup import OneLineStartupFailure, StartupRefused
from referrals.config import Settings, get_settings
from referrals.domain.policy import load_policy
from referrals.observability import tracing
from referrals.store.blobs import S3Blobs, blob_store
from referrals.store.database_tls import DatabaseTLSError, check_database
from referrals.store.engine import async_engine, session_factory
from referrals.temporal_client import connect
from referrals.temporal_environment import TemporalConnectError, TemporalSettingError
from referrals.web import desk, temporal_ui

log = structlog.get_logger()
UNTRACED = {"/metrics", "/healthz", "/readyz"}
PUBLIC = "/public/"  # served from memory to anyone: untraced too (the access trail has no one to record)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    logs.configure(settings.effective_log_format, settings.log_level)
    policy = load_policy(settings.policy_file)  # a malformed policy stops the API here, naming the key

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        try:
            check_database(settings)  # DATABASE_URL's TLS (sslmode, sslrootcert) holds, or the API does not start
        except DatabaseTLSError as exc:
            log.error("database_refused", error=str(exc))
            raise StartupRefused(str(exc)) from None
        engine = async_engine(settings.database_url)
        app.state.settings = settings
        app.state.policy = policy
        app.state.sessions = session_factory(engine)
        try:
            app.state.temporal = await connect(settings, plugins=tracing.plugins(settings, "incident-referrals-api"))
        except (TemporalConnectError, TemporalSettingError) as refused:
            raise StartupRefused(str(refused)) from None
        app.state.oidc = Provider(settings) if settings.oidc_issuer else None  # discovered on first use
        blobs = blob_store(settings, app.state.sessions)
        if isinstance(blobs, S3Blobs):
            await _ensure_bucket(blobs)
        else:  # the chunks of uploads a crash or a lost connection cut off (in S3 the bucket's lifecycle rule does it)
            await _sweep(blobs)
        app.state.public = PublicFigures(app.state.sessions, public.page_renderer(app))
        await app.state.public.refresh_quietly()  # the latest snapshot in memory before the first request
        refreshing = asyncio.create_task(app.state.public.poll(settings.public_refresh_seconds))
        if settings.env != "test":  # its own process (a test's app shares the test's)
            heap.settle()
        log.info("api_started", temporal=settings.temporal.address, evidence_storage=blobs.name)
        yield
        refreshing.cancel()
        if app.state.oidc is not None:
            await app.state.oidc.close()
        await engine.dispose()

    app = FastAPI(
        title="Incident referrals",
        description="Carries each incident involving federal immigration agents from the officer's report "
        "to a referral packet acknowledged by the prosecutor.",
        version=__version__,
        lifespan=lifespan,
        dependencies=[Depends(known_query_parameters)],  # an undeclared query parameter is refused, naming it
        # FastAPI's own request spans, only when traces have somewhere to go; scrapes and probes untraced.
        telemetry={"tracing": settings.otlp_endpoint is not None, "exclude": _untraced},
    )
    app.state.request_latency = latency = metrics.request_latency()
    errors.install(app)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)  # inside CORS: a 413 carries its headers
    app.add_middleware(RequestDeadline, seconds=settings.request_timeout_seconds)  # and so does a late 503
    # The Temporal UI calls the codec endpoints from the browser: its origin only.
    app.add_middleware(
        CORSMiddleware,
        allow_origins=[settings.temporal_ui_url.rstrip("/")],
        allow_credentials=True,
        allow_methods=["POST"],
        allow_headers=["Authorization", "Content-Type", "X-Namespace"],
    )
    for module in (
        health,
        incidents,
        steps,
        documents,
        evidence,
        notifications,
        stats,
        users,
        codec,
        access_trail,
        metrics,
        public,
        policy_file,
    ):
        app.include_router(module.router)
    app.include_router(documents.contact_sheet_router)
    desk.install(app, policy.zone)  # the reviewer's desk: HTML pages under /desk
    temporal_ui.install(app, settings)  # the Temporal UI behind the desk's sign-in (proxied with an upstream set)
    app.openapi = _with_links(app)  # type: ignore[method-assign]  # FastAPI's way to extend its schema

    app.add_middleware(RequestLog, latency=latency)  # one line per request, and its latency
    app.add_middleware(OneLineStartupFailure)  # the outermost layer: a refused startup said in one line
    return app


def _untraced(scope) -> bool:
    return scope["path"] in UNTRACED or scope["path"].startswith(PUBLIC) and scope.get("method") == "GET"


async def _ensure_bucket(blobs: S3Blobs) -> None:
    """Best effort too: with the object storage away the API starts, and uploads answer 503 until it is back."""
    try:
        await blobs.ensure_bucket()
    except (BotoCoreError, ClientError) as exc:
        log.warning("evidence_bucket_not_checked", error=type(exc).__name__)


async def _sweep(blobs) -> None:
    """Best effort: the API starts, and answers /readyz, with PostgreSQL down; the next start sweeps."""
    try:
        if swept := await blobs.sweep():
            log.warning("evidence_uploads_swept", uploads=swept)
    except (DBAPIError, OSError) as exc:
        log.warning("evidence_sweep_skipped", error=type(exc).__name__)


def _with_links(app: FastAPI):
    """The OpenAPI schema with links from a filing to every operation on its case (`case_id` from the answer's
    `id`), so a client, or Schemathesis's stateful phase, can follow a new case through its steps."""
    plain = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = plain()
        links = {
            operation["operationId"]: {
                "operationId": operation["operationId"],
                "parameters": {"case_id": "$response.body#/id"},
            }
            for path, operations in schema["paths"].items()
            if path.startswith("/incidents/{case_id}")
            for operation in operations.values()
        }
        for status in ("200", "201"):
            schema["paths"]["/incidents"]["post"]["responses"][status]["links"] = links
        # Models that only a multipart part refers to (no route takes them as its body): their schemas too.
        for model in FORM_PART_MODELS:
            defs = model.model_json_schema(ref_template="#/components/schemas/{model}")
            schema["components"]["schemas"] |= defs.pop("$defs", {}) | {model.__name__: defs}
        return schema

    return openapi
