"""The Chicago scenario through the desk in a real browser: Debian's Chromium, headless, driven by Playwright.

Each step is taken by the person whose role it is, in a browser of their own; one step is refused first and
shows its message beside the field. Every page is photographed into artifacts/screenshots/ and checked for
fields without a label and for sideways scrolling on a tablet.
"""

import json
import re
from datetime import UTC, datetime, timedelta

import httpx
from sqlmodel import select

from referrals.store.tables import CaseEventRow
from tests.support.browser import SCREENSHOTS, Shots, chromium, needs_chromium, serving
from tests.support.desk_browser import LAPTOP, TABLET, UNLABELLED, Desk, chicago, submit
from tests.support.evidence_files import png
from tests.support.scenario import KEEP_UNTIL, PHOTO, Driver, filing

pytestmark = needs_chromium

STATUTE = "720 ILCS 5/12-3"


async def test_the_chicago_scenario_through_the_desk(settings, worker, people, sessions):
    shots = Shots(SCREENSHOTS / "chicago-scenario")
    recorded = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=2)
    keep_until = KEEP_UNTIL  # after the flagged recordings' purge date
    async with serving(settings) as url, chromium() as browser:
        desk = Desk(browser, url, shots)

        # The officer files, adding a second recording as a row.
        officer = await desk.sign_in(people.tokens["officer"])
        await desk.look(officer, "officer-my-work")
        await officer.get_by_role("link", name="File an incident").click()
        fill = officer.locator
        await fill('[name="occurred_at"]').fill(chicago(recorded + timedelta(minutes=3)))
        await fill('[name="location"]').fill("W 26th St & S Pulaski Rd")
        await fill('[name="event_number"]').fill("2603104512")
        await fill('[name="summary"]').fill("Federal agents detained two people; a bystander was struck")
        await fill('[name="narrative"]').fill("At 13:05 P.O. Ruiz observed masked agents detain two people.")
        await fill('[name="injuries"]').check()
        # "Someone was injured" asks who: the bystander, whose name was not taken.
        await fill('[name="people[0].part"]').select_option("bystander")
        await fill('[name="people[0].name_withheld"]').select_option("unknown")
        await fill('[name="people[0].injuries.description"]').fill("struck on the arm")
        await fill('[name="recordings[0].camera_id"]').fill("X6031234")
        await fill('[name="recordings[0].officer_star"]').fill("12345")
        await fill('[name="recordings[0].started_at"]').fill(chicago(recorded))
        await fill('[name="recordings[0].ended_at"]').fill(chicago(recorded + timedelta(minutes=38)))
        await fill('[name="recordings[0].flag_reasons"][value="use_of_force"]').check()
        await officer.get_by_role("button", name="Add a recording").click()
        await fill('[name="recordings[1].camera_id"]').fill("X6039999")
        await fill('[name="recordings[1].officer_star"]').fill("67890")
        await fill('[name="recordings[1].started_at"]').fill(chicago(recorded + timedelta(minutes=2)))
        await fill('[name="recordings[1].ended_at"]').fill(chicago(recorded + timedelta(minutes=33)))
        await fill('[name="recordings[1].flag_reasons"][value="detention_or_arrest"]').check()
        await fill('[name="federal_personnel[0].agency"]').select_option("ICE")
        await fill('[name="federal_personnel[0].description"]').fill("masked; vest marked POLICE ICE")
        await desk.look(officer, "officer-filing-form")
        await officer.get_by_role("button", name="File the incident").click()
        await officer.wait_for_url(re.compile(r"/desk/cases/[0-9a-f-]+\?done=file"))
        case_path = officer.url.split(url)[1].split("?")[0]
        case_number = (await officer.get_by_role("heading", level=1).inner_text()).removeprefix("Case ").strip()
        assert case_number.startswith("CPD-")
        await desk.look(officer, "officer-case-filed")

        # The custodian finds the hold in My work and confirms both recordings.
        custodian = await desk.sign_in(people.tokens["custodian"])
        await custodian.get_by_role("link", name=case_number).click()
        await custodian.wait_for_url(re.compile(case_path))
        for row, reference in enumerate(("AXON-2026-0042", "AXON-2026-0043")):
            await custodian.locator(f'[name="holds[{row}].hold_reference"]').fill(reference)
            await custodian.locator(f'[name="holds[{row}].retained_until"]').fill(keep_until)
        await desk.look(custodian, "custodian-hold-form")
        await submit(custodian, "footage_hold", "Footage hold recorded")
        assert "AXON-2026-0043" in await custodian.locator("#h-recordings + *").inner_text()

        # The officer identifies the federal supervisor and reports the violations.
        await officer.goto(case_path)
        form = officer.locator("#form-supervisor_identification")
        await form.get_by_label("Outcome").select_option("identified")
        await form.locator('[name="name"]').fill("J. Doe")
        await form.locator('[name="agency"]').select_option("ICE")
        await form.locator('[name="badge"]').fill("4411")
        await form.locator('[name="verification"]').select_option("credential_viewed")
        await form.locator('[name="camera_id"]').select_option("X6031234")
        await submit(officer, "supervisor_identification", "Supervisor identification recorded")
        form = officer.locator("#form-violation_report")
        await form.locator('[name="allegations[0].statute"]').select_option(STATUTE)
        await form.locator('[name="allegations[0].person"]').fill("agent in grey vest")
        await form.locator('[name="allegations[0].facts"]').fill("Struck a bystander filming from the sidewalk.")
        await form.locator('[name="narrative"]').fill("The bystander stood 3 m away and made no threatening move.")
        await submit(officer, "violation_report", "Violation report recorded")
        await desk.look(officer, "officer-investigation-done")

        # The legal reviewer refers, analysing the agent on their own: the charge element by element, then the
        # two prongs, which determine the overall finding; but first leaves prong 2 unchosen: refused beside it.
        reviewer = await desk.sign_in(people.tokens["reviewer"])
        await reviewer.get_by_role("link", name=case_number).click()
        form = reviewer.locator("#form-legal_review")
        await form.locator('[name="decision"]').select_option("refer")
        await form.locator('[name="rationale"]').fill("The force was gratuitous.")
        subject = "subjects[0]"
        await form.locator(f'[name="{subject}.subject"]').fill("unidentified agent in grey vest")
        await form.locator(f'[name="{subject}.acts"]').fill("Struck a bystander who was filming.")
        await form.locator(f'[name="{subject}.charges[0].statute"][value="{STATUTE}"]').check()
        await form.locator(f'[name="{subject}.charges[0].elements[0].facts"]').fill("He swung at her deliberately.")
        await form.locator(f'[name="{subject}.charges[0].elements[1].facts"]').fill("Abrasions to both palms.")
        await form.locator(f'[name="{subject}.authority.operation"]').fill("Arrest of one named person")
        await form.locator(f'[name="{subject}.authority.legal_basis"]').select_option("administrative_warrant")
        await form.locator(f'[name="{subject}.authority.within_authority"]').fill("The warrant reached one person.")
        await form.locator(f'[name="{subject}.authority.finding"]').select_option("not_met")
        await form.locator(f'[name="{subject}.necessary_and_proper.conduct"]').fill("A blow to a bystander.")
        await form.locator(f'[name="{subject}.necessary_and_proper.alternatives"]').fill("Asking her to step back.")
        await form.locator(f'[name="{subject}.necessary_and_proper.objective_reasonableness"]').fill("Not reasonable.")
        # The agents' own recordings, asked of ICE: a Touhy request.
        await form.locator('[name="federal_evidence[0].agency"]').select_option("ICE")
        await form.locator('[name="federal_evidence[0].records[0].kind"]').select_option("body_camera")
        await form.locator('[name="federal_evidence[0].records[0].description"]').fill("The agents' body cameras")
        await form.locator('[name="federal_evidence[0].records[0].relevance"]').fill("The blow, from their side.")
        async with sessions() as s:
            events_before = len(
                (await s.exec(select(CaseEventRow).where(CaseEventRow.case_id == case_path.rsplit("/", 1)[1]))).all()
            )
        await form.get_by_role("button").last.click()
        await reviewer.wait_for_load_state()
        prong = reviewer.locator(f'#form-legal_review [name="{subject}.necessary_and_proper.finding"]')
        assert await prong.get_attribute("aria-invalid") == "true"
        await desk.look(reviewer, "reviewer-refused")
        async with sessions() as s:
            events_after = len(
                (await s.exec(select(CaseEventRow).where(CaseEventRow.case_id == case_path.rsplit("/", 1)[1]))).all()
            )
        assert events_after == events_before  # the refusal changed nothing
        form = reviewer.locator("#form-legal_review")
        assert await form.locator('[name="rationale"]').input_value() == "The force was gratuitous."
        assert (
            await form.locator(f'[name="{subject}.charges[0].elements[1].facts"]').input_value()
            == "Abrasions to both palms."
        )
        await form.locator(f'[name="{subject}.necessary_and_proper.finding"]').select_option("not_met")
        assert await form.locator("#f-subjects-0-finding").inner_text() == "Not immune"  # as the prongs determine
        await submit(reviewer, "legal_review", "Legal review recorded")

        # Command approves; the liaison records the prosecutor's acknowledgement.
        commander = await desk.sign_in(people.tokens["commander"])
        # (My work lists the case twice for command: its approval, and the Touhy answer command may record too.)
        await (
            commander.get_by_role("row", name=re.compile("Command approval"))
            .get_by_role("link", name=case_number)
            .click()
        )
        form = commander.locator("#form-command_approval")
        await form.locator('[name="decision"]').select_option("approve")
        await form.locator('[name="note"]').fill("Approved for referral to the CCSAO.")
        await desk.look(commander, "commander-approval-form")
        await submit(commander, "command_approval", "Command decision recorded")

        liaison = await desk.sign_in(people.tokens["liaison"])
        await desk.look(liaison, "liaison-my-work")
        await (
            liaison.get_by_role("row", name=re.compile("Referral acknowledgement"))
            .get_by_role("link", name=case_number)
            .click()
        )
        form = liaison.locator("#form-referral_acknowledgement")
        await form.locator('[name="prosecutor_case_number"]').fill("26-FR-0193")
        await form.locator('[name="received_by"]').fill("ASA M. Lee")
        await form.locator('[name="received_at"]').fill(chicago(datetime.now(UTC)))  # not before the approval
        await submit(liaison, "referral_acknowledgement", "acknowledgement recorded")

        # ICE answers the Touhy request: partly.
        assert "awaited" in await liaison.locator("#touhy-requests").inner_text()
        form = liaison.locator("#form-touhy_response")
        await form.locator('[name="request_id"]').select_option("T1")
        await form.locator('[name="outcome"]').select_option("partly_produced")
        await form.locator('[name="received_on"]').fill(datetime.now(UTC).strftime("%Y-%m-%d"))
        await submit(liaison, "touhy_response", "Touhy answer recorded")
        assert "Partly produced" in await liaison.locator("#touhy-requests").inner_text()

        # The prosecutor charges; the arraignment opens the removal window, which My work counts down.
        form = liaison.locator("#form-charging_decision")
        await form.locator('[name="decision"]').select_option("charged")
        await form.locator('[name="decided_at"]').fill(chicago(datetime.now(UTC)))  # not before the acknowledgement
        await form.locator('[name="court_case_number"]').fill("26-CR-01234")
        await form.locator(f'[name="charges[0].statutes"][value="{STATUTE}"]').check()
        await form.locator('[name="arraignment_date"]').fill(chicago(datetime.now(UTC))[:10])  # the decision's day
        await submit(liaison, "charging_decision", "Charging decision recorded")
        assert "days left" in await liaison.locator("#removal-window").inner_text()
        await desk.look(liaison, "liaison-removal-window")
        await liaison.get_by_role("navigation").get_by_role("link", name="My work").click()
        window = liaison.locator("#removal-windows tr", has_text=case_number)
        assert re.fullmatch(r"\d{2}", (await window.locator("td").last.inner_text()).strip())
        await window.get_by_role("link", name=case_number).click()
        # The defence removes the case to federal court; the federal court sends it back.
        form = liaison.locator("#form-removal_notice")
        await form.locator('[name="filed_on"]').fill(datetime.now(UTC).strftime("%Y-%m-%d"))
        await form.locator('[name="district_court"]').fill("U.S. District Court for the Northern District of Illinois")
        await form.locator('[name="federal_case_number"]').fill("1:26-cr-00077")
        await submit(liaison, "removal_notice", "Notice of removal recorded")
        assert "a notice was filed" in await liaison.locator("#removal-window").inner_text()
        form = liaison.locator("#form-removal_outcome")
        await form.locator('[name="result"]').select_option("remanded")
        await form.locator('[name="decided_on"]').fill(datetime.now(UTC).strftime("%Y-%m-%d"))
        await submit(liaison, "removal_outcome", "Removal outcome recorded")
        assert "Remanded" in await liaison.locator("#prosecution").inner_text()
        form = liaison.locator("#form-prosecution_outcome")
        await form.locator('[name="outcome"]').select_option("plea")
        await form.locator('[name="decided_on"]').fill(datetime.now(UTC).strftime("%Y-%m-%d"))
        # The final outcome closes the case: a confirmation page says so first; going back keeps what was chosen.
        await form.get_by_role("button").last.click()
        consequence = liaison.locator("#consequence")
        assert f"closes case {case_number} for good" in await consequence.inner_text()
        await desk.look(liaison, "liaison-confirm-outcome")
        await liaison.get_by_role("button", name="Change what I entered").click()
        assert await liaison.locator('#form-prosecution_outcome [name="outcome"]').input_value() == "plea"
        assert "Final outcome recorded" not in await liaison.content()
        await liaison.locator("#form-prosecution_outcome").get_by_role("button").last.click()
        await liaison.get_by_role("button", name="Confirm", exact=True).click()
        await liaison.wait_for_url(re.compile(r"done=prosecution_outcome"))
        assert "Final outcome recorded" in await liaison.get_by_role("status").inner_text()

        # The case as everyone now reads it: closed, referred, the packet to download.
        await desk.look(liaison, "liaison-case-closed")
        summary = await liaison.locator("#h-summary + *").inner_text()
        assert "Closed" in summary and "Referred" in summary
        async with liaison.expect_download() as download:
            await liaison.get_by_role("link", name=re.compile("referral.packet", re.I)).first.click()
        assert (await download.value).suggested_filename.endswith(".docx")
        assert (
            "26-FR-0193" in await liaison.locator("#h-decisions ~ *").first.inner_text()
            or "26-FR-0193" in await liaison.content()
        )

        auditor = await desk.sign_in(people.tokens["auditor"])
        await auditor.get_by_role("navigation").get_by_role("link", name="Dashboard").click()
        chart = auditor.get_by_role("img", name=re.compile("referrals", re.I))
        assert await chart.count() == 1
        await desk.look(auditor, "auditor-dashboard")
    assert shots.count >= 20


async def test_the_desk_by_keyboard_alone(settings, worker, people):
    shots = Shots(SCREENSHOTS / "keyboard")
    async with serving(settings) as url, chromium() as browser:
        page = await (await browser.new_context(base_url=url, viewport=TABLET)).new_page()
        await page.goto("/desk/sign-in")
        await page.keyboard.press("Tab")
        assert await page.evaluate("document.activeElement.textContent") == "Skip to main content"
        await page.keyboard.press("Enter")
        assert await page.evaluate("document.activeElement.id") == "main"
        await page.keyboard.press("Tab")
        assert await page.evaluate("document.activeElement.id") == "token"
        await page.keyboard.type(people.tokens["reviewer"])
        await page.keyboard.press("Enter")
        await page.wait_for_url(re.compile(r"/desk/$"))
        await shots.take(page, "reviewer-my-work-tablet")
        # Focus is visible: the focused link gets an outline.
        await page.keyboard.press("Tab")
        await page.keyboard.press("Tab")
        outline = await page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
        assert outline != "none"


async def test_people_a_supplement_and_the_cases_page_in_the_browser(settings, worker, people):
    """The officer adds a victim with her statement, files a supplement correcting the location, and finds
    the case on the Cases page; the commander sees that contact details exist, not what they are."""
    shots = Shots(SCREENSHOTS / "people-and-supplements")
    async with serving(settings) as url, chromium() as browser, httpx.AsyncClient(base_url=url) as api:
        case = await Driver(api, people).new_case("officer", filing(location="W 26th St & S Pulaski Rd"))
        desk = Desk(browser, url, shots)
        officer = await desk.sign_in(people.tokens["officer"])
        await officer.goto(f"/desk/cases/{case['id']}")
        await officer.get_by_text("Add a person involved (victim, witness, …)").click()
        form = officer.locator("#form-add_person")
        await form.get_by_label("Part in the incident").select_option("victim")
        await form.get_by_label("Name", exact=True).fill("Jane Roe")
        await form.get_by_label("Phone").fill("312-555-0100")
        await form.get_by_label("Injuries", exact=True).fill("abrasions to both palms")
        await form.get_by_label("Treated by EMS").check()
        await form.locator('[name="statements[0].text"]').fill("He pushed me while I was filming.")
        await form.locator('[name="statements[0].taken_by"]').fill("P.O. Ana Ruiz (12345)")
        await form.locator('[name="statements[0].taken_at"]').fill(chicago(datetime.now(UTC) - timedelta(minutes=30)))
        await form.locator('[name="statements[0].place"]').fill("on scene")
        await desk.look(officer, "officer-add-person")
        await submit(officer, "add_person", "Person added")
        people_section = await officer.locator("#h-people + *").inner_text()
        assert "Victim: Jane Roe (P1)" in people_section and "312-555-0100" in people_section
        assert "treated by EMS" in people_section and "He pushed me while I was filming." in people_section

        await officer.get_by_text("File a supplementary report or a correction").click()
        form = officer.locator("#form-file_supplement")
        await form.get_by_label("Supplementary narrative").fill("The address was the next block.")
        await form.locator('[name="corrections[0].field"]').select_option("location")
        await form.locator('[name="corrections[0].value"]').fill("W 26th St & S Karlov Ave")
        await form.locator('[name="corrections[0].reason"]').fill("the first address was the next block")
        await desk.look(officer, "officer-supplement")
        await submit(officer, "file_supplement", "Supplementary report filed")
        corrected = await officer.locator("#h-supplements + *").inner_text()
        assert "W 26th St & S Pulaski Rd" in corrected and "W 26th St & S Karlov Ave" in corrected

        await officer.get_by_role("navigation").get_by_role("link", name="Cases").click()
        await officer.get_by_label("Words").fill("Karlov")
        await officer.get_by_role("button", name="Find").click()
        assert case["case_number"] in await officer.locator("#cases").inner_text()
        await desk.look(officer, "officer-cases-search")

        commander = await desk.sign_in(people.tokens["commander"])
        await commander.goto(f"/desk/cases/{case['id']}")
        shown = await commander.locator("#h-people + *").inner_text()
        assert "on file (need-to-know)" in shown and "312-555-0100" not in shown
        await desk.look(commander, "commander-case-with-people")


async def test_evidence_photos_and_videos_through_the_desk_in_the_browser(settings, worker, people):
    """The officer adds a photo (a refused executable first, its message beside the file field) and a video to a
    case; the thumbnail (a small copy) loads, the video's player loads nothing until played, then reads it in
    ranges (206) and knows its size and length, and the custody log tells the playing, not the thumbnail. A browser
    without JavaScript sends the same form as plain HTML."""
    from tests.support.evidence_files import WINDOWS_EXE, h264_mp4, jpeg
    from tests.support.scenario import VICTIM

    shots = Shots(SCREENSHOTS / "evidence")
    collected = chicago(datetime.now(UTC) - timedelta(hours=1))
    photo, video = jpeg(160, 120), h264_mp4()

    async def add(page, kind: str, description: str, file: dict, person: str = "") -> None:
        folded = page.locator("details:has(#form-add_evidence)")
        if await folded.get_attribute("open") is None:
            await folded.locator("summary").click()
        form = page.locator("#form-add_evidence")
        await form.get_by_label("Kind").select_option(kind)
        await form.get_by_label("Source").select_option("cpd")
        await form.get_by_label("Description").fill(description)
        await form.get_by_label("Collected at").fill(collected)
        await form.get_by_label("Person it concerns").select_option(person)
        await form.get_by_label("File", exact=True).set_input_files(file)

    async with serving(settings) as url, chromium() as browser, httpx.AsyncClient(base_url=url) as api:
        case = await Driver(api, people).new_case("officer", filing(people=[VICTIM]))
        case_path = f"/desk/cases/{case['id']}"
        desk = Desk(browser, url, shots)
        officer = await desk.sign_in(people.tokens["officer"])
        served: list[tuple[str, int, str | None]] = []
        officer.on("response", lambda r: served.append((r.url, r.status, r.request.headers.get("range"))))
        await officer.goto(case_path)

        await add(
            officer,
            "photo",
            "injury to the left palm",
            {"name": "palm.jpg", "mimeType": "image/jpeg", "buffer": WINDOWS_EXE},
            "P1",
        )
        await desk.look(officer, "officer-evidence-form")
        await officer.get_by_role("button", name="Add the evidence item").click()
        refused = officer.locator("#f-evidence-file-error")
        await refused.wait_for()
        assert "Windows executable" in await refused.inner_text()
        assert officer.url == url + case_path  # sent by the script (with its progress bar), answered in place
        form = officer.locator("#form-add_evidence")
        assert await form.get_by_label("Description").input_value() == "injury to the left palm"
        await desk.look(officer, "officer-evidence-refused")
        await form.get_by_label("File", exact=True).set_input_files(
            {"name": "palm.jpg", "mimeType": "image/jpeg", "buffer": photo}
        )
        await officer.get_by_role("button", name="Add the evidence item").click()
        await officer.wait_for_url(re.compile(r"done=add_evidence&item=1"))
        assert "Evidence item 1 added." in await officer.get_by_role("status").inner_text()

        await add(
            officer, "video", "body-worn camera clip", {"name": "clip.mp4", "mimeType": "video/mp4", "buffer": video}
        )
        await officer.get_by_role("button", name="Add the evidence item").click()
        await officer.wait_for_url(re.compile(r"done=add_evidence&item=2"))

        thumb = officer.locator("#evidence-1 img.thumb")
        await thumb.scroll_into_view_if_needed()
        await thumb.evaluate("img => img.complete ? null : new Promise(done => img.addEventListener('load', done))")
        assert await thumb.evaluate("img => [img.naturalWidth, img.naturalHeight]") == [160, 120]
        assert (await thumb.get_attribute("src")).endswith("/thumbnail")
        player = officer.locator("#evidence-2 video")
        src = await player.get_attribute("src")
        assert src.startswith(case_path + "/evidence/") and src.endswith("/view")
        assert await player.get_attribute("preload") == "none"
        assert not [address for address, _, _ in served if address == url + src]  # shown, not played
        await player.evaluate("v => { v.muted = true; return v.play(); }")  # the user presses play
        await player.evaluate(
            "v => v.readyState >= 1 ? null : new Promise(done => v.addEventListener('loadedmetadata', done))"
        )
        assert await player.evaluate("v => [v.videoWidth, v.videoHeight, v.duration]") == [128, 96, 1]
        assert [(status, ask) for address, status, ask in served if address == url + src][0] == (206, "bytes=0-")
        asked = await officer.request.get(src, headers={"Range": "bytes=0-1023"})
        assert asked.status == 206 and await asked.body() == video[:1024]
        assert asked.headers["content-range"] == f"bytes 0-1023/{len(video)}"
        await desk.look(officer, "officer-case-evidence")
        await officer.locator("#evidence").screenshot(path=str(shots.folder / "evidence-section.png"))

        await officer.get_by_role("link", name="Custody log of item 2").click()
        await officer.wait_for_url(re.compile(r"/custody$"))
        log = await officer.locator("#h-custody + *").inner_text() + await officer.locator("table.chain").inner_text()
        assert "Chain intact" in log and "Received into the evidence system" in log
        assert "Collected (place not recorded)" in log and "Opened or played in the desk" in log
        assert "bytes 0-1023/" in await officer.locator("#h-custody ~ details table").text_content()
        await desk.look(officer, "officer-evidence-custody")

        # Without JavaScript: the same form, posted as a browser posts it, with the same outcome.
        plain = await (await browser.new_context(base_url=url, viewport=LAPTOP, java_script_enabled=False)).new_page()
        await plain.goto("/desk/sign-in")
        await plain.get_by_label("Access token").fill(people.tokens["officer"])
        await plain.get_by_role("button", name="Sign in").click()
        await plain.goto(case_path)
        await add(plain, "photo", "the second palm", {"name": "palm.jpg", "mimeType": "image/jpeg", "buffer": photo})
        await plain.get_by_role("button", name="Add the evidence item").click()
        await plain.wait_for_url(re.compile(r"done=add_evidence&item=3"))  # the form's own post, redirected
        assert "the second palm" in await plain.locator("#evidence-3").inner_text()
        await shots.take(plain, "officer-without-script-evidence-added")


PHONE = {"width": 390, "height": 844}
WIDE = {"width": 1280, "height": 900}
SCROLL_WIDTH = "() => document.documentElement.scrollWidth"


async def test_the_cases_list_and_the_access_trail_fit_a_phone(settings, worker, people):
    """At 390 px neither page scrolls sideways: their tables become stacked rows, each cell named by its column;
    the trail names an evidence item by its exhibit, newest entry first."""
    shots = Shots(SCREENSHOTS / "finding-and-reading")
    async with serving(settings) as url, chromium() as browser, httpx.AsyncClient(base_url=url) as api:
        case = await Driver(api, people).new_case("officer", filing(location="W 26th St & S Pulaski Rd"))
        files = {"metadata": (None, json.dumps(PHOTO), "application/json"), "file": ("palm.png", png(), "image/png")}
        added = await api.post(f"/incidents/{case['id']}/evidence", files=files, headers=people.headers("officer"))
        assert added.status_code == 201, added.text
        assert (await api.get(added.json()["download"], headers=people.headers("auditor"))).status_code == 200
        desk = Desk(browser, url, shots)
        auditor = await desk.sign_in(people.tokens["auditor"], viewport=WIDE)
        for path, name in (("/desk/cases", "cases"), (f"/desk/access-log?case={case['case_number']}", "access-trail")):
            await auditor.set_viewport_size(WIDE)
            await auditor.goto(path)
            assert await auditor.evaluate(UNLABELLED) == [], f"{name}: fields without a label"
            await shots.take(auditor, f"{name}-1280")
            await auditor.set_viewport_size(PHONE)
            assert await auditor.evaluate(SCROLL_WIDTH) <= PHONE["width"], f"{name}: scrolls sideways at 390 px"
            await shots.take(auditor, f"{name}-390")
        trail = await auditor.locator("#entries").inner_text()
        assert "C1 Photo: injury to the left palm" in trail and added.json()["id"] not in trail
