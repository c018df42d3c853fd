"""Refusals at the desk, in a real browser (Debian's Chromium, driven by Playwright): each refused form comes back
with the GOV.UK error summary on top of it ("There is a problem"), focused as the page loads with no script of ours,
each problem a link to its field in the words shown beside the field (a label, a row counted from 1; never a field
path or an enum value), and every value entered kept; a chosen file is said to be lost. The API's details carry the
same words (`text`) and a code."""

import shutil
from datetime import UTC, datetime, timedelta

import httpx

from tests.support.browser import SCREENSHOTS, chromium, needs_chromium, serving
from tests.support.desk_browser import FOCUS, LINKS, MACHINE, chicago, send, sign_in, unfold
from tests.support.evidence_files import png
from tests.support.scenario import ACK, APPROVE, CHARGED, REFER, Driver

pytestmark = needs_chromium

SHOTS = SCREENSHOTS / "refusals"


async def choose(page, selector: str, value: str) -> None:
    """A list's value chosen, or typed where the field is a text box."""
    field = page.locator(selector)
    if await field.evaluate("el => el.tagName") == "SELECT":
        await field.select_option(value)
    else:
        await field.fill(value)


async def refused_as_summarised(page, form_id: str, *says: str) -> list[str]:
    """The error summary of the form: present, focused and in view; its links to fields the page has, each in
    words; the same words beside the fields. Returns the words beside the fields."""
    summary = page.locator(f"#{form_id} .error-summary")
    assert await summary.count() == 1, (await summary.count(), page.url)
    assert await summary.get_attribute("tabindex") == "-1"
    assert await summary.locator("[role=alert] h2").inner_text() == "There is a problem"
    await page.wait_for_function("() => document.activeElement.classList.contains('error-summary')", timeout=5000)
    focus = await page.evaluate(FOCUS)
    assert "error-summary" in focus["cls"] and focus["inView"], focus
    links = await summary.evaluate(LINKS)
    assert links, "the summary links to no field"
    for link in links:
        assert link["found"], f"the summary links to #{link['id']}, which the page does not have"
        assert not MACHINE.search(link["text"]), link
    beside = [(await error.inner_text()).strip() for error in await page.locator(f"#{form_id} .error").all()]
    assert beside, "no message beside a field"
    for text in beside:
        assert text.startswith("Error:") and not MACHINE.search(text), text
        assert text.removeprefix("Error:").strip() in [link["text"] for link in links], (text, links)
    for said in says:
        assert any(said in link["text"] for link in links), (said, links)
    # What the person sees as the page comes back: the viewport, scrolled to the focused summary.
    SHOTS.mkdir(parents=True, exist_ok=True)
    taken = len(list(SHOTS.glob("*.png"))) + 1
    await page.screenshot(path=str(SHOTS / f"{taken:02d}-{form_id}.png"))
    return beside


async def test_each_refusal_comes_back_summarised_focused_and_in_words(settings, worker, people):
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    shutil.rmtree(SHOTS, ignore_errors=True)
    async with serving(settings) as url, chromium() as browser:
        api = httpx.AsyncClient(base_url=url)
        driver = Driver(api, people)

        # A filing from a district not the officer's own: refused beside the district; everything typed is kept.
        officer = await sign_in(browser, url, people.tokens["officer"], script=False)
        await officer.goto("/desk/file")
        await officer.locator('[name="occurred_at"]').fill(chicago(now - timedelta(hours=2)))
        await choose(officer, '[name="district"]', "012")
        await officer.locator('[name="location"]').fill("W 26th St & S Pulaski Rd")
        await officer.locator('[name="event_number"]').fill("2603104599")
        await officer.locator('[name="summary"]').fill("Agents detained a man")
        await officer.locator('[name="narrative"]').fill("At 13:05 masked agents detained a man.")
        await officer.locator('[name="ems_called"]').check()
        await officer.locator('[name="recordings[0].camera_id"]').fill("X6031234")
        await officer.locator('[name="recordings[0].officer_star"]').fill("12345")
        await officer.locator('[name="recordings[0].started_at"]').fill(chicago(now - timedelta(hours=2)))
        await officer.locator('[name="recordings[0].ended_at"]').fill(chicago(now - timedelta(hours=1)))
        await officer.locator('[name="recordings[0].flag_reasons"][value="use_of_force"]').check()
        await send(officer, officer.get_by_role("button", name="File the incident").last)
        beside = await refused_as_summarised(officer, "main", "District")
        assert any("your own district" in text for text in beside), beside
        assert await officer.locator('[name="district"]').input_value() == "012"
        assert await officer.locator('[name="location"]').input_value() == "W 26th St & S Pulaski Rd"
        assert await officer.locator('[name="ems_called"]').is_checked()
        assert await officer.locator('[name="recordings[0].flag_reasons"][value="use_of_force"]').is_checked()
        assert await officer.locator('[name="recordings[0].camera_id"]').input_value() == "X6031234"
        assert (await officer.title()).startswith("Error: File an incident")

        # A person's statement without the time it was taken.
        case = await driver.new_case("officer")
        await officer.goto(f"/desk/cases/{case['id']}")
        await unfold(officer, "form-add_person")
        form = officer.locator("#form-add_person")
        await form.locator('[name="part"]').select_option("witness")
        await form.locator('[name="name"]').fill("J. Doe")
        await form.locator('[name="interpreter"]').check()
        await form.locator('[name="statements[0].text"]').fill("I saw the agent strike her.")
        await form.locator('[name="statements[0].taken_by"]').fill("P.O. Ruiz, star 12345")
        await send(officer, form.get_by_role("button").last)
        await refused_as_summarised(officer, "form-add_person", "Statement 1: when it was taken is required")
        assert (await officer.title()).startswith("Error: ")
        form = officer.locator("#form-add_person")
        assert await form.locator('[name="part"]').input_value() == "witness"
        assert await form.locator('[name="interpreter"]').is_checked()
        assert await form.locator('[name="statements[0].text"]').input_value() == "I saw the agent strike her."

        # An evidence item without its description, a file chosen: the file cannot be sent back, and the page says so.
        await unfold(officer, "form-add_evidence")
        form = officer.locator("#form-add_evidence")
        await form.locator('[name="kind"]').select_option("photo")
        await form.locator('[name="source"]').select_option(index=1)
        await form.locator('[name="collected_at"]').fill(chicago(now - timedelta(minutes=30)))
        await form.locator('[name="file"]').set_input_files(
            {"name": "palm.png", "mimeType": "image/png", "buffer": png()}
        )
        await send(officer, form.get_by_role("button", name="Add the evidence item"))
        beside = await refused_as_summarised(officer, "form-add_evidence", "Description is required")
        assert any("The file you chose (palm.png) was not kept: choose it again" in text for text in beside), beside
        form = officer.locator("#form-add_evidence")
        assert await form.locator('[name="kind"]').input_value() == "photo"

        # With script, the upload goes in the background and the page answered replaces this one, where autofocus
        # does not run again: the script focuses the summary.
        scripted = await sign_in(browser, url, people.tokens["officer"])
        await scripted.goto(f"/desk/cases/{case['id']}")
        await unfold(scripted, "form-add_evidence")
        form = scripted.locator("#form-add_evidence")
        await form.locator('[name="kind"]').select_option("photo")
        await form.locator('[name="file"]').set_input_files(
            {"name": "palm.png", "mimeType": "image/png", "buffer": png()}
        )
        await form.get_by_role("button", name="Add the evidence item").click()
        await scripted.locator("#form-add_evidence .error-summary").wait_for()
        beside = await refused_as_summarised(scripted, "form-add_evidence", "Description is required")
        assert any("The file you chose (palm.png) was not kept" in text for text in beside), beside

        # A legal review that returns the case without saying which tasks to reopen.
        await driver.investigate(case["id"])
        reviewer = await sign_in(browser, url, people.tokens["reviewer"], script=False)
        await reviewer.goto(f"/desk/cases/{case['id']}")
        await unfold(reviewer, "form-legal_review")
        form = reviewer.locator("#form-legal_review")
        await form.locator('[name="decision"]').select_option("return")
        await form.locator('[name="rationale"]').fill("The hold reference is missing.")
        await send(reviewer, form.get_by_role("button").last)
        await refused_as_summarised(reviewer, "form-legal_review", "the decision return needs the investigation tasks")
        form = reviewer.locator("#form-legal_review")
        assert await form.locator('[name="decision"]').input_value() == "return"
        assert await form.locator('[name="rationale"]').input_value() == "The hold reference is missing."

        # A charging decision of "charged" without the court case number.
        await driver.ok(case["id"], "legal-review", "reviewer", REFER)
        await driver.ok(case["id"], "command-approval", "commander", APPROVE)
        await driver.ok(
            case["id"], "referral-acknowledgement", "liaison", {**ACK, "received_at": datetime.now(UTC).isoformat()}
        )
        liaison = await sign_in(browser, url, people.tokens["liaison"], script=False)
        await liaison.goto(f"/desk/cases/{case['id']}")
        await unfold(liaison, "form-charging_decision")
        form = liaison.locator("#form-charging_decision")
        await form.locator('[name="decision"]').select_option("charged")
        await form.locator('[name="decided_at"]').fill(chicago(datetime.now(UTC) + timedelta(minutes=1)))
        await form.locator('[name="charges[0].statutes"]').first.check()
        await send(liaison, form.get_by_role("button").last)
        await refused_as_summarised(
            liaison, "form-charging_decision", "Court case number is required when the decision is charged"
        )
        form = liaison.locator("#form-charging_decision")
        assert await form.locator('[name="decision"]').input_value() == "charged"
        assert await form.locator('[name="charges[0].statutes"]').first.is_checked()

        # The API answers the same refusal with its machine-readable detail and the words the desk shows.
        refused = await driver.step(
            case["id"],
            "charging-decision",
            "liaison",
            {
                k: v
                for k, v in {**CHARGED, "decided_at": datetime.now(UTC).isoformat()}.items()
                if k != "court_case_number"
            },
        )
        assert refused.status_code == 422, refused.text
        [detail] = [d for d in refused.json()["error"]["details"] if d["field"] == "court_case_number"]
        assert detail == {
            "field": "court_case_number",
            "message": "is required when the decision is charged",
            "text": "Court case number is required when the decision is charged",
            "code": "value_error",
        }
        await api.aclose()
