"""The desk served for a real browser: uvicorn on a loopback port, Debian's Chromium driven by Playwright."""

import asyncio
import os
import re
import shutil
import warnings
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import uvicorn

from referrals.api.main import create_app
from referrals.devstack.procs import free_port

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = Path(os.environ.get("REFERRALS_TEST_ARTIFACTS", Path(__file__).resolve().parents[2] / "artifacts"))
SCREENSHOTS = ARTIFACTS / "screenshots"

needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="Debian's chromium is not installed (`apt-get install chromium`; .ci/run does it as root)"
)


@asynccontextmanager
async def serving(settings, port: int | None = None):
    """The whole app (API and desk) on a real port in this event loop; yields its base URL."""
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    app = create_app(settings.model_copy(update={"public_url": url}))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()  # raises what stopped it
        await asyncio.sleep(0.02)
    try:
        yield url
    finally:
        server.should_exit = True
        await task


@asynccontextmanager
async def chromium():
    """Chromium, in which axe-core checks every page of ours that loads (`Axe`): a WCAG 2.1 A or AA violation on
    any of them fails the test when the browser closes."""
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        axe = Axe()
        try:
            yield axe.watching(browser)
            await axe.settle()
        finally:
            await browser.close()
        axe.require_none()


# npm's axe-core, installed by `make install` (tests/support/axe/package.json).
AXE_SCRIPT = Path(__file__).parent / "axe" / "node_modules" / "axe-core" / "axe.min.js"
# The pages that are ours: the desk and the public figures (the Temporal UI and the OpenID provider are not).
OURS = re.compile(r"^https?://[^/]+/(desk|public)(/|$)")
# Run in every document before its own scripts (Playwright's init script: the page's CSP does not apply to it): on a
# page of ours, axe-core runs once the page has loaded and reports what it found through a binding.
IN_PAGE = """if (/^[/](desk|public)([/]|$)/.test(location.pathname)) {
%s
window.addEventListener('load', () => {
  const tags = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];
  const document_id = performance.timeOrigin;  // this document's, told apart from the next one's in the same tab
  window.__axeStarted(document_id);
  axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})
    .then(result => result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))})))
    .then(found => window.__axeReport(document_id, location.href, found, null),
          error => window.__axeReport(document_id, location.href, [], String(error)));
});
}"""
# How long leaving a page waits for its check before going on without it.
PATIENCE = 10.0


class Axe:
    """axe-core on every page of ours, in every context of a browser: it runs in the page once it has loaded, and
    leaving the page for another of ours waits for its report (so a test that moves on at once still has the page
    checked). The page says when its check starts and what it found, through two bindings, in that order, naming its
    document. `violations` holds what it found, `checked` the pages it checked, `unfinished` the pages left before
    their check ended (a page that moved on by itself, or one left for another site)."""

    def __init__(self) -> None:
        if not AXE_SCRIPT.exists():
            raise RuntimeError(f"axe-core is not installed ({AXE_SCRIPT}): run `make install`")
        self.script = IN_PAGE % AXE_SCRIPT.read_text()
        self.violations: list[tuple[str, dict]] = []
        self.checked: list[str] = []
        self.errors: list[tuple[str, str]] = []
        self.unfinished: list[str] = []
        # page -> (its document whose check started last, set once that document has reported)
        self.running: dict[object, tuple[float, asyncio.Event]] = {}

    def watching(self, browser):
        original = browser.new_context

        async def new_context(*args, **kwargs):
            context = await original(*args, **kwargs)
            if kwargs.get("java_script_enabled") is False:  # axe-core runs in the page: nothing to check with
                return context
            await context.add_init_script(script=self.script)
            await context.expose_binding("__axeStarted", self._started)
            await context.expose_binding("__axeReport", self._report)
            context.on("page", lambda page: page.on("close", lambda: self.running.pop(page, None)))
            await context.route(lambda url: bool(OURS.match(url)), self._hold_navigation)
            return context

        browser.new_context = new_context
        browser.axe = self
        return browser

    def _started(self, source, document: float) -> None:
        self.running[source["page"]] = (document, asyncio.Event())

    def _report(self, source, document: float, url: str, found: list[dict], error: str | None) -> None:
        if error:
            self.errors.append((url, error))
        else:
            self.checked.append(url)
            self.violations.extend((url, violation) for violation in found)
        if (running := self.running.get(source["page"])) is not None and running[0] == document:
            running[1].set()

    async def _hold_navigation(self, route) -> None:
        """A page of ours is left once axe has reported on it: the next page's request waits for the report (the
        page stays until the answer comes)."""
        from playwright.async_api import Error

        request = route.request
        try:
            frame = request.frame if request.is_navigation_request() else None
        except Error:  # a popup's first request comes before its page (Playwright has no frame for it yet)
            frame = None
        if frame is not None and frame.parent_frame is None:
            # Left in `running` while waiting: a report that comes now still finds its document there and says so.
            running = self.running.get(frame.page)
            if running is not None:
                try:
                    await asyncio.wait_for(running[1].wait(), PATIENCE)
                except TimeoutError:
                    self.unfinished.append(frame.page.url)
                if self.running.get(frame.page) is running:
                    del self.running[frame.page]
        try:
            await route.continue_()
        except Error:  # the browser dropped the request meanwhile (a page that moved on by itself)
            pass

    async def settle(self) -> None:
        """Waits for the reports of the pages still open."""
        waiting = [asyncio.ensure_future(event.wait()) for _, event in self.running.values()]
        if waiting:
            await asyncio.wait(waiting, timeout=PATIENCE)
        for task in waiting:
            task.cancel()

    def require_none(self) -> None:
        problems = [f"  {url}: {v['id']} ({v['impact']}): {v['help']} at {v['nodes']}" for url, v in self.violations]
        problems += [f"  {url}: axe-core failed: {error}" for url, error in self.errors]
        assert problems == [], "axe-core found WCAG 2.1 A/AA violations:\n" + "\n".join(problems)
        if self.unfinished:  # (said, not failed: a slow machine is not a violation)
            warnings.warn(f"axe-core did not finish within {PATIENCE} s on: {', '.join(self.unfinished)}", stacklevel=2)


class Shots:
    """Full-page screenshots named in the order taken: the artifacts a reviewer of the tests looks at."""

    def __init__(self, folder: Path):
        self.folder = folder
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        self.count = 0

    async def take(self, page, name: str) -> Path:
        self.count += 1
        path = self.folder / f"{self.count:02d}-{name}.png"
        await page.screenshot(path=str(path), full_page=True)
        return path
