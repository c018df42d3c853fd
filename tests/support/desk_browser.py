"""The desk in Chromium, as the browser tests drive it: a person at a browser of their own (`Desk`, `sign_in`), a
form sent as a browser without script sends it, a time as a datetime-local field takes it, and what every page and
every refusal must be (each field labelled, nothing sideways, the error summary focused and its links found)."""

import re
from datetime import datetime

from referrals.domain.policy import load_policy
from tests.support.browser import Shots

LAPTOP = {"width": 1366, "height": 768}
TABLET = {"width": 768, "height": 1024}

# Inputs, selects and text areas a screen reader could not name.
UNLABELLED = """() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
  .filter(el => !el.closest('[aria-hidden=true]'))
  .filter(el => el.labels.length === 0 && !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby'))
  .map(el => el.name)"""
SIDEWAYS = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"


class Desk:
    """One person at their own browser."""

    def __init__(self, browser, url: str, shots: Shots):
        self.browser, self.url, self.shots = browser, url, shots

    async def sign_in(self, token: str, viewport=LAPTOP):
        return await sign_in(self.browser, self.url, token, viewport=viewport)

    async def look(self, page, name: str) -> None:
        """A screenshot, and what every page must be: every field labelled, nothing sideways on a tablet."""
        assert await page.evaluate(UNLABELLED) == [], f"{name}: fields without a label"
        await self.shots.take(page, name)
        size = page.viewport_size
        await page.set_viewport_size(TABLET)
        assert await page.evaluate(SIDEWAYS) <= 0, f"{name}: scrolls sideways on a tablet"
        await self.shots.take(page, f"{name}-tablet")
        await page.set_viewport_size(size)


def chicago(when: datetime) -> str:
    """A time as a datetime-local field takes it, on Chicago's wall clock."""
    return when.astimezone(load_policy_zone()).strftime("%Y-%m-%dT%H:%M")


def load_policy_zone():
    from referrals.config import ROOT

    return load_policy(ROOT / "policy" / "chicago.toml").zone


async def submit(page, operation: str, done: str) -> None:
    form = page.locator(f"#form-{operation}")
    await form.get_by_role("button").last.click()
    await page.wait_for_url(re.compile(rf"done={operation}"))
    assert done in await page.get_by_role("status").inner_text()


# The focused element, whether it is wholly in view, and each summary link's target.
FOCUS = """() => {
  const el = document.activeElement;
  const box = el.getBoundingClientRect();
  return {id: el.id, cls: el.className, inView: box.top >= 0 && box.top < window.innerHeight};
}"""
LINKS = """(summary) => [...summary.querySelectorAll('a')].map(a => {
  const id = decodeURIComponent(a.getAttribute('href').slice(1));
  return {id, text: a.textContent.trim(), found: document.getElementById(id) !== null};
})"""
MACHINE = re.compile(r"\[\d+\]|_|\b(?!palm\.png)[a-z]+\.[a-z]+\b")  # (the file chosen is named as chosen)


async def sign_in(browser, url: str, token: str, script: bool = True, viewport=LAPTOP):
    """A person at a browser of their own, signed in through the sign-in form; without our scripts (the browser
    still runs axe-core's), the pages work as plain HTML forms, and any focus on a page loaded is the page's own
    (`autofocus`)."""
    context = await browser.new_context(base_url=url, viewport=viewport)
    if not script:
        await context.route(re.compile(r"/static/[^?]*\.js(\?|$)"), lambda route: route.abort())
    page = await context.new_page()
    await page.goto("/desk/")
    assert "/desk/sign-in" in page.url
    await page.get_by_label("Access token").fill(token)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(re.compile(r"/desk/$"))
    return page


async def send(page, button) -> None:
    """The form sent by its button, as a browser without script sends it: a POST, and the page it answers with."""
    async with page.expect_navigation():
        await button.click()


async def unfold(page, form_id: str) -> None:
    folded = page.locator(f"details:has(#{form_id})")
    if await folded.count() and not await folded.get_attribute("open"):
        await folded.locator("summary").first.click()
