"""One error shape for every refusal: {"error": {"code", "message", "details"}}."""

import re
from collections.abc import Sequence
from datetime import UTC, datetime, tzinfo
from functools import cache
from pathlib import Path
from typing import Any

import structlog
from botocore.exceptions import BotoCoreError, ClientError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException
from temporalio.client import RPCTimeoutOrCancelledError
from temporalio.service import RPCError, RPCStatusCode

from referrals.domain.errors import RejectionKind
from referrals.domain.jurisdiction import filing_problems
from referrals.domain.messages import IncidentFiling, clock_problems
from referrals.domain.policy import Policy, load_policy
from referrals.domain.refusal_words import pydantic_text, text_of

log = structlog.get_logger()

CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    416: "range_not_satisfiable",
    422: "invalid",
    429: "too_many_requests",
    500: "internal",
    503: "unavailable",
}
REJECTION_STATUS = {RejectionKind.FORBIDDEN: 403, RejectionKind.CONFLICT: 409, RejectionKind.INVALID: 422}
WHEN = {
    401: "missing, invalid, expired or revoked bearer token",
    403: "the caller's roles may not take this step, or separation of duties forbids it",
    404: "no such case, or one the caller may not see",
    409: "not valid in the case's current stage, or a conflicting earlier request",
    413: "the request body is over the configured maximum size",
    415: "the body is not of the media type the operation takes",
    416: "the byte range asked for is outside the file",
    422: "invalid request: the details name each field",
    429: "too many failed authentications from this client: wait for Retry-After",
    503: "the database or the workflow service is unavailable: try again shortly",
}


class FieldProblem(BaseModel):
    """One refused field: its path and the API's message, the words the desk shows (`text`: the field by its label,
    its row counted from 1, what would be accepted) and a machine-readable `code` (pydantic's error type, such as
    `missing` or `enum`; `value_error` for a rule of the request model; `invalid`, `conflict` or `forbidden` for
    a step's rule; `clock` or `policy` for the clock's and the policy's)."""

    field: str
    message: str
    text: str
    code: str


class ErrorBody(BaseModel):
    code: str
    message: str
    details: list[FieldProblem] | dict[str, str] | None


class ErrorOut(BaseModel):
    """The one error shape of every refusal."""

    error: ErrorBody


def documented(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for these error statuses, each with the one error shape."""
    return {status: {"model": ErrorOut, "description": WHEN[status]} for status in statuses}


def problem(field: str, message: str, code: str = "invalid", text: str | None = None) -> dict[str, str]:
    """One refused field, as the error shape's details hold it: with the words the desk shows."""
    return {"field": field, "message": message, "text": text or text_of(field, message), "code": code}


def worded(details: Any, code: str = "invalid") -> Any:
    """Details given as [{field, message}] with their `text` and `code` added where they lack them."""
    if not isinstance(details, list):
        return details
    return [
        {**d, "text": d.get("text") or text_of(d["field"], str(d.get("message", ""))), "code": d.get("code") or code}
        if isinstance(d, dict) and isinstance(d.get("field"), str) and "message" in d
        else d
        for d in details
    ]


class ApiError(Exception):
    def __init__(self, status: int, message: str, details: Any = None, headers: dict | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = worded(details, CODES.get(status, "invalid"))
        self.headers = headers


RETRY_AFTER_SECONDS = 5  # what every 503 tells a client to wait before it tries again, unless it names its own


def with_retry_after(status: int, headers: dict | None) -> dict | None:
    """Every 503 says when to try again (RFC 9110, 10.2.3): an outage is waited out, not guessed at."""
    if status != 503 or any(name.lower() == "retry-after" for name in headers or {}):
        return headers
    return {**(headers or {}), "Retry-After": str(RETRY_AFTER_SECONDS)}


def error_response(status: int, message: str, details: Any = None, headers: dict | None = None) -> JSONResponse:
    details = worded(details, CODES.get(status, "invalid"))
    body = {"error": {"code": CODES.get(status, "error"), "message": message, "details": details}}
    return JSONResponse(body, status_code=status, headers=with_retry_after(status, headers))


def refuse_clock_problems(payload: BaseModel, zone: tzinfo = UTC) -> None:
    """A request whose times the clock refuses (an incident in the future, a hold ending in the past): 422, naming
    the time given and the time now in `zone` (the department's)."""
    if problems := clock_problems(payload, datetime.now(zone)):
        details = [problem(p["field"], p["message"], "clock") for p in problems]
        raise ApiError(422, "; ".join(f"{p['field']}: {p['message']}" for p in problems), details)


@cache
def policy_zone(policy_file: Path) -> tzinfo:
    """The department's time zone, from the policy file the API and the worker read at start."""
    return load_policy(policy_file).zone


def refuse_outside_policy(filing: IncidentFiling, policy: Policy) -> None:
    """A filing from a district the policy does not list, or with a flag it does not know: 422, each named."""
    if problems := filing_problems(filing, policy):
        details = [problem(p["field"], p["message"], "policy") for p in problems]
        raise ApiError(422, "; ".join(f"{p['field']}: {p['message']}" for p in problems), details)


def field_path(loc: tuple | list) -> str:
    """('body', 'recordings', 0, 'ended_at') -> 'recordings[0].ended_at'; ('query', 'stage') -> 'stage'."""
    where, *parts = loc
    path = ""
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or str(where)


def _validation_details(exc: RequestValidationError) -> list[dict]:
    return field_problems(exc.errors())


def field_problems(errors: Sequence[Any]) -> list[dict]:
    """pydantic's errors (locations from 'body', 'query', …) as the one error shape's [{field, message, text, code}]."""
    details = []
    for err in errors:
        message = err["msg"].removeprefix("Value error, ")
        field = field_path(err["loc"])
        if err["type"] == "extra_forbidden":
            message = "unknown field"
        elif err["type"] == "json_invalid":  # its loc is ('body', character position)
            field, message = "body", f"not valid JSON at character {err['loc'][-1]}: {err['ctx']['error']}"
        text = pydantic_text(field, err["type"], err.get("ctx"), message)
        details.append(problem(field, message, err["type"], text))
    return details


def _answer(request: Request, status: int, message: str, details: Any = None, headers: dict | None = None):
    """The error shape for the API; the desk's pages answer with a page of their own (referrals/web/desk.py)."""
    page = getattr(request.app.state, "error_page", None)
    if page is not None and request.url.path.startswith("/desk"):
        return page(request, status, message, details, with_retry_after(status, headers))
    return error_response(status, message, details, headers)


def _methods_of(request: Request) -> list[str]:
    """Every method the OpenAPI schema serves at this request's path (HEAD with GET, as Starlette does)."""
    table = getattr(request.app.state, "methods_by_path", None)
    if table is None:
        table = request.app.state.methods_by_path = [
            (
                re.compile("^" + "[^/]+".join(map(re.escape, re.split(r"\{[^/}]+\}", path))) + "$"),
                {method.upper() for method in operations},
            )
            for path, operations in request.app.openapi()["paths"].items()
        ]
    methods = set().union(*(found for pattern, found in table if pattern.match(request.url.path)))
    return sorted(methods | ({"HEAD"} if "GET" in methods else set()))


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError):
        return _answer(request, exc.status, exc.message, exc.details, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        details = _validation_details(exc)
        message = "; ".join(f"{d['field']}: {d['message']}" for d in details)
        return _answer(request, 422, message, details)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        if exc.status_code == 400 and exc.__cause__ is not None:
            # FastAPI's answer to a body it could not decode (not UTF-8, nested too deep): an invalid body.
            message = f"not readable as JSON ({type(exc.__cause__).__name__})"
            return _answer(request, 422, f"body: {message}", [{"field": "body", "message": message}])
        headers = getattr(exc, "headers", None)
        if exc.status_code == 405 and (methods := _methods_of(request)):  # (a desk page keeps Starlette's own)
            headers = {**(headers or {}), "Allow": ", ".join(methods)}
        return _answer(request, exc.status_code, str(exc.detail), None, headers)

    # Unreachable, connection lost, or no pooled connection free in time: the database is away.
    @app.exception_handler(OperationalError)
    @app.exception_handler(InterfaceError)
    @app.exception_handler(PoolTimeoutError)
    async def _database_down(request: Request, exc: Exception):
        log.warning("database_unavailable", error=type(exc).__name__)
        return _answer(request, 503, "the database is unavailable; try again shortly")

    # Any other database error is a fault of ours, not an outage: say so, and log its kind.
    @app.exception_handler(DBAPIError)
    async def _database_fault(request: Request, exc: DBAPIError):
        log.error("database_error", error=type(exc.orig).__name__)
        return _answer(request, 500, "internal error; it has been logged")

    # The evidence's object storage unreachable or refusing us (S3 adapter, boto3): an outage to wait out.
    @app.exception_handler(BotoCoreError)
    @app.exception_handler(ClientError)
    async def _storage_down(request: Request, exc: Exception):
        log.warning("evidence_storage_unavailable", error=type(exc).__name__)
        return _answer(request, 503, "the evidence storage is unavailable; try again shortly")

    @app.exception_handler(RPCError)
    async def _temporal(request: Request, exc: RPCError):
        if exc.status in (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED):
            log.warning("temporal_unavailable", status=exc.status.name)
            return _answer(request, 503, "the workflow service is unavailable; try again shortly")
        raise exc

    @app.exception_handler(RPCTimeoutOrCancelledError)
    async def _temporal_late(request: Request, exc: RPCTimeoutOrCancelledError):
        log.warning("temporal_late", error=type(exc).__name__)
        return _answer(
            request,
            503,
            "the workflow service did not answer in time; a change asked for may still be "
            "applied: send it again with the same Idempotency-Key, or read the case first",
        )
