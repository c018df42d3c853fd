"""A link in an e-mail goes to the case's page on the desk: followed in Chromium by someone not signed in, it asks
them to sign in and then shows that case, not the JSON API."""

import re

import httpx

from referrals.devstack.procs import free_port
from referrals.worker import build_worker
from tests.support.browser import chromium, needs_chromium, serving
from tests.support.scenario import Driver
from tests.support.waiting import until

pytestmark = needs_chromium

LINK = re.compile(r"https?://[^\s<>\"]+/desk/cases/[0-9a-f-]{36}")


async def test_the_emails_link_is_followed_through_sign_in_to_the_case_page(
    fast_settings, dev_server, sessions, people, smtp_sink
):
    port = free_port()
    stack = fast_settings.model_copy(update={"public_url": f"http://127.0.0.1:{port}"})
    async with (
        serving(stack, port) as url,
        build_worker(dev_server.client, stack, sessions),
        chromium() as browser,
        httpx.AsyncClient(base_url=url) as api,
    ):
        case = await Driver(api, people).new_case()
        number = case["case_number"]

        async def mailed():  # the overdue footage hold, to the custodian (tests/fast_policy.toml: in seconds)
            return [m for m in smtp_sink.messages if number in m["Subject"] and m["To"] == people.emails["custodian"]]

        await until(mailed)
        [link] = set(LINK.findall((await mailed())[0].get_content()))
        assert link == f"{url}/desk/cases/{case['id']}"

        page = await (await browser.new_context()).new_page()
        await page.goto(link)
        assert page.url.startswith(f"{url}/desk/sign-in?next=/desk/cases/{case['id']}")
        await page.get_by_label("Access token").fill(people.tokens["custodian"])
        await page.get_by_role("button", name="Sign in").click()
        await page.wait_for_url(link)
        assert number in await page.title()
        assert number in await page.locator("h1").inner_text()
