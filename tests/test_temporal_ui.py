"""The Temporal UI behind the desk's door: the real dev server's UI with its public path at /temporal, proxied by
the API at its own origin (REFERRALS_TEMPORAL_UI_UPSTREAM), open only to people signed in at the desk whose roles
see every case; its codec calls are then same-origin, so the desk's cookie goes with them and the case's page
shows its input, summary and current details decrypted. In Chromium where it is installed."""

import asyncio
import re
import uuid
from collections import Counter

import httpx
import pytest
import uvicorn
from starlette.requests import Request
from temporalio.testing import WorkflowEnvironment

from api.main import create_app
from config import Settings
from devstack import temporal
from devstack.front_door import NGINX
from devstack.front_door import configure as front_door_conf
from devstack.front_door import start as start_front_door
from domain import search_attributes as sa
from temporal_client import data_converter
from tests.browser import SCREENSHOTS, Shots, _free_port, chromium, needs_chromium
from tests.conftest import TEST_KEYS
from tests.desk_client import sign_in
from tests.scenario import filing
from web import temporal_ui
from worker import build_worker

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
    return {"api": _free_port(), "ui": _free_port()}


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
        dev_server_extra_args=["--ui-public-path", "/temporal", "--ui-disable-news-fetch",
                               "--ui-codec-endpoint", f"http://127.0.0.1:{ports['api']}/codec"],
    )
    async with httpx.AsyncClient() as client:  # the UI reaches the frontend a moment after it is up (its backoff)
        for _ in range(200):
            try:
                if (await client.get(f"http://127.0.0.1:{ports['ui']}/temporal/api/v1/namespaces/default")
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
        server = uvicorn.Server(uvicorn.Config(_counted(app), host="127.0.0.1", port=ports["api"],
                                               log_level="warning", lifespan="on", timeout_graceful_shutdown=1))
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
        for method, path in (("GET", "/temporal/api/v1/settings"), ("GET", workflow),
                             ("POST", f"{workflow}/terminate")):
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
        assert any(c.startswith("_csrf=") for c in html.headers.get_list("set-cookie"))  # the UI's own cookie
        settings = (await page.get("/temporal/api/v1/settings")).json()
        assert settings["Codec"]["Endpoint"] == f"{url}/codec"
        described = await page.get(f"/temporal/api/v1/namespaces/default/workflows/incident-{case['id']}")
        assert described.status_code == 200, described.text
        assert described.json()["workflowExecutionInfo"]["execution"]["workflowId"] == f"incident-{case['id']}"
        listed = await page.get("/temporal/api/v1/namespaces/default/workflows",
                                params={"query": f"CaseNumber = '{case['case_number']}'"})
        assert [e["execution"]["workflowId"] for e in listed.json()["executions"]] == [f"incident-{case['id']}"]
        # /temporal without its slash: the UI's own answer, through the proxy too.
        assert (await page.get("/temporal")).status_code in (200, 301, 308)
        # Read-only: the UI's terminate never reaches Temporal; cases change through the desk and the API alone.
        terminate = await page.post(f"/temporal/api/v1/namespaces/default/workflows/incident-{case['id']}/terminate",
                                    json={"reason": "tidying up"})
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
            f"/desk/sign-in?next={ui_page(case)}")
        elsewhere = await page.get("/desk/temporal-ui/refused", headers={"X-Original-URI": "https://evil.example/"})
        assert elsewhere.headers["location"] == "/desk/sign-in?next=/temporal/"
        await sign_in(page, people.tokens["supervisor"])
        refused = await page.get("/desk/temporal-ui/refused", headers=original)
        assert refused.status_code == 403 and "shows every case" in refused.text
        assert f'href="/desk/cases/{case["id"]}"' in refused.text


def test_the_proxy_keeps_the_desks_cookies_and_hop_by_hop_headers_from_the_ui():
    scope = {"type": "http", "method": "GET", "path": "/temporal/", "query_string": b"", "scheme": "http",
             "server": ("127.0.0.1", 8000), "client": ("127.0.0.1", 5000), "headers": [
                 (b"host", b"127.0.0.1:8000"), (b"cookie", b"referrals_session=secret; _csrf=abc; referrals_signin=n"),
                 (b"connection", b"keep-alive, X-Private"), (b"x-private", b"1"), (b"accept", b"text/html"),
                 (b"upgrade", b"h2c")]}
    forwarded = dict(temporal_ui._forwarded(Request(scope)))
    assert forwarded["cookie"] == "_csrf=abc" and forwarded["accept"] == "text/html"
    assert not {"host", "connection", "x-private", "upgrade"} & set(forwarded)
    assert forwarded["x-forwarded-host"] == "127.0.0.1:8000" and forwarded["x-forwarded-proto"] == "http"
    answer = httpx.Response(302, headers=[("Location", "http://ui:8080/temporal/x"), ("Set-Cookie", "a=1"),
                                          ("Set-Cookie", "b=2"), ("Transfer-Encoding", "chunked")])
    returned = temporal_ui._returned(answer, "http://ui:8080", "https://referrals.example.org")
    assert returned == [(b"location", b"https://referrals.example.org/temporal/x"), (b"set-cookie", b"a=1"),
                        (b"set-cookie", b"b=2")]


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
        text = await _text_of(page, summary, f"{number} · district 010 · stage investigation", "footage_hold: open")
        assert NO_CODEC not in text and "No summary available" not in text and "No Current Details" not in text
        await shots.take(page, "auditor-workflow-summary-and-details")
        await page.wait_for_timeout(5000)  # past the API's request deadline, while the UI long-polls the history

        assert codec_calls and all(status == 200 for _, status in codec_calls), codec_calls
        assert {call.split("?")[0] for call, _ in codec_calls} <= {f"{url}/codec/decode", f"{url}/codec/encode"}
        assert sockets == []  # the UI polls over plain HTTP: nothing else for the proxy to carry
        assert failed == []

        # The UI's own navigation stays behind the door: the list of workflows, found by case number.
        await page.goto("/temporal/namespaces/default/workflows?query=" + f"CaseNumber%3D%27{number}%27")
        await _text_of(page, f"incident-{case['id']}")
        await shots.take(page, "auditor-workflow-list")


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




@pytest.fixture(scope="module")
async def front_door(url, ports, tmp_path_factory):
    """deploy/nginx/temporal-ui.conf as docker compose runs it, its upstreams this module's API and UI."""
    folder = tmp_path_factory.mktemp("nginx")
    folder.chmod(0o755)
    port = _free_port()
    conf = front_door_conf(folder, port=port, api_port=ports["api"], ui_port=ports["ui"])
    proc = start_front_door(folder, conf)
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient() as client:
            for _ in range(100):
                try:
                    await client.get(f"{base}/healthz")
                    break
                except httpx.TransportError:
                    assert proc.poll() is None, (folder / "error.log").read_text()
                    await asyncio.sleep(0.05)
        yield base
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.mark.skipif(NGINX is None, reason="nginx is not installed (`apt-get install nginx-light`)")
async def test_compose_front_door_asks_the_api_before_the_ui(front_door, case, people):
    async with httpx.AsyncClient(base_url=front_door) as anonymous:
        home = await anonymous.get("/temporal/")
        assert home.status_code == 303 and home.headers["location"] == "/desk/sign-in?next=/temporal/"
        page = await anonymous.get(ui_page(case))
        assert page.status_code == 303 and page.headers["location"] == f"/desk/sign-in?next={ui_page(case)}"
        assert (await anonymous.get("/temporal/api/v1/settings")).status_code == 401
        posted = await anonymous.post(f"/temporal/api/v1/namespaces/default/workflows/incident-{case['id']}"
                                      "/terminate", json={"reason": "no"})
        assert posted.status_code == 403  # at once, before any check: the UI is read-only behind the front door
        assert (await anonymous.get("/desk/sign-in")).status_code == 200  # everything else: the API

    async with httpx.AsyncClient(base_url=front_door) as auditor:
        await sign_in(auditor, people.tokens["auditor"])
        opened = await auditor.get(ui_page(case))
        assert opened.status_code == 200 and 'href="/temporal/_app/' in opened.text
        settings = await auditor.get("/temporal/api/v1/settings")
        assert settings.status_code == 200 and settings.json()["Codec"]["Endpoint"].endswith("/codec")
        rendered = await auditor.get("/temporal/render", params={"content": "**CPD** status", "theme": "light"})
        assert "<strong>CPD</strong> status" in rendered.text  # the summary's and details' frames
        sample = {"payloads": [{"metadata": {"encoding": "YmluYXJ5L3BsYWlu"}, "data": "aGVsbG8="}]}
        encoded = await auditor.post("/codec/encode?preserveStorageRefs=true", json=sample)
        assert encoded.status_code == 200  # the UI's codec call, same-origin, with the desk's cookie
        terminate = await auditor.post(f"/temporal/api/v1/namespaces/default/workflows/incident-{case['id']}"
                                       "/terminate", json={"reason": "no"})
        assert terminate.status_code == 403  # the front door is read-only too

    async with httpx.AsyncClient(base_url=front_door) as officer:
        await sign_in(officer, people.tokens["officer"])
        refused = await officer.get(ui_page(case))
        assert refused.status_code == 403 and "shows every case" in refused.text
        assert f'href="/desk/cases/{case["id"]}"' in refused.text
        assert (await officer.get("/temporal/api/v1/settings")).status_code == 403


@pytest.mark.skipif(NGINX is None, reason="nginx is not installed (`apt-get install nginx-light`)")
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
