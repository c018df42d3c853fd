"""Recording an access in the trail (referrals/store/access_log.py) from a request: who, when, what, through which
component, from which address, and the outcome. An entry that cannot be written fails the request (503): nothing
is shown that the trail does not hold."""

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Protocol

import psycopg
import structlog
from fastapi import Depends
from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request

from referrals.api.client_address import client_address
from referrals.api.errors import ApiError
from referrals.store import access_log
from referrals.store.access_log import AccessEntry

log = structlog.get_logger()

ALLOWED, REFUSED, NOT_FOUND, FAILED = access_log.OUTCOMES
UNWRITTEN = "the access trail could not be written, so nothing is shown: try again"
TIMEOUT_SECONDS = 5.0  # the longest an append may take before the request is answered 503

# The action each read is recorded as, by its route. Any other route (a step, an upload) refused or not finding
# its case is recorded under its route's name (the step's operation: `legal_review`).
ACTIONS: dict[tuple[str, str], str] = {
    ("GET", "/incidents"): "list_cases",
    ("GET", "/incidents/{case_id}"): "read_case",
    ("GET", "/incidents/{case_id}/events"): "read_events",
    ("GET", "/incidents/{case_id}/documents"): "list_documents",
    ("GET", "/incidents/{case_id}/documents/{document_id}"): "download_document",
    ("GET", "/incidents/{case_id}/contact-sheet"): "make_contact_sheet",
    ("GET", "/incidents/{case_id}/evidence"): "list_evidence",
    ("GET", "/incidents/{case_id}/evidence/{evidence_id}"): "download_evidence",
    ("GET", "/incidents/{case_id}/evidence/{evidence_id}/custody"): "read_custody",
    ("GET", "/stats"): "read_stats",
    ("POST", "/codec/encode"): "encode_payloads",
    ("POST", "/codec/decode"): "decode_payloads",
    ("GET", "/access-log"): "read_access_log",
    ("GET", "/desk/"): "read_work",
    ("GET", "/desk/cases"): "list_cases",
    ("GET", "/desk/dashboard"): "read_dashboard",
    ("GET", "/desk/cases/{case_id}"): "read_case",
    ("GET", "/desk/cases/{case_id}/documents/{document_id}"): "download_document",
    ("GET", "/desk/cases/{case_id}/evidence/{evidence_id}"): "download_evidence",
    ("GET", "/desk/cases/{case_id}/evidence/{evidence_id}/view"): "view_evidence",  # opened or played: custody too
    ("GET", "/desk/cases/{case_id}/evidence/{evidence_id}/thumbnail"): "view_evidence_thumbnail",
    ("GET", "/desk/cases/{case_id}/evidence/{evidence_id}/custody"): "read_custody",
    ("GET", "/desk/access-log"): "read_access_log",
    ("GET", "/desk/access-log.csv"): "read_access_log",
}


class Person(Protocol):
    """Who is signed in: an AppUser or a PersonRef (`id`), or an Actor (`user_id`, referrals/domain/messages/base.py)."""

    name: str


def _id_of(user: Person) -> str:
    return getattr(user, "id", None) or user.user_id  # type: ignore[attr-defined]


def action_of(request: Request) -> str:
    route = request.scope.get("route")
    path = getattr(route, "path", request.url.path)
    method = "GET" if request.method == "HEAD" else request.method
    return ACTIONS.get((method, path)) or getattr(route, "name", None) or path


def component_of(path: str) -> str:
    for prefix, component in (("/desk", "desk"), ("/codec", "codec")):
        if path == prefix or path.startswith(prefix + "/"):
            return component
    return "api"


def filters(request: Request) -> dict[str, str]:
    """The query parameters a listing or search was asked with, as sent: its filters, never its results."""
    return dict(request.query_params.items())


async def record(
    request: Request,
    action: str,
    outcome: str,
    *,
    user: Person | None = None,
    who: str | None = None,
    case_id: str | None = None,
    target: str | None = None,
    details: dict | None = None,
    component: str | None = None,
) -> None:
    """Appends one entry, committed before this returns; raises ApiError(503) when it cannot be written."""
    if not request.app.state.settings.access_trail:  # off only to measure what it costs (referrals/config.py)
        return
    entry = AccessEntry(
        at=datetime.now(UTC),
        action=action,
        outcome=outcome,
        component=component or component_of(request.url.path),
        client=client_address(request),
        user_id=_id_of(user) if user else None,
        user_name=user.name if user else None,
        who=who,
        case_id=case_id,
        target=target,
        details=details or {},
    )
    try:
        async with asyncio.timeout(TIMEOUT_SECONDS):
            await access_log.append(request.app.state.sessions, entry)
    except (psycopg.Error, SQLAlchemyError, OSError, TimeoutError) as exc:
        # What was asked and how it ended; never who asked or what about (personal data stays out of logs).
        log.error("access_trail_unwritten", action=action, outcome=outcome, error=type(exc).__name__)
        raise ApiError(503, UNWRITTEN) from None


async def allowed(request: Request, user: Person, **fields) -> None:
    """The read this request's route makes (ACTIONS), allowed: recorded after its data is fetched, before the
    answer goes."""
    await record(request, action_of(request), ALLOWED, user=user, **fields)


async def begin(request: Request, user: Person, **fields) -> None:
    """The read, allowed, its entry sent now and committed while the answer is made (serialized): on a route that
    declares SETTLED, whose exit waits for it before the answer goes (a failure still answers 503, nothing shown).
    Elsewhere the same as `allowed`."""
    if not getattr(request.state, "trail_settles", False):
        await allowed(request, user, **fields)
        return
    request.state.trail_pending.append(asyncio.create_task(allowed(request, user, **fields)))
    await asyncio.sleep(0)  # the statement on its way before the answer's own work takes the event loop


async def _settle(request: Request) -> AsyncIterator[None]:
    request.state.trail_settles, request.state.trail_pending = True, []
    try:
        yield
    finally:
        for pending in request.state.trail_pending:
            await pending


# Function-scoped: its exit runs once the answer is serialized and before a byte of it is sent.
SETTLED = Depends(_settle, scope="function")
