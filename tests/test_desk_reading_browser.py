"""Finding and reading a case at the desk, in Chromium (issue 30, item 8): a case page opens with a short summary
and a table of contents whose links reach its sections; the sections that grow with the case show their latest
entries and fold the rest behind "Show all", which opens without script; and at a phone's width (390 px) no page
scrolls sideways: the case page, the Cases list, My work, the access trail and an evidence item's custody log.
Screenshots at 1280 and 390 px go to artifacts/screenshots/reading/."""

import json
import re

import httpx

from tests.support.browser import SCREENSHOTS, Shots, chromium, needs_chromium, serving
from tests.support.evidence_files import png
from tests.support.scenario import APPROVE, REFER, VICTIM, Driver, at, filing

pytestmark = needs_chromium

PHONE = {"width": 390, "height": 844}
WIDE = {"width": 1280, "height": 900}
SIDEWAYS = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
LATEST = 5  # the entries a growing section shows before its "Show all" (templates/web/case.html)
ITEMS = 7
# Each link of the page's table of contents, and whether its target is there, a section, with a heading.
CONTENTS = """() => [...document.querySelectorAll('nav[aria-label="On this page"] a')].map(a => {
  const target = document.getElementById(a.getAttribute('href').slice(1));
  return [a.textContent.trim(), a.getAttribute('href'), !!target && target.tagName === 'SECTION'
    && !!target.querySelector('h2')];
})"""

# What reaches past the page's right edge, to say where it overflows.
WIDER = """() => [...document.querySelectorAll('main *')].filter(el => el.getBoundingClientRect().right
  > document.documentElement.clientWidth + 1).slice(0, 5).map(el => el.tagName + '.' + el.className + '#' + el.id)"""


async def _fits(page, shots: Shots, name: str) -> None:
    """Screenshots at 1280 and 390 px; at 390 nothing is wider than the page."""
    await page.set_viewport_size(WIDE)
    await shots.take(page, f"{name}-1280")
    await page.set_viewport_size(PHONE)
    overflow = await page.evaluate(SIDEWAYS)
    wide = await page.evaluate(WIDER)
    assert overflow <= 0, f"{name}: scrolls sideways by {overflow} px at 390 px: {wide}"
    await shots.take(page, f"{name}-390")
    # And with every folded part open ("Show all", the forms folded away, the custody log's full table).
    await page.evaluate("() => document.querySelectorAll('main details').forEach(d => { d.open = true; })")
    overflow = await page.evaluate(SIDEWAYS)
    wide = await page.evaluate(WIDER)
    assert overflow <= 0, f"{name}, all open: scrolls sideways by {overflow} px at 390 px: {wide}"
    await page.set_viewport_size(WIDE)


async def _signed_in(browser, url: str, token: str, javascript: bool = True):
    context = await browser.new_context(base_url=url, viewport=WIDE, java_script_enabled=javascript)
    page = await context.new_page()
    await page.goto("/desk/sign-in")
    await page.get_by_label("Access token").fill(token)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(re.compile(r"/desk/$"))
    return page


async def test_a_long_case_reads_from_its_summary_and_fits_a_phone(settings, worker, people):
    shots = Shots(SCREENSHOTS / "reading")
    async with serving(settings) as url, chromium() as browser, httpx.AsyncClient(base_url=url) as api:
        d = Driver(api, people)
        case = await d.new_case("officer", filing(people=[VICTIM]))
        case_id, number = case["id"], case["case_number"]
        await d.investigate(case_id)
        for n in range(1, ITEMS + 1):
            metadata = {
                "kind": "photo",
                "description": f"photograph {n} of the scene",
                "source": "cpd",
                "collected_by": "P.O. A. Rivera, star 12345",
                "collected_at": at(30 + n),
                "collected_where": "W 26th St and S Pulaski Rd, on the sidewalk by the bus shelter",
            }
            files = {
                "metadata": (None, json.dumps(metadata), "application/json"),
                "file": (f"{n}.png", png(), "image/png"),
            }
            added = await api.post(f"/incidents/{case_id}/evidence", files=files, headers=people.headers("officer"))
            assert added.status_code == 201, added.text
        for who in ("auditor", "reviewer", "commander", "auditor"):  # the last item's custody grows with each download
            taken = await api.get(added.json()["download"], headers=people.headers(who))
            assert taken.status_code == 200, taken.text
        waiting = await d.new_case("officer")  # a case whose investigation waits on the officer and the custodian
        await d.ok(case_id, "legal-review", "reviewer", REFER)
        await d.ok(case_id, "command-approval", "commander", APPROVE)
        events = (await d.settled(case_id))["items"]
        assert len(events) > LATEST
        case_path = f"/desk/cases/{case_id}"

        auditor = await _signed_in(browser, url, people.tokens["auditor"])
        await auditor.goto(case_path)

        # The summary first: what, where, when, district, stage, and the deadline next and whom it waits on.
        glance = await auditor.locator("#h-summary + dl").inner_text()
        for said in (
            number,
            case["details"]["summary"],
            case["details"]["location"],
            case["district"],
            "Next deadline",
            "waiting on the prosecutor liaison",
        ):
            assert said in glance, said
        # Every link of the contents reaches a section with its heading; following one scrolls to it.
        contents = await auditor.evaluate(CONTENTS)
        assert len(contents) >= 10 and all(found for _, _, found in contents), contents
        assert ["Evidence", "#evidence", True] in contents and ["Audit trail", "#audit", True] in contents
        await auditor.get_by_role("navigation", name="On this page").get_by_role("link", name="Audit trail").click()
        await auditor.wait_for_url(re.compile("#audit$"))
        assert await auditor.locator("#h-audit").is_visible()

        # Evidence: the latest five items, the two earlier ones folded until "Show all 7 evidence items".
        evidence = auditor.locator("#evidence")
        shown = evidence.locator("table.evidence").first.locator("tbody tr")
        assert await shown.count() == LATEST
        assert await shown.first.get_attribute("id") == f"evidence-{ITEMS}"
        assert not await auditor.locator("#evidence-1").is_visible()
        await evidence.get_by_text(f"Show all {ITEMS} evidence items").click()
        assert await auditor.locator("#evidence-1").is_visible() and await auditor.locator("#evidence-2").is_visible()

        # The audit trail: its latest five events, newest first; the rest behind "Show all N events".
        audit = auditor.locator("#audit")
        rows = audit.locator("table").first.locator("tbody tr")
        assert await rows.count() == LATEST
        assert await rows.first.get_attribute("id") == f"event-{events[-1]['seq']}"
        assert not await auditor.locator(f"#event-{events[0]['seq']}").is_visible()
        await audit.get_by_text(f"Show all {len(events)} events").click()
        assert await auditor.locator(f"#event-{events[0]['seq']}").is_visible()
        assert "Case filed" in await audit.inner_text()
        await auditor.goto(case_path)
        await _fits(auditor, shots, "case")

        # Without script the same: "Show all" is the browser's own.
        plain = await _signed_in(browser, url, people.tokens["auditor"], javascript=False)
        await plain.goto(case_path)
        assert not await plain.locator(f"#event-{events[0]['seq']}").is_visible()
        await plain.locator("#audit").get_by_text(f"Show all {len(events)} events").click()
        assert await plain.locator(f"#event-{events[0]['seq']}").is_visible()

        # The Cases list, the access trail and an item's custody log at both widths.
        await auditor.goto("/desk/cases")
        await _fits(auditor, shots, "cases")
        await auditor.goto(f"/desk/access-log?case={number}")
        await _fits(auditor, shots, "access-trail")
        await auditor.goto(case_path)
        await auditor.get_by_role("link", name=f"Custody log of item {ITEMS}").click()
        await auditor.wait_for_url(re.compile(r"/custody$"))
        # The chain in order, as a court reads it: its start and its latest events, the ones between folded.
        chain = auditor.locator("table.chain tbody tr")
        told = await chain.count()
        assert told > 6 and "Collected" in await chain.first.inner_text()
        assert await auditor.locator("#entry-1").is_visible() and await auditor.locator(f"#entry-{told}").is_visible()
        assert not await auditor.locator("#entry-3").is_visible()
        await auditor.get_by_text(f"Show all {told} entries of the chain").click()
        assert await auditor.locator("#entry-3").is_visible()
        assert [await row.get_attribute("id") for row in await chain.all()] == [
            f"entry-{n}" for n in range(1, told + 1)
        ]
        await _fits(auditor, shots, "evidence-custody")

        # My work of people with something waiting: the liaison (the acknowledgement) and the officer.
        for who, waits in (("liaison", number), ("officer", waiting["case_number"])):
            page = await _signed_in(browser, url, people.tokens[who])
            assert waits in await page.locator("main").inner_text()
            await _fits(page, shots, f"my-work-{who}")
        # The officer's page of the case waiting on them, with the forms of its steps.
        await page.goto(f"/desk/cases/{waiting['id']}")
        await _fits(page, shots, "case-with-forms-officer")
