"""The desk served for a real browser: uvicorn on a loopback port, Debian's Chromium driven by Playwright."""

import asyncio
import os
import shutil
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
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            await browser.close()


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
