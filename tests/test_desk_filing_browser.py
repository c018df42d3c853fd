"""Filing with the people involved, in Chromium: a victim, injured, with her statement, entered on the filing form
itself (one person added with "Add a person", without script), the district, the agency and the language chosen
from lists; and "Someone was injured" ticked without saying who, refused beside the box with everything kept."""

import re
from datetime import UTC, datetime, timedelta

import httpx
from sqlmodel import select

from referrals.store.tables import Incident
from tests.support.browser import SCREENSHOTS, Shots, chromium, needs_chromium, serving
from tests.support.desk_browser import Desk, chicago

pytestmark = needs_chromium


async def fill_the_incident(page, event_number: str, when: datetime) -> None:
    await page.get_by_label("When it happened").fill(chicago(when))
    await page.locator('[name="district"]').select_option("010")
    await page.get_by_label("Location").fill("W 26th St & S Pulaski Rd")
    await page.get_by_label("Event number").fill(event_number)
    await page.get_by_label("Summary").fill("Federal agents detained two people; a bystander was struck")
    await page.get_by_label("Narrative").fill("At 13:05 masked agents detained two people. One struck a bystander.")


async def test_a_filing_with_a_victim_her_injury_and_statement_from_the_desk_form(settings, worker, people, sessions):
    shots = Shots(SCREENSHOTS / "filing-with-a-victim")
    recorded = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=2)
    async with serving(settings) as url, chromium() as browser, httpx.AsyncClient(base_url=url) as api:
        desk = Desk(browser, url, shots)
        officer = await desk.sign_in(people.tokens["officer"])
        await officer.get_by_role("link", name="File an incident").click()
        await fill_the_incident(officer, "2603109001", recorded + timedelta(minutes=3))
        # The district and the agency are the policy's lists, by name.
        assert await officer.locator('[name="district"]').locator("option[value='010']").inner_text() == ("010 (Ogden)")
        person_1_injuries = officer.locator("#f-people-0-injuries")
        assert not await person_1_injuries.is_visible()  # until someone is said to be injured
        assert not await officer.locator("#f-injuries-who").is_visible()
        await officer.get_by_label("Someone was injured").check()
        assert await person_1_injuries.is_visible() and await officer.locator("#f-injuries-who").is_visible()

        # A witness first, then "Add a person" (the server sends the form back with a second person, all kept).
        await officer.locator('[name="people[0].part"]').select_option("witness")
        await officer.locator('[name="people[0].name"]').fill("Sam Poe")
        await officer.locator('[name="recordings[0].camera_id"]').fill("X6031234")
        await officer.locator('[name="recordings[0].officer_star"]').fill("12345")
        await officer.locator('[name="recordings[0].started_at"]').fill(chicago(recorded))
        await officer.locator('[name="recordings[0].ended_at"]').fill(chicago(recorded + timedelta(minutes=38)))
        await officer.get_by_role("button", name="Add a person").click()
        await officer.wait_for_url(re.compile(r"/desk/file#f-people-1$"))
        assert await officer.locator('[name="people[0].name"]').input_value() == "Sam Poe"
        assert await officer.get_by_label("Someone was injured").is_checked()
        assert await officer.locator('[name="district"]').input_value() == "010"
        assert await officer.get_by_role("group", name="Person 2", exact=True).is_visible()

        # The victim: injured, taken to hospital, her statement through an interpreter, in Spanish.
        victim = "people[1]"
        await officer.locator(f'[name="{victim}.part"]').select_option("victim")
        await officer.locator(f'[name="{victim}.name"]').fill("Rosa Díaz")
        language = officer.locator(f'[name="{victim}.language"]')
        assert await language.locator("option[value='es']").inner_text() == "Spanish"
        await language.select_option(label="Spanish")
        await officer.locator(f'[name="{victim}.interpreter"]').check()
        await officer.locator(f'[name="{victim}.contact.phone"]').fill("312-555-0111")
        await officer.locator(f'[name="{victim}.injuries.description"]').fill("abrasions to both palms")
        await officer.locator(f'[name="{victim}.injuries.hospital"]').fill("Mount Sinai Hospital")
        await officer.locator(f'[name="{victim}.injuries.ems_treated"]').check()
        statement = f"{victim}.statements[0]"
        await officer.locator(f'[name="{statement}.text"]').fill("He pushed me to the ground while I was filming.")
        await officer.locator(f'[name="{statement}.taken_by"]').fill("P.O. Ana Ruiz (12345)")
        await officer.locator(f'[name="{statement}.taken_at"]').fill(chicago(recorded + timedelta(minutes=30)))
        await officer.locator(f'[name="{statement}.place"]').fill("on scene")
        await officer.locator(f'[name="{statement}.camera_id"]').fill("X6031234")
        await officer.locator(f'[name="{statement}.interpreter"]').fill("Off. L. Vega")
        # The federal agent's agency from the policy's list; "another" asks for its name beside the list.
        agency = officer.locator('[name="federal_personnel[0].agency"]')
        other = officer.locator('[name="federal_personnel[0].agency_other"]')
        assert not await other.is_visible()
        await agency.select_option(label="Another agency (name it)")
        assert await other.is_visible()
        await agency.select_option(label="ICE: U.S. Immigration and Customs Enforcement")
        assert not await other.is_visible()
        await officer.locator('[name="federal_personnel[0].description"]').fill("masked; vest marked POLICE ICE")
        await desk.look(officer, "filing-form-with-people")

        await officer.get_by_role("button", name="File the incident").click()
        await officer.wait_for_url(re.compile(r"/desk/cases/[0-9a-f-]+\?done=file"))
        case_id = officer.url.split("/desk/cases/")[1].split("?")[0]
        shown = await officer.locator("#people").inner_text()
        assert "Victim: Rosa Díaz" in shown and "Witness: Sam Poe" in shown
        assert "Spanish, with an interpreter" in shown
        assert "abrasions to both palms; treated by EMS; taken to Mount Sinai Hospital" in shown
        assert "He pushed me to the ground while I was filming." in shown
        assert "recorded on X6031234; interpreter Off. L. Vega" in shown
        await desk.look(officer, "case-filed-with-people")

        # The API reads the same people; the stored case (PostgreSQL) holds them, contact details sealed.
        case = (await api.get(f"/incidents/{case_id}", headers=people.headers("officer"))).json()
        assert case["details"]["district"] == "010" and case["details"]["injuries"] is True
        assert case["details"]["federal_personnel"][0]["agency"] == "ICE"
        by_name = {p["name"]: p for p in case["people"]}
        rosa = by_name["Rosa Díaz"]
        assert rosa["part"] == "victim" and rosa["language"] == "es" and rosa["interpreter"] is True
        assert rosa["injuries"] == {
            "description": "abrasions to both palms",
            "ems_treated": True,
            "hospital": "Mount Sinai Hospital",
            "treatment_refused": False,
        }
        [said] = rosa["statements"]
        assert said["text"] == "He pushed me to the ground while I was filming."
        assert said["camera_id"] == "X6031234" and said["place"] == "on scene"
        assert datetime.fromisoformat(said["taken_at"]) == recorded + timedelta(minutes=30)
        assert by_name["Sam Poe"]["part"] == "witness" and by_name["Sam Poe"]["injuries"] is None
        async with sessions() as s:
            row = (await s.exec(select(Incident).where(Incident.id == case_id))).one()
        stored = {p["name"]: p for p in row.state["people"]}
        assert stored["Rosa Díaz"]["injuries"]["description"] == "abrasions to both palms"
        assert stored["Rosa Díaz"]["statements"][0]["taken_by"] == "P.O. Ana Ruiz (12345)"
        assert "312-555-0111" not in str(row.state)  # sealed

        # After filing, "Add a person involved" chooses the language the same way; one not listed by its code.
        await officer.get_by_text("Add a person involved (victim, witness, …)").click()
        form = officer.locator("#form-add_person")
        await form.get_by_label("Part in the incident").select_option("witness")
        await form.get_by_label("Without a name, because").select_option("unknown")
        await form.get_by_label("Preferred language").select_option(label="Another language (give its code)")
        await form.get_by_label("Another language").fill("kjb")
        await form.get_by_role("button").last.click()
        await officer.wait_for_url(re.compile(r"done=add_person"))
        case = (await api.get(f"/incidents/{case_id}", headers=people.headers("officer"))).json()
        assert [p["language"] for p in case["people"] if p["name"] is None] == ["kjb"]


async def test_someone_injured_without_saying_who_is_refused_beside_the_box_keeping_everything(
    settings, worker, people, sessions
):
    shots = Shots(SCREENSHOTS / "filing-injured-unnamed")
    recorded = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=1)
    async with serving(settings) as url, chromium() as browser:
        desk = Desk(browser, url, shots)
        officer = await desk.sign_in(people.tokens["officer"])
        await officer.get_by_role("link", name="File an incident").click()
        async with sessions() as s:
            before = len((await s.exec(select(Incident.id))).all())
        await fill_the_incident(officer, "2603109002", recorded)
        await officer.get_by_label("Someone was injured").check()
        await officer.locator('[name="people[0].part"]').select_option("witness")
        await officer.locator('[name="people[0].name"]').fill("Sam Poe")
        await officer.locator('[name="people[0].language"]').select_option(label="Polish")
        await officer.locator('[name="federal_personnel[0].agency"]').select_option(label="Another agency (name it)")
        await officer.locator('[name="federal_personnel[0].agency_other"]').fill("Federal Protective Service")
        await officer.get_by_role("button", name="File the incident").click()
        await officer.wait_for_load_state()

        assert "/desk/file" in officer.url
        refusal = officer.locator("#f-injuries-error")
        assert "say who: give the injured person under People involved" in (await refusal.inner_text())
        assert await officer.get_by_label("Someone was injured").get_attribute("aria-invalid") == "true"
        # Everything typed is kept: the box, the person, the lists (the agency typed beside its list).
        assert await officer.get_by_label("Someone was injured").is_checked()
        assert await officer.locator('[name="district"]').input_value() == "010"
        assert await officer.locator('[name="people[0].name"]').input_value() == "Sam Poe"
        assert await officer.locator('[name="people[0].part"]').input_value() == "witness"
        assert await officer.locator('[name="people[0].language"]').input_value() == "pl"
        assert await officer.get_by_label("Event number").input_value() == "2603109002"
        assert await officer.locator('[name="federal_personnel[0].agency"]').input_value() == "_other"
        other = officer.locator('[name="federal_personnel[0].agency_other"]')
        assert await other.is_visible() and await other.input_value() == "Federal Protective Service"
        assert await officer.locator("#f-people-0-injuries").is_visible()  # where to say who
        await desk.look(officer, "filing-injured-unnamed-refused")
        async with sessions() as s:
            assert len((await s.exec(select(Incident.id))).all()) == before  # nothing filed
