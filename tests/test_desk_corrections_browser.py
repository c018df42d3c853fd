"""Facts entered once, in a real browser (Debian's Chromium, driven by Playwright): a correction's value typed in
the control its field needs (a time, a yes or no), shown on the case page in words; the supervisor chosen from the
federal personnel recorded; the legal review opening with those personnel as its subjects, an element citing an
exhibit, and the overall finding shown as the prongs determine it. The same forms work without script."""

import re
from datetime import datetime, timedelta

import httpx

from referrals.domain.corrections import TIME_FORMAT
from tests.support.browser import SCREENSHOTS, Shots, chromium, needs_chromium, serving
from tests.support.desk_browser import Desk, chicago, load_policy_zone, submit
from tests.support.scenario import FILING, Driver, filing

pytestmark = needs_chromium

STATUTE = "720 ILCS 5/12-3"
PERSONNEL = [
    {"agency": "ICE", "name": "J. Doe", "badge": "4411", "description": None},
    {"agency": "CBP", "name": None, "badge": None, "description": "driver of the grey SUV"},
]


async def test_a_typed_correction_of_a_time_and_of_a_yes_no_and_the_supervisor_chosen(settings, worker, people):
    shots = Shots(SCREENSHOTS / "typed-corrections")
    async with serving(settings) as url, chromium() as browser, httpx.AsyncClient(base_url=url) as api:
        case = await Driver(api, people).new_case("officer", filing(federal_personnel=PERSONNEL))
        desk = Desk(browser, url, shots)
        officer = await desk.sign_in(people.tokens["officer"])
        await officer.goto(f"/desk/cases/{case['id']}")

        # The supervisor: one of the federal personnel recorded, whose details fill the form.
        form = officer.locator("#form-supervisor_identification")
        await form.get_by_label("Outcome").select_option("identified")
        await form.get_by_label("Federal person already recorded").select_option(label="ICE: J. Doe, badge 4411")
        assert await form.locator('[name="name"]').input_value() == "J. Doe"
        assert await form.locator('[name="agency"]').input_value() == "ICE"
        assert await form.locator('[name="badge"]').input_value() == "4411"
        assert not await form.get_by_role("button", name="Fill in").is_visible()  # (the script fills at once)
        await form.locator('[name="verification"]').select_option("credential_viewed")
        await form.locator('[name="camera_id"]').select_option("X6031234")
        await desk.look(officer, "supervisor-chosen")
        await submit(officer, "supervisor_identification", "Supervisor identification recorded")
        supervisor = await officer.locator('[aria-labelledby="h-federal"]').inner_text()
        assert "J. Doe" in supervisor and "4411" in supervisor

        # A correction of the time it happened (a date and time, on Chicago's clock) and of a yes or no.
        occurred = datetime.fromisoformat(FILING["occurred_at"])
        corrected = occurred - timedelta(minutes=2)
        await officer.get_by_text("File a supplementary report or a correction").click()
        form = officer.locator("#form-file_supplement")
        await form.locator('[name="corrections[0].field"]').select_option("occurred_at")
        value = form.locator('[name="corrections[0].value"]')
        assert await value.get_attribute("type") == "datetime-local"
        await value.fill(chicago(corrected))
        await form.locator('[name="corrections[0].reason"]').fill("the dispatch log")
        await form.locator('[name="corrections[1].field"]').select_option("ems_called")
        yes_no = form.locator('[name="corrections[1].value"]')
        assert await yes_no.evaluate("el => el.tagName") == "SELECT"
        await yes_no.select_option(label="No")
        await form.locator('[name="corrections[1].reason"]').fill("EMS was not called after all")
        assert not await form.get_by_role("button", name=re.compile("^Choose")).first.is_visible()
        await desk.look(officer, "corrections-typed")
        await submit(officer, "file_supplement", "Supplementary report filed")

        rows = [
            [cell.strip() for cell in (await row.inner_text()).split("\t")]
            for row in await officer.locator('table:has(caption:text("Corrections in supplement 1")) tbody tr').all()
        ]
        zone = load_policy_zone()
        assert rows == [
            [
                "When it happened",
                occurred.astimezone(zone).strftime(TIME_FORMAT),
                corrected.replace(second=0, microsecond=0).astimezone(zone).strftime(TIME_FORMAT),
                "the dispatch log",
            ],
            ["EMS was called", "Yes", "No", "EMS was not called after all"],
        ], rows
        await desk.look(officer, "corrections-shown")
        stored = (await Driver(api, people).get(case["id"])).json()
        assert stored["details"]["ems_called"] is False

        # Without script: "Choose" sends the form back with the field's control.
        context = await browser.new_context(base_url=url, java_script_enabled=False)
        plain = await context.new_page()
        await plain.goto("/desk/")
        await plain.get_by_label("Access token").fill(people.tokens["officer"])
        await plain.get_by_role("button", name="Sign in").click()
        await plain.goto(f"/desk/cases/{case['id']}")
        await plain.get_by_text("File a supplementary report or a correction").click()
        form = plain.locator("#form-file_supplement")
        await form.locator('[name="corrections[0].field"]').select_option("injuries")
        await form.get_by_role("button", name="Choose the field of correction 1").click()
        await plain.wait_for_load_state()
        form = plain.locator("#form-file_supplement")
        chosen = form.locator('[name="corrections[0].value"]')
        assert await chosen.evaluate("el => el.tagName") == "SELECT"
        assert await chosen.locator("option").all_inner_texts() == ["— choose —", "Yes", "No"]
        assert await form.locator('[name="corrections[0].field"]').input_value() == "injuries"
        await shots.take(plain, "correction-chosen-without-script")
        await context.close()


async def test_the_legal_review_opens_with_the_federal_personnel_and_cites_an_exhibit(settings, worker, people):
    shots = Shots(SCREENSHOTS / "legal-review-prefilled")
    async with serving(settings) as url, chromium() as browser, httpx.AsyncClient(base_url=url) as api:
        driver = Driver(api, people)
        case = await driver.new_case("officer", filing(federal_personnel=PERSONNEL))
        await driver.investigate(case["id"])
        desk = Desk(browser, url, shots)
        reviewer = await desk.sign_in(people.tokens["reviewer"])
        await reviewer.goto(f"/desk/cases/{case['id']}")
        form = reviewer.locator("#form-legal_review")

        # One subject per federal person recorded, named and with their agency.
        assert await form.locator('[name="subjects[0].subject"]').input_value() == "J. Doe, badge 4411"
        assert await form.locator('[name="subjects[0].agency"]').input_value() == "ICE"
        assert await form.locator('[name="subjects[1].subject"]').input_value() == "driver of the grey SUV"
        assert await form.locator('[name="subjects[1].agency"]').input_value() == "CBP"
        assert await form.locator('[name="subjects[0].finding"]').count() == 0  # not asked

        await form.locator('[name="decision"]').select_option("refer")
        await form.locator('[name="rationale"]').fill("The force was gratuitous.")
        subject = "subjects[0]"
        await form.locator(f'[name="{subject}.acts"]').fill("Struck a bystander who was filming.")
        await form.locator(f'[name="{subject}.charges[0].statute"][value="{STATUTE}"]').check()
        element = f"{subject}.charges[0].elements[0]"
        await form.locator(f'[name="{element}.facts"]').fill("He swung at her deliberately.")
        await form.locator(f'[name="{element}.exhibits"][value="A1"]').check()  # camera X6031234's recording
        await form.locator(f'[name="{subject}.charges[0].elements[1].facts"]').fill("Abrasions to both palms.")
        await form.locator(f'[name="{subject}.authority.operation"]').fill("Arrest of one named person")
        await form.locator(f'[name="{subject}.authority.legal_basis"]').select_option("administrative_warrant")
        await form.locator(f'[name="{subject}.authority.within_authority"]').fill("The warrant reached one person.")
        finding = form.locator("#f-subjects-0-finding")
        await form.locator(f'[name="{subject}.authority.finding"]').select_option("met")
        await form.locator(f'[name="{subject}.necessary_and_proper.conduct"]').fill("A blow to a bystander.")
        await form.locator(f'[name="{subject}.necessary_and_proper.alternatives"]').fill("Asking her to step back.")
        await form.locator(f'[name="{subject}.necessary_and_proper.objective_reasonableness"]').fill("Not reasonable.")
        await form.locator(f'[name="{subject}.necessary_and_proper.finding"]').select_option("met")
        assert await finding.inner_text() == "Immune"
        await form.locator(f'[name="{subject}.necessary_and_proper.finding"]').select_option("not_met")
        assert await finding.inner_text() == "Not immune"  # the finding the prongs determine
        await desk.look(reviewer, "legal-review-prefilled")
        await submit(reviewer, "legal_review", "Legal review recorded")

        # The second subject, left as prefilled, is not sent; the first's element cites the recording.
        review = (await driver.get(case["id"])).json()["legal_reviews"][0]["payload"]
        [analysed] = review["subjects"]
        assert (analysed["subject"], analysed["agency"], analysed["finding"]) == (
            "J. Doe, badge 4411",
            "ICE",
            "not_immune",
        )
        assert [e["recording"] for e in analysed["charges"][0]["elements"][0]["exhibits"]] == ["X6031234"]
        assert "A1" in await reviewer.locator("main").inner_text()
