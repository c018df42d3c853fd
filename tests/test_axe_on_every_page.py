"""axe-core runs on every page of ours that a browser test opens (tests/support/browser.py): it finds a violation
when there is one, and it checks the desk's pages as they load."""

import re

from tests.support.browser import chromium, needs_chromium, serving

pytestmark = needs_chromium

BROKEN = "<!doctype html><html lang=en><title>x</title><main><img src=/x.png><input name=q></main></html>"


async def test_axe_checks_each_page_of_ours_and_finds_a_violation(settings, worker, people):
    async with serving(settings) as url, chromium() as browser:
        context = await browser.new_context(base_url=url)
        page = await context.new_page()
        await page.goto("/desk/")  # redirected to the sign-in page
        await page.get_by_label("Access token").fill(people.tokens["officer"])
        async with page.expect_navigation():
            await page.get_by_role("button", name="Sign in").click()
        await page.wait_for_url(re.compile(r"/desk/$"))
        await page.goto("/desk/cases")  # at once: leaving My work waits for its check
        await browser.axe.settle()
        # A page of ours with an image without a text alternative and an unlabelled field: axe must say so.
        await page.route("**/desk/broken", lambda route: route.fulfill(body=BROKEN, content_type="text/html"))
        await page.goto("/desk/broken")
        await browser.axe.settle()
        found = {(u.rsplit("/", 1)[-1], v["id"]) for u, v in browser.axe.violations}
        assert ("broken", "image-alt") in found and ("broken", "label") in found, browser.axe.violations
        browser.axe.violations.clear()  # (what the test put there on purpose)
        checked = {u.split("?")[0].replace(url, "") for u in browser.axe.checked}
        assert {"/desk/sign-in", "/desk/", "/desk/cases", "/desk/broken"} <= checked, checked
