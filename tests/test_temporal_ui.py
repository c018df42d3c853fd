"""The Temporal UI behind the desk's door: the real dev server's UI with its public path at /temporal, proxied by
the API at its own origin (REFERRALS_TEMPORAL_UI_UPSTREAM), open only to people signed in at the desk whose roles
see every case; its codec calls are then same-origin, so the desk's cookie goes with them and the case's page
shows its input, summary and current details decrypted. In Chromium where it is installed.

Read-only, for a hostile insider too: every form of a path that the UI's server might read as a step (`..`,
encoded dots and slashes, ...) is refused, by the app's proxy and by the compose front door (nginx, where it is
installed), and a stand-in for the UI's server counts what reaches it: nothing, but the reads and the queries, in
their plain form."""

import asyncio
import gzip
import json
import re
import threading
import uuid
from collections import Counter
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

import httpx
import pytest
import uvicorn
from sqlmodel import select
from starlette.requests import Request
from temporalio import workflow
from temporalio.testing import WorkflowEnvironment

from referrals.api.main import create_app
from referrals.config import Settings
from referrals.devstack import temporal
from referrals.devstack.front_door import NGINX, SITE
from referrals.devstack.front_door import configure as front_door_conf
from referrals.devstack.front_door import start as start_front_door
from referrals.devstack.procs import free_port
from referrals.domain import search_attributes as sa
from referrals.store.tables import AccessEntryRow
from referrals.temporal_client import data_converter
from referrals.web import temporal_ui, ui_paths
from referrals.worker import build_worker
from referrals.workflows.digest import DigestWorkflow
from referrals.workflows.incident import IncidentWorkflow
from referrals.workflows.publication import PublishStatsWorkflow
from tests.support.browser import SCREENSHOTS, Shots, chromium, needs_chromium, serving
from tests.support.desk_client import sign_in
from tests.support.keys import TEST_KEYS
from tests.support.scenario import filing

LAPTOP = {"width": 1366, "height": 900}
EVENT_NUMBER = "2607704512"  # a field of the filing, in the workflow's input: readable only decrypted
NO_CODEC = "Codec Server could not connect"
API_REQUESTS: Counter = Counter()  # (method, path): what this module's API was asked, nginx's requests among them


def _counted(app):
    async def counted(scope, receive, send):
        if scope["type"] == "http":
            API_REQUESTS[scope["method"], scope["path"]] += 1
        await app(scope, receive, send)

    return counted


@pytest.fixture(scope="module")
def ports() -> dict[str, int]:
    return {"api": free_port(), "ui": free_port()}


@pytest.fixture(scope="module")
async def ui_server(ports):
    """A dev server of this module's own, its UI on a loopback port at /temporal, its codec the API's /codec."""
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(temporal.binary("temporal")),
        search_attributes=sa.ALL,
        data_converter=data_converter(TEST_KEYS),
        dev_server_log_level="error",
        ui=True,
        ui_port=ports["ui"],
        dev_server_extra_args=[
            "--ui-public-path",
            "/temporal",
            "--ui-disable-news-fetch",
            "--ui-codec-endpoint",
            f"http://127.0.0.1:{ports['api']}/codec",
        ],
    )
    async with httpx.AsyncClient() as client:  # the UI reaches the frontend a moment after it is up (its backoff)
        for _ in range(200):
            try:
                if (
                    await client.get(f"http://127.0.0.1:{ports['ui']}/temporal/api/v1/namespaces/default")
                ).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    yield env
    await env.shutdown()


@pytest.fixture(scope="module")
def ui_settings(database_url, ui_server, ports) -> Settings:
    return Settings(
        env="test",
        database_url=database_url,
        temporal_address=ui_server.client.service_client.config.target_host,
        task_queue=f"temporal-ui-{uuid.uuid4()}",
        encryption_keys=TEST_KEYS,
        public_url=f"http://127.0.0.1:{ports['api']}",
        temporal_ui_upstream=f"http://127.0.0.1:{ports['ui']}",
        request_timeout_seconds=4,  # shorter than the UI's long polls, which it must not cut off
        auth_failures_per_minute=10_000,  # failures are counted across the suite's apps (tests/conftest.py)
    )


@pytest.fixture(scope="module")
async def url(ui_settings, ui_server, sessions, ports):
    """The worker, and the whole app (API, desk, the UI's proxy) on the port the UI's codec endpoint names."""
    async with build_worker(ui_server.client, ui_settings, sessions):
        app = create_app(ui_settings)
        # (At the end, a history long poll the closed browser left open is not waited out: it holds the proxy's
        # request until the UI's server answers it, some seconds on.)
        server = uvicorn.Server(
            uvicorn.Config(
                _counted(app),
                host="127.0.0.1",
                port=ports["api"],
                log_level="warning",
                lifespan="on",
                timeout_graceful_shutdown=1,
            )
        )
        task = asyncio.create_task(server.serve())
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.02)
        try:
            yield ui_settings.public_url
        finally:
            server.should_exit = True
            await task


@pytest.fixture(scope="module")
def shots() -> Shots:
    return Shots(SCREENSHOTS / "temporal-ui")


@pytest.fixture(scope="module")
async def case(url, people) -> dict:
    async with httpx.AsyncClient(base_url=url) as api:
        filed = await api.post("/incidents", json=filing(event_number=EVENT_NUMBER), headers=people.headers("officer"))
    assert filed.status_code == 201, filed.text
    return filed.json()


def ui_page(case: dict) -> str:
    return f"/temporal/namespaces/default/workflows/incident-{case['id']}"


async def test_nobody_reaches_the_ui_without_signing_in_at_the_desk(url, case):
    async with httpx.AsyncClient(base_url=url) as anonymous:
        home = await anonymous.get("/temporal/")
        assert home.status_code == 303 and home.headers["location"] == "/desk/sign-in?next=/temporal/"
        page = await anonymous.get(ui_page(case) + "/history?x=1")
        assert page.status_code == 303
        assert page.headers["location"] == f"/desk/sign-in?next={ui_page(case)}/history%3Fx%3D1"
        workflow = f"/temporal/api/v1/namespaces/default/workflows/incident-{case['id']}"
        for method, path in (
            ("GET", "/temporal/api/v1/settings"),
            ("GET", workflow),
            ("POST", f"{workflow}/terminate"),
        ):
            refused = await anonymous.request(method, path, json={} if method == "POST" else None)
            assert refused.status_code == 401, (method, path)
            assert "sign-in at the desk" in refused.json()["error"]["message"]
            assert "set-cookie" not in refused.headers  # nothing of the UI's own came back
        assert (await anonymous.get("/desk/temporal-ui/auth")).status_code == 401


async def test_signed_in_with_a_role_that_sees_every_case_the_ui_and_its_api_answer(url, case, people):
    assert case["links"]["temporal_ui"] == f"{url}{ui_page(case)}"
    async with httpx.AsyncClient(base_url=url) as page:
        signed = await sign_in(page, people.tokens["reviewer"], ui_page(case))
        assert signed.status_code == 303 and signed.headers["location"] == ui_page(case)  # back to the UI's page
        assert (await page.get("/desk/temporal-ui/auth")).status_code == 204
        html = await page.get(ui_page(case))
        assert html.status_code == 200 and 'href="/temporal/_app/' in html.text
        nonce = re.search(r"'nonce-([0-9a-f]{32})'", html.headers["content-security-policy"]).group(1)
        assert html.text.count("<script") == html.text.count(f'<script nonce="{nonce}">') == 1  # the UI's own
        assert any(c.startswith("_csrf=") for c in html.headers.get_list("set-cookie"))  # the UI's own cookie
        settings = (await page.get("/temporal/api/v1/settings")).json()
        assert settings["Codec"]["Endpoint"] == f"{url}/codec"
        described = await page.get(f"/temporal/api/v1/namespaces/default/workflows/incident-{case['id']}")
        assert described.status_code == 200, described.text
        assert described.json()["workflowExecutionInfo"]["execution"]["workflowId"] == f"incident-{case['id']}"
        listed = await page.get(
            "/temporal/api/v1/namespaces/default/workflows", params={"query": f"CaseNumber = '{case['case_number']}'"}
        )
        assert [e["execution"]["workflowId"] for e in listed.json()["executions"]] == [f"incident-{case['id']}"]
        # /temporal without its slash: the UI's own answer, through the proxy too.
        assert (await page.get("/temporal")).status_code in (200, 301, 308)
        # Read-only: the UI's terminate never reaches Temporal; cases change through the desk and the API alone.
        terminate = await page.post(
            f"/temporal/api/v1/namespaces/default/workflows/incident-{case['id']}/terminate",
            json={"reason": "tidying up"},
        )
        assert terminate.status_code == 403 and "read-only" in terminate.text
        again = await page.get(f"/temporal/api/v1/namespaces/default/workflows/incident-{case['id']}")
        assert again.json()["workflowExecutionInfo"]["status"] == "WORKFLOW_EXECUTION_STATUS_RUNNING"


async def test_those_who_see_only_their_own_cases_are_refused_with_a_page(url, case, people):
    async with httpx.AsyncClient(base_url=url) as page:
        await sign_in(page, people.tokens["officer"])
        assert (await page.get("/desk/temporal-ui/auth")).status_code == 403
        refused = await page.get(ui_page(case))
        assert refused.status_code == 403 and refused.headers["content-type"].startswith("text/html")
        assert "shows every case" in refused.text and "officer" in refused.text
        assert f'href="/desk/cases/{case["id"]}"' in refused.text
        api = await page.get("/temporal/api/v1/settings")
        assert api.status_code == 403 and "shows every case" in api.json()["error"]["message"]


async def test_the_refusal_page_a_reverse_proxy_shows_in_front_of_the_ui(url, case, people):
    """nginx (deploy/nginx/temporal-ui.conf) asks /desk/temporal-ui/auth, and on 401 or 403 answers with
    /desk/temporal-ui/refused for the page it was asked for."""
    original = {"X-Original-URI": ui_page(case)}
    async with httpx.AsyncClient(base_url=url) as page:
        anonymous = await page.get("/desk/temporal-ui/refused", headers=original)
        assert anonymous.status_code == 303 and anonymous.headers["location"].startswith(
            f"/desk/sign-in?next={ui_page(case)}"
        )
        elsewhere = await page.get("/desk/temporal-ui/refused", headers={"X-Original-URI": "https://evil.example/"})
        assert elsewhere.headers["location"] == "/desk/sign-in?next=/temporal/"
        await sign_in(page, people.tokens["supervisor"])
        refused = await page.get("/desk/temporal-ui/refused", headers=original)
        assert refused.status_code == 403 and "shows every case" in refused.text
        assert f'href="/desk/cases/{case["id"]}"' in refused.text


async def _reads(sessions, user_id: str, case_id: str) -> list[tuple[str, str, dict]]:
    async with sessions() as session:
        found = await session.exec(
            select(AccessEntryRow)
            .where(AccessEntryRow.user_id == user_id, AccessEntryRow.case_id == case_id)
            .order_by(AccessEntryRow.seq)
        )
        return [(e.action, e.outcome, json.loads(e.details)) for e in found.all()]


# What a script would send to look like the UI's own background calls.
LOOKS_LIKE_A_POLL = {
    "X-Requested-With": "XMLHttpRequest",
    "Sec-Fetch-Mode": "cors",
    "Sec-Fetch-Dest": "empty",
    "Accept": "application/json",
}


async def test_an_open_page_is_one_entry_and_a_read_with_no_page_is_recorded_all_the_same(
    url, people, sessions, monkeypatch
):
    """The UI's page of a case polls its workflow every few seconds: one entry for the page, not one for each
    poll. A read through the UI's API with no page before it is recorded, whatever its headers say, and recorded
    again once the window (temporal_ui.FOLD) has passed."""
    async with httpx.AsyncClient(base_url=url) as api:
        opened, scripted = [
            (await api.post("/incidents", json=filing(), headers=people.headers("officer"))).json() for _ in range(2)
        ]
    auditor = people.ids["auditor"]
    async with httpx.AsyncClient(base_url=url) as page:
        await sign_in(page, people.tokens["auditor"])
        workflow = f"/temporal/api/v1/namespaces/default/workflows/incident-{opened['id']}"
        html = await page.get(f"{ui_page(opened)}/history", headers={"Sec-Fetch-Dest": "document"})
        assert html.status_code == 200
        # What the page asks while it is open: its run, found by a listing of that case alone, then its polls.
        found = await page.get(
            "/temporal/api/v1/namespaces/default/workflows",
            params={"query": f'WorkflowId="incident-{opened["id"]}"', "pageSize": "1"},
        )
        assert [e["execution"]["workflowId"] for e in found.json()["executions"]] == [f"incident-{opened['id']}"]
        for poll in range(4):
            for path in (workflow, f"{workflow}/history"):
                assert (await page.get(path, headers=LOOKS_LIKE_A_POLL)).status_code == 200, (poll, path)
        assert await _reads(sessions, auditor, opened["id"]) == [
            ("temporal_ui_read", "allowed", {"page": f"{ui_page(opened)}/history"})
        ]
        # Opening the page again is another page view.
        assert (await page.get(ui_page(opened))).status_code == 200
        assert len(await _reads(sessions, auditor, opened["id"])) == 2

        # A hostile insider reads another case through the UI's API alone, looking like the page's polls.
        direct = f"/temporal/api/v1/namespaces/default/workflows/incident-{scripted['id']}"
        for _ in range(3):
            assert (await page.get(direct, headers=LOOKS_LIKE_A_POLL)).status_code == 200
        assert await _reads(sessions, auditor, scripted["id"]) == [("temporal_ui_read", "allowed", {})]
        # A listing likewise: once for a query within the window, again for another query.
        listed_since = datetime.now(UTC)
        for query in ("CaseStage = 'investigation'", "CaseStage = 'investigation'", "CaseStage = 'closed'"):
            listed = await page.get("/temporal/api/v1/namespaces/default/workflows", params={"query": query})
            assert listed.status_code == 200
        # Once the window has passed, the next read is recorded again.
        monkeypatch.setattr(temporal_ui, "FOLD", timedelta(seconds=1))
        await asyncio.sleep(1.2)
        assert (await page.get(f"{direct}/history", headers=LOOKS_LIKE_A_POLL)).status_code == 200
        assert (await page.get(direct, headers=LOOKS_LIKE_A_POLL)).status_code == 200
        assert await _reads(sessions, auditor, scripted["id"]) == [("temporal_ui_read", "allowed", {})] * 2
    async with sessions() as session:
        lists = (
            await session.exec(
                select(AccessEntryRow).where(
                    AccessEntryRow.user_id == auditor,
                    AccessEntryRow.action == "temporal_ui_list",
                    AccessEntryRow.at >= listed_since,
                )
            )
        ).all()
    assert sorted(json.loads(e.details)["query"] for e in lists) == [
        "CaseStage = 'closed'",
        "CaseStage = 'investigation'",
    ]


def test_the_proxy_keeps_the_desks_cookies_and_hop_by_hop_headers_from_the_ui():
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/temporal/",
        "query_string": b"",
        "scheme": "http",
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 5000),
        "headers": [
            (b"host", b"127.0.0.1:8000"),
            (b"cookie", b"referrals_session=secret; _csrf=abc; referrals_signin=n"),
            (b"connection", b"keep-alive, X-Private"),
            (b"x-private", b"1"),
            (b"accept", b"text/html"),
            (b"upgrade", b"h2c"),
        ],
    }
    forwarded = dict(temporal_ui._forwarded(Request(scope)))
    assert forwarded["cookie"] == "_csrf=abc" and forwarded["accept"] == "text/html"
    assert not {"host", "connection", "x-private", "upgrade"} & set(forwarded)
    assert forwarded["x-forwarded-host"] == "127.0.0.1:8000" and forwarded["x-forwarded-proto"] == "http"
    answer = httpx.Response(
        302,
        headers=[
            ("Location", "http://ui:8080/temporal/x"),
            ("Set-Cookie", "a=1"),
            ("Set-Cookie", "b=2"),
            ("Transfer-Encoding", "chunked"),
        ],
    )
    returned = temporal_ui._returned(answer, "http://ui:8080", "https://referrals.example.org")
    assert returned == [
        (b"location", b"https://referrals.example.org/temporal/x"),
        (b"set-cookie", b"a=1"),
        (b"set-cookie", b"b=2"),
    ]


# The door as a hostile insider signed in with a role that sees every case would try it: a step forged through the
# UI's query route, which the UI's server would have read with `..` resolved and encoded slashes as slashes.
CASE_API = "/temporal/api/v1/namespaces/default/workflows/incident-0f0f0f"
MALFORMED = [
    ("POST", f"{CASE_API}/query/../terminate"),
    ("POST", f"{CASE_API}/query/../signal/x"),
    ("POST", f"{CASE_API}/query/x/../../cancel"),
    ("POST", f"{CASE_API}/query/../update/supervisor_identification"),
    ("POST", f"{CASE_API}/query/./case"),
    ("POST", f"{CASE_API}/query/case/.."),
    ("POST", f"{CASE_API}/query/%2e%2e/terminate"),
    ("POST", f"{CASE_API}/query/%2E%2E/terminate"),
    ("POST", f"{CASE_API}/query/.%2e/terminate"),
    ("POST", f"{CASE_API}/query/%2E./update/supervisor_identification"),
    ("POST", f"{CASE_API}/query/..%2fterminate"),
    ("POST", f"{CASE_API}/query/x%2F..%2F..%2Fcancel"),
    ("POST", f"{CASE_API}/query/..%5cterminate"),
    ("POST", f"{CASE_API}/query/..%5Csignal%5Cx"),
    ("POST", f"{CASE_API}/query/..\\terminate"),
    ("POST", f"{CASE_API}/query/%252e%252e/terminate"),
    ("POST", f"{CASE_API}/query/..%252fterminate"),
    ("POST", f"{CASE_API}/query/..%252Fterminate"),
    ("POST", f"{CASE_API}/query/..%255cterminate"),
    ("POST", f"{CASE_API}/query/%25252e%25252e/terminate"),
    ("POST", f"{CASE_API}/query/case;/../../terminate"),
    ("POST", f"{CASE_API}/terminate;/query/case"),
    ("POST", f"{CASE_API}/query/case%3b"),
    ("POST", f"{CASE_API}/query/case%3F/../../terminate"),
    ("POST", f"{CASE_API}//query/case"),
    ("POST", f"{CASE_API}/query//case"),
    ("POST", f"{CASE_API}/query/case%00"),
    ("POST", f"{CASE_API}/query/case%0a"),
    ("POST", f"{CASE_API}/query/case%7F"),
    ("POST", f"{CASE_API}/query/case%"),
    ("GET", f"{CASE_API}/./history"),
    ("GET", "/temporal/namespaces/default/../../desk/"),
    ("GET", "/temporal/" + "a" * 3000),
]
ABSOLUTE = ("POST", f"http://evil.example{CASE_API}/query/case")  # an absolute URL for a request target
RAW_CONTROL = ("POST", f"{CASE_API}/query/case\x01")
FORBIDDEN = [
    ("POST", f"{CASE_API}/terminate"),
    ("POST", f"{CASE_API}/signal/x"),
    ("POST", f"{CASE_API}/update/supervisor_identification"),
    ("POST", f"{CASE_API}/cancel"),
    ("POST", f"{CASE_API}/reset"),
    ("POST", CASE_API),  # starts a workflow
    ("POST", "/temporal/api/v1/namespaces/default/batch-operations/job-1"),
    ("POST", "/temporal/api/v1/namespaces/default/schedules/nightly/patch"),
    ("POST", f"{CASE_API}/query/terminate"),
    ("POST", f"{CASE_API}/query/supervisor_identification"),
    ("POST", f"{CASE_API}/query/CASE"),
    ("POST", f"{CASE_API}/query/case."),
    ("POST", f"{CASE_API}/query/%C0%AE%C0%AE/terminate"),  # an overlong UTF-8 dot is no dot, here or for Go
    ("POST", f"{CASE_API}/query/case/x"),
    ("POST", f"{CASE_API}/query/"),
    ("PUT", f"{CASE_API}/query/case"),
    ("PATCH", CASE_API),
    ("DELETE", CASE_API),
    ("OPTIONS", CASE_API),
    ("GET", f"{CASE_API}/terminate"),
    ("GET", f"{CASE_API}/query/case"),
    ("GET", f"{CASE_API}/history."),
    ("GET", "/temporal/api/v1/namespaces/default/workflows/"),
    ("GET", "/temporal/api/v2/settings"),
    ("GET", "/temporal/api"),
    ("POST", "/temporal/namespaces/default/workflows"),
    ("DELETE", "/temporal/"),
]
# What goes through, and the one plain form the UI's server gets it in.
GENUINE = [
    ("GET", CASE_API, CASE_API),
    # (A query string is no path: it goes as it came.)
    ("GET", f"{CASE_API}/history?waitNewEvent=true&q=a%2F..%2Fb", f"{CASE_API}/history?waitNewEvent=true&q=a%2F..%2Fb"),
    ("GET", f"{CASE_API[:-6]}%30f0f0f", CASE_API),
    ("POST", f"{CASE_API}/query/case", f"{CASE_API}/query/case"),
    ("POST", f"{CASE_API}/query/%63ase", f"{CASE_API}/query/case"),
    ("POST", f"{CASE_API}/query/__stack_trace", f"{CASE_API}/query/__stack_trace"),
    ("GET", "/temporal/render?content=%2A%2Ahi%2A%2A", "/temporal/temporal/render?content=%2A%2Ahi%2A%2A"),
]


def _sample(route: tuple[str, ...]) -> str:
    values = iter(["default", "incident-0f0f0f", "run-1", "build-1"])
    return "/temporal/api/v1/" + "/".join(next(values) if part == "{}" else part for part in route)


def _app_decides(method: str, target: str) -> int | None:
    try:
        path = ui_paths.normalise(target)
    except ui_paths.Malformed:
        return 400
    return None if temporal_ui.read_only(method, path) else 403


@pytest.mark.parametrize(("method", "target"), MALFORMED + [ABSOLUTE, RAW_CONTROL])
def test_a_path_in_any_form_but_the_plain_one_is_refused(method, target):
    with pytest.raises(ui_paths.Malformed):
        ui_paths.normalise(target.split("?")[0])


@pytest.mark.parametrize(("method", "target"), FORBIDDEN)
def test_anything_but_a_read_or_the_products_queries_is_refused(method, target):
    assert not temporal_ui.read_only(method, ui_paths.normalise(target))


def test_the_uis_pages_reads_and_queries_go_through_in_their_plain_form():
    for route in ui_paths.READS:
        path = _sample(route)
        assert temporal_ui.read_only("GET", path) and temporal_ui.read_only("HEAD", path), path
        assert not temporal_ui.read_only("POST", path) and not temporal_ui.read_only("DELETE", path), path
    for name in temporal_ui.QUERIES:
        assert temporal_ui.read_only("POST", f"{CASE_API}/query/{name}")
    for page in ("/temporal", "/temporal/", "/temporal/namespaces/default/workflows", "/temporal/_app/x.js"):
        assert temporal_ui.read_only("GET", page) and not temporal_ui.read_only("POST", page)
    for _, sent, plain in GENUINE:
        plain = plain.split("?")[0].replace("/temporal/temporal/", "/temporal/")  # (the render page's quirk)
        assert ui_paths.normalise(sent.split("?")[0]) == plain
    assert ui_paths.normalise("/temporal/caf%c3%a9%20x") == "/temporal/caf%C3%A9%20x"


def test_the_queries_are_the_workflows_own_and_the_sdks_read_only_ones():
    defined = ui_paths.queries_of(IncidentWorkflow, DigestWorkflow, PublishStatsWorkflow)
    assert {"case", "audit_trail"} <= defined
    assert temporal_ui.QUERIES == defined | {"__stack_trace", "__enhanced_stack_trace", "__temporal_workflow_metadata"}
    steps = workflow._Definition.must_from_class(IncidentWorkflow)
    assert not (set(steps.updates) | set(steps.signals)) & temporal_ui.QUERIES


def _front_door_maps() -> dict[str, list[tuple[re.Pattern | None, str]]]:
    """The site file's maps of the UI's rules: (pattern, value) in order, the default's pattern None."""
    maps = {}
    for name, body in re.findall(
        r'^map (?:"[^"]*"|\S+) \$(temporal_ui_\w+) \{\n(.*?)^\}', SITE.read_text(), re.MULTILINE | re.DOTALL
    ):
        entries = []
        for key, flags, pattern, value in re.findall(r'^\s*(default|"(~\*?)(.*)")\s+(\S+);$', body, re.MULTILINE):
            compiled = re.compile(pattern, re.IGNORECASE if flags == "~*" else 0) if key != "default" else None
            entries.append((compiled, "" if value == '""' else value))
        maps[name] = entries
    return maps


def _first(entries: list[tuple[re.Pattern | None, str]], value: str) -> str:
    found = [result for pattern, result in entries if pattern is not None and pattern.search(value)]
    return found[0] if found else next(result for pattern, result in entries if pattern is None)


def _front_door_decides(method: str, target: str) -> int | None:
    """What the site file's maps decide, with nginx's $uri: the path decoded, its slashes merged, `..` resolved."""
    maps = _front_door_maps()
    malformed = _first(maps["temporal_ui_malformed"], f"{method} {target} HTTP/1.1")
    path = unquote(urlsplit(target).path)
    uri = re.sub(r"/+", "/", path)
    while (resolved := re.sub(r"/(?!\.\.?/)[^/]+/\.\./|/\./", "/", uri)) != uri:
        uri = resolved
    refusal = _first(maps["temporal_ui_refusal"], f"{malformed} {method} {uri}")
    return int(refusal) if refusal else None


def test_the_front_door_decides_as_the_apps_proxy():
    """deploy/nginx/temporal-ui.conf says in nginx's words what referrals/web/ui_paths.py says (nginx itself, where it is
    installed, in test_the_front_door_refuses_..._nothing_reaches_the_ui below)."""
    assert {"temporal_ui_malformed", "temporal_ui_refusal"} <= set(_front_door_maps())
    site = SITE.read_text()
    named = re.search(r"/query/\(([^)]*)\)\$", site).group(1).split("|")
    assert sorted(named) == sorted(temporal_ui.QUERIES)
    samples = (
        MALFORMED
        + [ABSOLUTE, RAW_CONTROL]
        + FORBIDDEN
        + [(m, sent) for m, sent, _ in GENUINE]
        + [(m, _sample(route)) for route in ui_paths.READS for m in ("GET", "HEAD", "POST")]
        + [
            (m, page)
            for page in ("/temporal/", "/temporal/namespaces/default", "/temporal/_app/x.js")
            for m in ("GET", "HEAD", "POST", "PUT")
        ]
    )
    differ = [
        (method, target, _app_decides(method, target.split("?")[0]), _front_door_decides(method, target))
        for method, target in samples
        if _app_decides(method, target.split("?")[0]) != _front_door_decides(method, target)
    ]
    assert differ == []


# The UI's page, in short: its inline style, and its one inline script, which starts the UI.
UI_PAGE = (
    b'<!doctype html><html><head><style>html{color:#141414}</style></head><body><div id="svelte">'
    b"<script>boot()</script></div></body></html>"
)


class CountingUI:
    """A stand-in for the Temporal UI's server (HTTP on a loopback port) that keeps every request that reached it:
    (method, path as sent, headers). Its pages are the UI's page (gzipped for a client that takes gzip, as the UI's
    server does); its API answers JSON."""

    def __init__(self):
        self.seen: list[tuple[str, str, dict[str, str]]] = []
        seen = self.seen

        class Handler(BaseHTTPRequestHandler):
            def answer(self):
                self.rfile.read(int(self.headers.get("content-length") or 0))
                seen.append((self.command, self.path, {k.lower(): v for k, v in self.headers.items()}))
                page = "/api/" not in self.path and "/render" not in self.path
                zipped = page and "gzip" in self.headers.get("accept-encoding", "")
                body = (gzip.compress(UI_PAGE) if zipped else UI_PAGE) if page else b'{"reached": true}'
                self.send_response(200)
                self.send_header("Content-Type", "text/html" if page else "application/json")
                if zipped:
                    self.send_header("Content-Encoding", "gzip")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = answer

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_port
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


async def raw(
    port: int, method: str, target: str, *, cookie: str, body: bytes = b"", headers: tuple[tuple[str, str], ...] = ()
) -> tuple[int, list[tuple[str, str]], bytes]:
    """One request with its target exactly as written (httpx would tidy the path first): status, headers, body."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    lines = [
        f"{method} {target} HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        "Connection: close",
        f"Content-Length: {len(body)}",
        f"Cookie: {cookie}",
        *(f"{name}: {value}" for name, value in headers),
    ]
    writer.write("\r\n".join(lines).encode("latin-1") + b"\r\n\r\n" + body)
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    head, _, rest = answer.partition(b"\r\n\r\n")
    status, *fields = head.decode("latin-1").split("\r\n")
    pairs = [(name.strip().lower(), value.strip()) for name, _, value in (f.partition(":") for f in fields)]
    if ("transfer-encoding", "chunked") in pairs:
        rest = _unchunked(rest)
    return int(status.split()[1]), pairs, rest


def _unchunked(data: bytes) -> bytes:
    out = b""
    while data:
        size, _, data = data.partition(b"\r\n")
        if not int(size, 16):
            return out
        out, data = out + data[: int(size, 16)], data[int(size, 16) + 2 :]
    return out


def _header(pairs: list[tuple[str, str]], name: str) -> list[str]:
    return [value for key, value in pairs if key == name]


@pytest.fixture(scope="module")
def counting_ui():
    ui = CountingUI()
    yield ui
    ui.close()


@pytest.fixture(scope="module")
async def auditor_cookie(url, people) -> str:
    async with httpx.AsyncClient(base_url=url) as page:
        await sign_in(page, people.tokens["auditor"])
        return f"_csrf=abc; referrals_session={page.cookies['referrals_session']}"


@pytest.fixture(scope="module")
async def counted_port(ui_settings, counting_ui):
    """The whole app on a port of its own, its proxy's upstream the counting stand-in."""
    port = free_port()
    async with serving(
        ui_settings.model_copy(update={"temporal_ui_upstream": f"http://127.0.0.1:{counting_ui.port}"}), port
    ):
        yield port


async def _refused(port: int, counting_ui: CountingUI, cookie: str, method: str, target: str) -> tuple[int, bytes]:
    before = len(counting_ui.seen)
    status, _, body = await raw(port, method, target, cookie=cookie, body=b"{}" if method == "POST" else b"")
    assert counting_ui.seen[before:] == [], (method, target)  # nothing reached the UI's server
    return status, body


def _error(body: bytes) -> dict:
    return json.loads(body)["error"]


@pytest.mark.parametrize(("method", "target"), MALFORMED + [RAW_CONTROL])
async def test_the_proxy_refuses_a_malformed_path_and_nothing_reaches_the_ui(
    counted_port, counting_ui, auditor_cookie, method, target
):
    status, body = await _refused(counted_port, counting_ui, auditor_cookie, method, target)
    assert status == 400
    if (method, target) != RAW_CONTROL:  # (that one uvicorn refuses itself, before the app)
        assert _error(body)["code"] == "bad_request" and "address" in _error(body)["message"]


async def test_the_proxy_never_takes_an_absolute_url_for_the_ui(counted_port, counting_ui, auditor_cookie):
    status, _ = await _refused(counted_port, counting_ui, auditor_cookie, *ABSOLUTE)
    assert status == 404  # not a path of the app's at all: it never reaches the proxy


@pytest.mark.parametrize(("method", "target"), FORBIDDEN)
async def test_the_proxy_refuses_anything_but_reads_and_the_products_queries(
    counted_port, counting_ui, auditor_cookie, method, target
):
    status, body = await _refused(counted_port, counting_ui, auditor_cookie, method, target)
    assert status == 403 and _error(body)["message"] == temporal_ui.READ_ONLY


async def test_the_proxy_sends_the_uis_reads_and_queries_on_in_their_plain_form(
    counted_port, counting_ui, auditor_cookie
):
    for method, sent, plain in GENUINE:
        before = len(counting_ui.seen)
        status, _, _ = await raw(
            counted_port,
            method,
            sent,
            cookie=auditor_cookie,
            body=b"{}" * (method == "POST"),
            headers=(("X-HTTP-Method-Override", "DELETE"),),
        )
        assert status == 200, (method, sent)
        [(reached_method, reached, headers)] = counting_ui.seen[before:]
        assert (reached_method, reached) == (method, plain)
        assert "x-http-method-override" not in headers and headers["cookie"] == "_csrf=abc"


async def test_the_proxy_records_each_refusal_in_the_access_trail(
    counted_port, counting_ui, auditor_cookie, sessions, people
):
    since = datetime.now(UTC)
    await _refused(
        counted_port, counting_ui, auditor_cookie, "POST", f"{CASE_API}/query/../update/supervisor_identification"
    )
    await _refused(counted_port, counting_ui, auditor_cookie, "POST", f"{CASE_API}/update/supervisor_identification")
    async with sessions() as session:
        found = (
            await session.exec(
                select(AccessEntryRow)
                .where(
                    AccessEntryRow.at >= since,
                    AccessEntryRow.user_id == people.ids["auditor"],
                    AccessEntryRow.action.startswith("temporal_ui"),
                )
                .order_by(AccessEntryRow.seq)
            )
        ).all()
    assert [(e.action, e.outcome, e.case_id) for e in found] == [
        ("temporal_ui_write", "refused", None),
        ("temporal_ui_write", "refused", "0f0f0f"),
    ]
    details = json.loads(found[0].details)
    assert details["method"] == "POST" and "`..`" in details["reason"]


async def test_the_uis_page_carries_a_policy_whose_nonce_only_its_own_script_has(
    counted_port, counting_ui, auditor_cookie
):
    status, headers, body = await raw(
        counted_port,
        "GET",
        "/temporal/namespaces/default/workflows",
        cookie=auditor_cookie,
        headers=(("Accept-Encoding", "gzip"),),
    )
    assert status == 200 and _header(headers, "content-encoding") == []  # unzipped, to give its script the nonce
    [policy] = _header(headers, "content-security-policy")
    nonce = re.search(r"'nonce-([0-9a-f]{32})'", policy).group(1)
    assert body == UI_PAGE.replace(b"<script>", f'<script nonce="{nonce}">'.encode())
    assert _header(headers, "content-length") == [str(len(body))]
    assert policy == temporal_ui.CSP.format(nonce=f" 'nonce-{nonce}'")
    for directive in (
        "default-src 'self'",
        "connect-src 'self'",
        "frame-ancestors 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "style-src 'self' 'unsafe-inline'",
    ):
        assert directive in policy
    assert "http" not in policy and "*" not in policy  # no other origin
    _, headers, _ = await raw(counted_port, "GET", "/temporal/", cookie=auditor_cookie)
    assert nonce not in _header(headers, "content-security-policy")[0]  # one for each page
    _, headers, _ = await raw(counted_port, "GET", "/temporal/render?content=x", cookie=auditor_cookie)
    assert _header(headers, "content-security-policy") == [temporal_ui.CSP.format(nonce="")]  # its content: no nonce
    _, headers, _ = await raw(counted_port, "GET", "/temporal/api/v1/settings", cookie=auditor_cookie)
    assert _header(headers, "content-security-policy") == []


class Browser:
    """One person at their own browser, signed in on the desk's form."""

    def __init__(self, browser, url: str):
        self.browser, self.url = browser, url

    async def sign_in(self, token: str):
        context = await self.browser.new_context(base_url=self.url, viewport=LAPTOP)
        page = await context.new_page()
        await page.goto("/desk/")
        await page.get_by_label("Access token").fill(token)
        await page.get_by_role("button", name="Sign in").click()
        await page.wait_for_url(re.compile(r"/desk/$"))
        return page


async def _visible_text(page) -> str:
    """The page's text and its frames' (the UI renders markdown, the summary and details, in frames of its own)."""
    texts = []
    for frame in page.frames:
        try:
            texts.append(await frame.locator("body").inner_text(timeout=2000))
        except Exception:  # a frame navigating or gone meanwhile
            pass
    return "\n".join(texts)


async def _text_of(page, *needles: str, timeout: float = 20.0) -> str:
    """The page's visible text once every needle is in it (the UI fills itself in after its calls answer)."""
    text = ""
    for _ in range(int(timeout / 0.25)):
        text = await _visible_text(page)
        if all(needle in text for needle in needles):
            return text
        await page.wait_for_timeout(250)
    missing = [needle for needle in needles if needle not in text]
    raise AssertionError(f"not on the page after {timeout:g} s: {missing}\n---\n{text[:4000]}")


@needs_chromium
async def test_an_auditor_follows_the_desks_link_and_reads_the_case_decrypted(url, case, people, shots):
    number = case["case_number"]
    async with chromium() as browser:
        page = await Browser(browser, url).sign_in(people.tokens["auditor"])
        codec_calls, sockets = [], []
        page.on("response", lambda r: codec_calls.append((r.url, r.status)) if "/codec/" in r.url else None)
        page.on("websocket", lambda ws: sockets.append(ws.url))
        failed = []  # e.g. the history's long poll cut off by the API's request deadline, shown as "503" in the UI
        page.on("response", lambda r: failed.append((r.url, r.status)) if r.status >= 500 else None)
        blocked = []  # what the pages' Content-Security-Policy kept from running or loading
        page.on("console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None)

        await page.goto(f"/desk/cases/{case['id']}")
        await page.get_by_role("link", name="Open in Temporal UI").click()
        await page.wait_for_url(re.compile(re.escape(ui_page(case))))
        # The input, decrypted: the filing as the officer sent it.
        text = await _text_of(page, EVENT_NUMBER, '"case_number"', f'"{number}"')
        assert NO_CODEC not in text
        await shots.take(page, "auditor-workflow-input-decrypted")

        # Its summary (the workflow's static summary) and current details (its markdown status), decrypted too.
        await page.get_by_role("tab", name="User Metadata").click()
        summary = f"Incident referral {number} · district 010"
        text = await _text_of(page, summary, f"{number} · district 010 · stage Investigation", "Footage hold: open")
        assert NO_CODEC not in text and "No summary available" not in text and "No Current Details" not in text
        assert "open the case on the desk" in text and (" CST" in text or " CDT" in text)  # Chicago's clock
        await shots.take(page, "auditor-workflow-summary-and-details")
        # The details' link goes back to the case on the desk (the UI draws the markdown in a frame of its own, and
        # opens the link in a tab of its own).
        details = [f for f in page.frames if "/temporal/render" in f.url and "open%20the%20case" in f.url]
        async with page.context.expect_page(timeout=10_000) as opened:
            await details[0].locator("a", has_text="open the case on the desk").first.click()
        desk_page = await opened.value
        await desk_page.wait_for_load_state()
        assert re.search(r"/desk/cases/[0-9a-f-]{36}$", desk_page.url), desk_page.url
        assert number in await desk_page.title()
        await desk_page.close()
        await page.wait_for_timeout(5000)  # past the API's request deadline, while the UI long-polls the history

        assert codec_calls and all(status == 200 for _, status in codec_calls), codec_calls
        assert {call.split("?")[0] for call, _ in codec_calls} <= {f"{url}/codec/decode", f"{url}/codec/encode"}
        assert sockets == []  # the UI polls over plain HTTP: nothing else for the proxy to carry
        assert failed == []

        # The UI's own navigation stays behind the door: the list of workflows, found by case number.
        await page.goto("/temporal/namespaces/default/workflows?query=" + f"CaseNumber%3D%27{number}%27")
        await _text_of(page, f"incident-{case['id']}")
        await shots.take(page, "auditor-workflow-list")
        assert blocked == []  # the pages' policy lets the UI work: its scripts, styles, calls and frames


@needs_chromium
async def test_an_officer_following_the_link_gets_a_page_saying_why_not(url, case, people, shots):
    async with chromium() as browser:
        page = await Browser(browser, url).sign_in(people.tokens["officer"])
        await page.goto(f"/desk/cases/{case['id']}")
        await page.get_by_role("link", name="Open in Temporal UI").click()
        await page.wait_for_url(re.compile(re.escape(ui_page(case))))
        heading = await page.get_by_role("heading", level=1).inner_text()
        alert = await page.get_by_role("alert").inner_text()
        assert heading == "Not allowed: the Temporal UI"
        assert "shows every case" in alert and "officer" in alert
        text = await page.locator("body").inner_text()
        assert "binary/encrypted" not in text and "encoding" not in text
        await shots.take(page, "officer-refused")
        await page.get_by_role("link", name="Back to the case on the desk").click()
        await page.wait_for_url(re.compile(rf"/desk/cases/{case['id']}$"))
        assert case["case_number"] in await page.get_by_role("heading", level=1).inner_text()


@asynccontextmanager
async def _nginx(folder, api_port: int, ui_port: int):
    """deploy/nginx/temporal-ui.conf as docker compose runs it, its upstreams these ports: its port."""
    folder.chmod(0o755)
    port = free_port()
    proc = start_front_door(folder, front_door_conf(folder, port=port, api_port=api_port, ui_port=ui_port))
    try:
        async with httpx.AsyncClient() as client:
            for _ in range(100):
                try:
                    await client.get(f"http://127.0.0.1:{port}/healthz")
                    break
                except httpx.TransportError:
                    assert proc.poll() is None, (folder / "error.log").read_text()
                    await asyncio.sleep(0.05)
        yield port
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture(scope="module")
async def front_door(url, ports, tmp_path_factory):
    """The front door, its upstreams this module's API and UI: its address."""
    async with _nginx(tmp_path_factory.mktemp("nginx"), ports["api"], ports["ui"]) as port:
        yield f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
async def counted_front_door(url, ports, counting_ui, tmp_path_factory):
    """The front door, its upstreams this module's API (which it asks) and the counting stand-in for the UI."""
    async with _nginx(tmp_path_factory.mktemp("nginx-counted"), ports["api"], counting_ui.port) as port:
        yield port


needs_nginx = pytest.mark.skipif(NGINX is None, reason="nginx is not installed (`apt-get install nginx-light`)")


@needs_nginx
@pytest.mark.parametrize(("method", "target"), MALFORMED + [ABSOLUTE, RAW_CONTROL])
async def test_the_front_door_refuses_a_malformed_path_and_nothing_reaches_the_ui(
    counted_front_door, counting_ui, auditor_cookie, method, target
):
    status, body = await _refused(counted_front_door, counting_ui, auditor_cookie, method, target)
    assert status == 400
    if target not in (f"{CASE_API}/query/case%00", f"{CASE_API}/query/case%", RAW_CONTROL[1]):  # nginx's own 400
        assert _error(body)["code"] == "bad_request"


@needs_nginx
@pytest.mark.parametrize(("method", "target"), FORBIDDEN)
async def test_the_front_door_refuses_anything_but_reads_and_the_products_queries(
    counted_front_door, counting_ui, auditor_cookie, method, target
):
    status, body = await _refused(counted_front_door, counting_ui, auditor_cookie, method, target)
    assert status == 403 and _error(body)["message"] == temporal_ui.READ_ONLY


@needs_nginx
async def test_the_front_door_sends_the_uis_reads_and_queries_on_in_their_plain_form(
    counted_front_door, counting_ui, auditor_cookie
):
    reads = [("GET", _sample(route), _sample(route)) for route in ui_paths.READS]
    for method, sent, plain in GENUINE + reads:
        before = len(counting_ui.seen)
        status, _, _ = await raw(
            counted_front_door,
            method,
            sent,
            cookie=auditor_cookie,
            body=b"{}" * (method == "POST"),
            headers=(("X-HTTP-Method-Override", "DELETE"),),
        )
        assert status == 200, (method, sent)
        [(reached_method, reached, headers)] = counting_ui.seen[before:]
        assert (reached_method, reached) == (method, plain)
        assert "x-http-method-override" not in headers and headers["cookie"] == "_csrf=abc"


@needs_nginx
async def test_the_front_doors_page_carries_a_policy_whose_nonce_only_its_own_script_has(
    counted_front_door, counting_ui, auditor_cookie
):
    nonces = set()
    for _ in range(2):
        status, headers, body = await raw(
            counted_front_door, "GET", "/temporal/namespaces/default/workflows", cookie=auditor_cookie
        )
        [policy] = _header(headers, "content-security-policy")
        nonce = re.search(r"'nonce-([0-9a-f]{32})'", policy).group(1)
        assert status == 200 and body == UI_PAGE.replace(b"<script>", f'<script nonce="{nonce}">'.encode())
        assert policy == temporal_ui.CSP.format(nonce=f" 'nonce-{nonce}'")  # the app's own policy, word for word
        nonces.add(nonce)
    assert len(nonces) == 2
    _, headers, _ = await raw(counted_front_door, "GET", "/temporal/render?content=x", cookie=auditor_cookie)
    assert _header(headers, "content-security-policy") == [temporal_ui.CSP.format(nonce="")]
    # The page is asked for uncompressed (for its nonce); the UI's assets as the browser takes them.
    for path, asked in (("/temporal/", None), ("/temporal/_app/immutable/entry/start.js", "gzip")):
        await raw(counted_front_door, "GET", path, cookie=auditor_cookie, headers=(("Accept-Encoding", "gzip"),))
        assert counting_ui.seen[-1][2].get("accept-encoding") == asked


@needs_nginx
async def test_the_front_door_leaves_one_trail_entry_per_page_view_and_records_a_read_with_no_page(
    url, front_door, people, sessions
):
    """Behind nginx the app sees the UI's requests only as its check (auth_request): the trail is the same as
    behind the app's own proxy. A page view is one entry, its polls fold into it, and a read with no page before it
    is recorded whatever its headers say."""
    async with httpx.AsyncClient(base_url=url) as api:
        opened, scripted = [
            (await api.post("/incidents", json=filing(), headers=people.headers("officer"))).json() for _ in range(2)
        ]
    auditor = people.ids["auditor"]
    async with httpx.AsyncClient(base_url=front_door) as page:
        await sign_in(page, people.tokens["auditor"])
        assert (await page.get(f"{ui_page(opened)}/history")).status_code == 200
        workflow = f"/temporal/api/v1/namespaces/default/workflows/incident-{opened['id']}"
        for _ in range(3):
            for path in (workflow, f"{workflow}/history"):
                assert (await page.get(path, headers=LOOKS_LIKE_A_POLL)).status_code == 200
        assert await _reads(sessions, auditor, opened["id"]) == [
            ("temporal_ui_read", "allowed", {"page": f"{ui_page(opened)}/history"})
        ]
        direct = f"/temporal/api/v1/namespaces/default/workflows/incident-{scripted['id']}"
        for _ in range(2):
            assert (await page.get(direct, headers=LOOKS_LIKE_A_POLL)).status_code == 200
        assert await _reads(sessions, auditor, scripted["id"]) == [("temporal_ui_read", "allowed", {})]


@needs_nginx
async def test_compose_front_door_asks_the_api_before_the_ui(front_door, case, people):
    async with httpx.AsyncClient(base_url=front_door) as anonymous:
        home = await anonymous.get("/temporal/")
        assert home.status_code == 303 and home.headers["location"] == "/desk/sign-in?next=/temporal/"
        page = await anonymous.get(ui_page(case))
        assert page.status_code == 303 and page.headers["location"] == f"/desk/sign-in?next={ui_page(case)}"
        assert (await anonymous.get("/temporal/api/v1/settings")).status_code == 401
        posted = await anonymous.post(
            f"/temporal/api/v1/namespaces/default/workflows/incident-{case['id']}/terminate", json={"reason": "no"}
        )
        assert posted.status_code == 403  # at once, before any check: the UI is read-only behind the front door
        assert (await anonymous.get("/desk/sign-in")).status_code == 200  # everything else: the API

    async with httpx.AsyncClient(base_url=front_door) as auditor:
        await sign_in(auditor, people.tokens["auditor"])
        opened = await auditor.get(ui_page(case))
        assert opened.status_code == 200 and 'href="/temporal/_app/' in opened.text
        nonce = re.search(r"'nonce-([0-9a-f]{32})'", opened.headers["content-security-policy"]).group(1)
        assert opened.text.count("<script") == opened.text.count(f'<script nonce="{nonce}">') == 1
        settings = await auditor.get("/temporal/api/v1/settings")
        assert settings.status_code == 200 and settings.json()["Codec"]["Endpoint"].endswith("/codec")
        rendered = await auditor.get("/temporal/render", params={"content": "**CPD** status", "theme": "light"})
        assert "<strong>CPD</strong> status" in rendered.text  # the summary's and details' frames
        sample = {"payloads": [{"metadata": {"encoding": "YmluYXJ5L3BsYWlu"}, "data": "aGVsbG8="}]}
        decoded = await auditor.post("/codec/decode", json=sample)
        assert decoded.status_code == 200  # the UI's codec call, same-origin, with the desk's cookie
        terminate = await auditor.post(
            f"/temporal/api/v1/namespaces/default/workflows/incident-{case['id']}/terminate", json={"reason": "no"}
        )
        assert terminate.status_code == 403  # the front door is read-only too

    async with httpx.AsyncClient(base_url=front_door) as officer:
        await sign_in(officer, people.tokens["officer"])
        refused = await officer.get(ui_page(case))
        assert refused.status_code == 403 and "shows every case" in refused.text
        assert f'href="/desk/cases/{case["id"]}"' in refused.text
        assert (await officer.get("/temporal/api/v1/settings")).status_code == 403


@needs_nginx
async def test_compose_front_door_caches_the_public_figures_and_passes_a_publication(url, front_door, people):
    async with httpx.AsyncClient(base_url=front_door) as door, httpx.AsyncClient(base_url=url) as api:
        published = await door.post("/public/snapshots", headers=people.headers("admin"))
        assert published.status_code == 201, published.text  # with its Authorization, through to the API
        assert published.headers.get("X-Cache-Status") is None
        direct = await api.get("/public/stats")
        assert direct.status_code == 200 and direct.json()["snapshot_id"] == published.json()["id"]
        asked = API_REQUESTS["GET", "/public/stats"]

        first, second = await door.get("/public/stats"), await door.get("/public/stats")
        assert (first.headers["X-Cache-Status"], second.headers["X-Cache-Status"]) == ("MISS", "HIT")
        assert first.content == second.content == direct.content
        assert first.headers["ETag"] == second.headers["ETag"] == direct.headers["ETag"]
        assert second.headers["Cache-Control"] == direct.headers["Cache-Control"] == "public, max-age=300"
        conditional = await door.get("/public/stats", headers={"If-None-Match": direct.headers["ETag"]})
        assert conditional.status_code == 304 and conditional.headers["X-Cache-Status"] == "HIT"
        assert conditional.content == b""
        burst = await asyncio.gather(*(door.get("/public/stats") for _ in range(20)))
        assert {(r.status_code, r.headers["X-Cache-Status"]) for r in burst} == {(200, "HIT")}
        assert API_REQUESTS["GET", "/public/stats"] == asked + 1  # the first miss only

        refused = await door.post("/public/snapshots")  # never cached: each POST is the API's to answer
        assert refused.status_code == 401 and refused.headers.get("X-Cache-Status") is None
        assert API_REQUESTS["POST", "/public/snapshots"] == 2
