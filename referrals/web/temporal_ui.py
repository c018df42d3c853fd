"""The Temporal UI behind the desk's door: only people signed in at the desk whose roles see every case.

The UI runs with its public path at /temporal (the dev server's `--ui-public-path /temporal`, the ui image's
TEMPORAL_UI_PUBLIC_PATH) at the product's own origin, and its codec endpoint is `<public_url>/codec`: its calls to
decode payloads are then same-origin, so the browser sends the desk's session cookie with them and the UI shows
inputs, summaries and details decrypted with no setting to find.

- `GET /desk/temporal-ui/auth`: 204 for a signed-in user whose roles may decode payloads, 401 for nobody signed in,
  403 for the others; empty bodies, for a reverse proxy's `auth_request` (nginx in production,
  deploy/nginx/temporal-ui.conf).
- `/desk/temporal-ui/refused`: what that proxy answers instead of a UI page the check refused (the original path in
  `X-Original-URI`): the desk's sign-in with `next` back to the page, or the page saying why not.
- `/temporal/...`, only when `REFERRALS_TEMPORAL_UI_UPSTREAM` is set (a development convenience, `make run`): the
  app itself proxies the UI, streaming, behind the same check.

The UI uses neither websockets nor server-sent events: its pages and its JSON API (`/temporal/api/v1/...`, polled)
are plain HTTP requests, which is all the proxy carries. It is read-only (referrals/web/ui_paths.py): a path in any form but
the plain one is refused (400), and only the UI's pages, its reads and the product's queries go through (403 for
the rest); what goes through is sent on in the plain form. Its pages carry a Content-Security-Policy of their own:
the UI's scripts from this origin and its one inline script by a nonce made for each page.
"""

import re
import secrets
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, quote, unquote, urlsplit

import httpx
import structlog
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import RedirectResponse, StreamingResponse
from sqlmodel import select
from starlette.background import BackgroundTask

from referrals.api import trail
from referrals.api.client_address import client_address
from referrals.api.errors import error_response
from referrals.domain.enums import Role
from referrals.domain.permissions import Operation, allowed
from referrals.domain.words import label
from referrals.store import access_log
from referrals.store.tables import AccessEntryRow
from referrals.web import ui_paths
from referrals.web.auth import SESSION_COOKIE, SIGNIN_COOKIE, Desk, find_desk, sign_in_url
from referrals.web.pages import render
from referrals.workflows.digest import DigestWorkflow
from referrals.workflows.incident import IncidentWorkflow
from referrals.workflows.publication import PublishStatsWorkflow

log = structlog.get_logger()
PATH = "/temporal"
API_PATH = f"{PATH}/api/"
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
# RFC 9110 7.6.1: meant for one connection only, never forwarded (and any header `Connection` names).
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
    }
)
# The header that has the UI's server (its grpc-gateway) take a POST as another method: never sent on.
METHOD_OVERRIDE = "x-http-method-override"
# The desk's own cookies stay with the desk: the UI's server never sees a session.
OWN_COOKIES = frozenset({SESSION_COOKIE, SIGNIN_COOKIE})
# The UI's server (2.54.1) registers its markdown page, which the frames of a case's summary and details load, at
# <public path>/render, but strips the public path before routing: at /temporal/render it answers with the app's
# index, and the frames read "404 Not Found". Asked with the public path twice, it reaches the page (nginx in
# production does the same, deploy/nginx/temporal-ui.conf).
RENDER = f"{PATH}/render"
# The queries the UI may ask: the product's own (read-only by the SDK's rules) and the SDK's built-in ones.
QUERIES = ui_paths.queries_of(IncidentWorkflow, DigestWorkflow, PublishStatsWorkflow) | ui_paths.BUILT_IN_QUERIES
READ_ONLY = "the Temporal UI is read-only here: take the case's steps on the desk"
# An open page of the UI polls its case's workflow every few seconds: its reads fold into its page view's entry for
# this long (_record_read).
FOLD = timedelta(minutes=10)
# The UI's scripts and styles from this origin (its styles are inline too, and its one inline script, which starts
# it, carries the page's nonce), its calls to this origin only (its API and the codec), in frames of this origin.
CSP = (
    "default-src 'self'; script-src 'self'{nonce}; style-src 'self' 'unsafe-inline'; connect-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'self'"
)

router = APIRouter(include_in_schema=False)  # the check and its refusal page: always
proxy_router = APIRouter(include_in_schema=False)  # the UI itself: only with an upstream set


async def _who(request: Request) -> Desk | None:
    # A session of its own, closed before any bytes are proxied (a dependency's would stay open while they stream).
    async with request.app.state.sessions() as session:
        return await find_desk(request, session)


def may_open(desk: Desk) -> bool:
    return allowed(Operation.DECODE_PAYLOADS, [Role(r) for r in desk.user.roles])


def _is_page(method: str, path: str) -> bool:
    """A page a person opens (redirected to sign in, shown a page), not one of the UI's own API calls."""
    return method in ("GET", "HEAD") and not path.startswith(API_PATH)


def case_path(ui_path: str) -> str | None:
    """/temporal/namespaces/default/workflows/incident-<id>/... -> /desk/cases/<id>: the same case on the desk."""
    parts = ui_path.split("/")
    if len(parts) > 5 and parts[1:3] == [PATH.strip("/"), "namespaces"] and parts[4] == "workflows":
        workflow_id = unquote(parts[5])
        if workflow_id.startswith("incident-") and len(workflow_id) > len("incident-"):
            return f"/desk/cases/{workflow_id.removeprefix('incident-')}"
    return None


def read_only(method: str, path: str) -> bool:
    """Pages, assets and the UI's reads; and the product's queries, POSTs that change nothing. Never terminate,
    reset, signal, update, cancel or a batch: cases change only through the desk and the API, with their
    permissions and audit trail. `path` is the plain form (referrals/web/ui_paths.normalise)."""
    return ui_paths.allowed(method, path, QUERIES)


def _case_id(path: str) -> str | None:
    """The case whose workflow an API call of the UI reads (/temporal/api/v1/namespaces/x/workflows/incident-<id>)."""
    found = re.match(rf"{API_PATH}v1/namespaces/[^/]+/workflows/incident-([^/]+)", path)
    return unquote(found.group(1)) if found else None


def refusal(request: Request, desk: Desk | None, method: str, target: str) -> Response:
    """Nobody signed in: to the sign-in (a page) or 401 (an API call). Signed in without a role that sees every
    case: a page saying so, with the way back to the case on the desk (a page), or 403 (an API call)."""
    path = urlsplit(target).path
    if desk is None:
        if _is_page(method, path):
            return RedirectResponse(sign_in_url(target), status_code=303)
        return error_response(401, "the Temporal UI needs a sign-in at the desk: /desk/sign-in")
    roles = ", ".join(label(Role(r)).lower() for r in desk.user.roles)
    message = (
        f"The Temporal UI shows every case, and your role ({roles}) sees only your own cases, so it is not "
        "open to you. The case's page on the desk shows everything of it that you may see."
    )
    if not _is_page(method, path):
        return error_response(403, message)
    return render(request, "temporal_ui_refused.html", 403, message=message, case_url=case_path(path))


@router.get("/desk/temporal-ui/auth")
async def auth_check(request: Request):
    """For a reverse proxy's auth_request: 204 may open the UI, 401 not signed in, 403 signed in without the role.
    What it lets through goes on the access trail as the app's own proxy records it (`_record_read`): the request
    asked about is in `X-Original-URI` and `X-Original-Method` (deploy/nginx/temporal-ui.conf). The check is also
    reachable by its reader directly; what such a call records is in their own name, so it hides nothing."""
    desk = await _who(request)
    status = 401 if desk is None else 204 if may_open(desk) else 403
    if desk is not None and status == 204 and (asked := request.headers.get("x-original-uri")):
        method = request.headers.get("x-original-method", "GET").upper()
        target = urlsplit(asked)
        try:
            path = ui_paths.normalise(target.path)
        except ui_paths.Malformed:  # the front door refuses it itself (400), before the UI
            path = None
        if path is not None and read_only(method, path):
            await _record_read(request, desk, path, method, dict(parse_qsl(target.query)))
    return Response(status_code=status, headers={"Cache-Control": "no-store"})


@router.api_route("/desk/temporal-ui/refused", methods=METHODS)
async def refused(request: Request):
    """The answer a reverse proxy gives instead of a UI page its auth_request refused; `X-Original-URI` is the page."""
    target = request.headers.get("x-original-uri", "")
    if not target.startswith(f"{PATH}/") and target != PATH:
        target = f"{PATH}/"
    method = request.headers.get("x-original-method", request.method).upper()
    desk = await _who(request)
    if desk is not None and may_open(desk):  # signed in meanwhile: back to the page
        return RedirectResponse(target, status_code=303)
    return refusal(request, desk, method, target)


@proxy_router.api_route(PATH, methods=METHODS)
@proxy_router.api_route(PATH + "/{rest:path}", methods=METHODS)
async def proxy(request: Request, rest: str = ""):
    desk = await _who(request)
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if desk is None or not may_open(desk):
        return refusal(request, desk, request.method, target)
    try:
        path = ui_paths.normalise(_raw_path(request))
    except ui_paths.Malformed as malformed:
        await _record_refused(request, desk, None, reason=f"the address {malformed}")
        return error_response(400, f"the Temporal UI's address {malformed}: open it from the desk's link")
    if not read_only(request.method, path):
        await _record_refused(request, desk, _case_id(path))
        return error_response(403, READ_ONLY)
    await _record_read(request, desk, path, request.method, dict(request.query_params.items()))
    return await _forward(request, path)


def _page_case(path: str) -> str | None:
    """The case a page of the UI shows (its document, not an asset or a frame of it)."""
    if path.startswith((API_PATH, f"{PATH}/_app/")) or path == RENDER:
        return None
    desk_path = case_path(path)
    return desk_path.removeprefix("/desk/cases/") if desk_path else None


async def _record_read(request: Request, desk: Desk, path: str, method: str, query: dict[str, str]) -> None:
    """One entry for each page of a case the UI opens (`temporal_ui_read`, with the page), whatever its headers say.
    The page then polls the case's workflow through the UI's API every few seconds: such a read is recorded only
    when its reader has no entry for that case from the same address within FOLD, so the polls fold into the page
    view, and a read with no page before it (a script, a copied address) is recorded all the same, and again each
    FOLD. A listing is folded likewise into an entry of the same reader with the same query. (`method`, `path` and
    `query`: the request for the UI, which the app proxies or a front door asks about.)"""
    if _is_page(method, path):
        if (case_id := _page_case(path)) is not None:
            await trail.record(
                request, "temporal_ui_read", trail.ALLOWED, user=desk.user, case_id=case_id, details={"page": path}
            )
        return
    if (case_id := _case_id(path) or _listed_case(path, query)) is not None:
        if not await _recorded_lately(request, desk, "temporal_ui_read", case_id=case_id):
            await trail.record(request, "temporal_ui_read", trail.ALLOWED, user=desk.user, case_id=case_id)
    elif path.endswith(("/workflows", "/archived-workflows")):
        asked = query  # its filters, as sent (trail.filters)
        if not await _recorded_lately(request, desk, "temporal_ui_list", details=asked):
            await trail.record(request, "temporal_ui_list", trail.ALLOWED, user=desk.user, details=asked)


# The listing the UI's page of a case asks for first, to find its run: a read of that one case.
ONE_CASE = re.compile(r"""\s*WorkflowId\s*=\s*(["'])incident-([^"'\\]+)\1\s*""")


def _listed_case(path: str, query: dict[str, str]) -> str | None:
    """The case a listing names alone (`WorkflowId="incident-<id>"`): it answers with that case's workflow alone."""
    found = ONE_CASE.fullmatch(query.get("query", ""))
    return found.group(2) if found and path.endswith("/workflows") else None


async def _recorded_lately(
    request: Request, desk: Desk, action: str, *, case_id: str | None = None, details: dict | None = None
) -> bool:
    """Whether the trail holds an allowed `action` of this reader, from this address, within FOLD: about this case,
    or with these details."""
    if not request.app.state.settings.access_trail:
        return False
    query = (
        select(AccessEntryRow.seq)
        .where(
            AccessEntryRow.user_id == desk.user.id,
            AccessEntryRow.at >= datetime.now(UTC) - FOLD,
            AccessEntryRow.action == action,
            AccessEntryRow.outcome == trail.ALLOWED,
            AccessEntryRow.client == client_address(request),
        )
        .limit(1)
    )
    if case_id is not None:
        query = query.where(AccessEntryRow.case_id == case_id)
    if details is not None:
        query = query.where(AccessEntryRow.details == access_log.details_text(details))
    async with request.app.state.sessions() as session:
        return (await session.exec(query)).first() is not None


def _raw_path(request: Request) -> str:
    """The path as the browser sent it, still percent-encoded (what the UI's server would read)."""
    raw = request.scope.get("raw_path")
    return raw.decode("latin-1") if raw else quote(request.url.path, safe="/")


async def _record_refused(request: Request, desk: Desk, case_id: str | None, reason: str | None = None) -> None:
    """A refused call in the access trail: a write (`temporal_ui_write`) or, for a read in a path's odd form, a
    read (`temporal_ui_read`)."""
    action = "temporal_ui_read" if request.method in ("GET", "HEAD") else "temporal_ui_write"
    details = {"method": request.method} | ({"reason": reason} if reason else {})
    await trail.record(request, action, trail.REFUSED, user=desk.user, case_id=case_id, details=details)


async def _forward(request: Request, path: str) -> Response:
    """The request, in its plain form, to the UI's server; its answer streamed back (a page: with its policy)."""
    state = request.app.state
    upstream = state.settings.temporal_ui_upstream.rstrip("/")
    query = request.scope.get("query_string", b"")
    sent = PATH + path if path == RENDER else path
    url = upstream + sent + ("?" + query.decode("latin-1") if query else "")
    outgoing = state.temporal_ui_client.build_request(
        request.method, url, headers=_forwarded(request), content=await request.body()
    )
    try:
        answer = await state.temporal_ui_client.send(outgoing, stream=True)
    except httpx.HTTPError as exc:
        log.warning("temporal_ui_unreachable", upstream=upstream, error=type(exc).__name__)
        message = "the Temporal UI is not answering; try again in a moment"
        if _is_page(request.method, path):
            return render(request, "error.html", 502, status=502, message=message)
        return error_response(502, message)
    headers = _returned(answer, upstream, state.settings.public_url.rstrip("/"))
    if not _is_page(request.method, path):
        return _streamed(answer, headers)
    if request.method != "GET" or path == RENDER or answer.status_code != 200 or not _is_html(answer):
        return _streamed(answer, headers + [(b"content-security-policy", CSP.format(nonce="").encode())])
    return await _with_nonce(answer, headers)


def _is_html(answer: httpx.Response) -> bool:
    return answer.headers.get("content-type", "").startswith("text/html")


def _streamed(answer: httpx.Response, headers: list[tuple[bytes, bytes]]) -> Response:
    response = StreamingResponse(
        answer.aiter_raw(), status_code=answer.status_code, background=BackgroundTask(answer.aclose)
    )
    response.raw_headers = headers
    return response


async def _with_nonce(answer: httpx.Response, headers: list[tuple[bytes, bytes]]) -> Response:
    """The UI's own page (its index, some kilobytes): its inline script, which starts the UI, gets a nonce made
    for this page alone, which the policy names. (Not the markdown frames at /temporal/render: their content is
    the workflow's, and their own policy stands.)"""
    try:
        body = await answer.aread()  # decompressed: the bytes change, so their encoding and length go
    finally:
        await answer.aclose()
    nonce = secrets.token_hex(16)
    body = body.replace(b"<script>", f'<script nonce="{nonce}">'.encode(), 1)
    kept = [(name, value) for name, value in headers if name not in (b"content-length", b"content-encoding")]
    response = Response(body, status_code=answer.status_code)
    response.raw_headers = kept + [
        (b"content-length", str(len(body)).encode()),
        (b"content-security-policy", CSP.format(nonce=f" 'nonce-{nonce}'").encode()),
    ]
    return response


def _connection_listed(value: str) -> set[str]:
    return {token.strip().lower() for token in value.split(",") if token.strip()}


def _forwarded(request: Request) -> list[tuple[str, str]]:
    """The browser's headers for the UI's server: without hop-by-hop ones, Host (the upstream's own) and the
    desk's cookies; with X-Forwarded-* saying where the request came in."""
    dropped = (
        HOP_BY_HOP
        | {METHOD_OVERRIDE}
        | _connection_listed(request.headers.get("connection", ""))
        | {"host", "content-length"}
    )
    headers = []
    for name, value in request.headers.items():
        if name in dropped:
            continue
        if name == "cookie":
            value = "; ".join(
                part.strip()
                for part in value.split(";")
                if part.strip() and part.split("=", 1)[0].strip() not in OWN_COOKIES
            )
            if not value:
                continue
        headers.append((name, value))
    headers += [
        ("x-forwarded-for", request.client.host if request.client else ""),
        ("x-forwarded-proto", request.url.scheme),
        ("x-forwarded-host", request.headers.get("host", "")),
    ]
    return headers


def _returned(answer: httpx.Response, upstream: str, public: str) -> list[tuple[bytes, bytes]]:
    """The UI's response headers, less hop-by-hop ones (every Set-Cookie kept); a redirect to the upstream's own
    address points at the product's origin instead."""
    dropped = HOP_BY_HOP | _connection_listed(answer.headers.get("connection", ""))
    headers = []
    for name, value in answer.headers.raw:
        lower = name.decode("latin-1").lower()
        if lower in dropped:
            continue
        if lower == "location" and value.decode("latin-1").startswith(upstream):
            value = (public + value.decode("latin-1")[len(upstream) :]).encode("latin-1")
        headers.append((lower.encode("latin-1"), value))
    return headers


def install(app: FastAPI, settings) -> None:
    """The check and the refusal page always (a reverse proxy in front may use them); the proxy itself only
    with an upstream set, its client opened and closed with the app."""
    app.include_router(router)
    if not settings.temporal_ui_upstream:
        return
    app.include_router(proxy_router)
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        # No redirects followed (the browser follows them), no decompression (the bytes pass as they came).
        async with httpx.AsyncClient(timeout=httpx.Timeout(30.0, connect=5.0), follow_redirects=False) as client:
            app.state.temporal_ui_client = client
            async with inner(app) as state:
                yield state

    app.router.lifespan_context = lifespan
