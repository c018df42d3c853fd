"""Dates out of order at the desk, in a real browser (Debian's Chromium, driven by Playwright): each date-order rule
refuses the form that breaks it (a statement at filing or added later, or an evidence item, before the incident; an
acknowledgement before the command's approval; a charging decision before the acknowledgement; an arraignment
before the charging decision; an evidence item collected tomorrow). Each refusal comes back with the error summary
on top of the form, focused, linking to the field; beside the field, the refusal names both dates as the desk shows
dates ("Sun 06 Dec 2026, 13:45 CST"), never a field path. The case is left as it was; the same form with a date in
order is recorded.

One case is taken through the API to each stage; only the refused step is taken in the browser. Without our
scripts, as plain HTML forms: the summary's focus is the page's own (`autofocus`)."""

import re
from datetime import UTC, date, datetime, timedelta

import httpx

from referrals.config import ROOT
from referrals.domain.policy import load_policy
from tests.support.browser import chromium, needs_chromium, serving
from tests.support.desk_browser import FOCUS, LINKS, MACHINE, chicago, send, sign_in, unfold
from tests.support.scenario import APPROVE, FILING, REFER, Driver

pytestmark = needs_chromium

ZONE = load_policy(ROOT / "policy" / "chicago.toml").zone


def when(moment: datetime) -> str:
    """A time as the desk shows it: 'Sun 06 Dec 2026, 13:45 CST'."""
    return moment.astimezone(ZONE).strftime("%a %d %b %Y, %H:%M %Z")


def day(value: date) -> str:
    """A day as the desk shows it: 'Sun 06 Dec 2026'."""
    return value.strftime("%a %d %b %Y")


def minute(moment: datetime) -> datetime:
    """A time as a person types it into a datetime-local field: to the minute."""
    return moment.replace(second=0, microsecond=0)


async def refused(page, response, form_id: str, field: str, label: str, *dates: str, title: str = "Error: ") -> str:
    """The form refused (422, the page's `title` says so) with the error summary focused on top of it, its link to
    `field` (the field's name) in words; beside the field, the words naming the field's label and each of `dates`
    as the desk shows them, no field path. Returns those words."""
    assert response.status == 422, (response.status, page.url)
    assert (await page.title()).startswith(title), await page.title()
    summary = page.locator(f"#{form_id} .error-summary")
    assert await summary.count() == 1, (form_id, page.url)
    assert await summary.locator("[role=alert] h2").inner_text() == "There is a problem"
    await page.wait_for_function("() => document.activeElement.classList.contains('error-summary')", timeout=5000)
    focus = await page.evaluate(FOCUS)
    assert "error-summary" in focus["cls"] and focus["inView"], focus
    control = page.locator(f'#{form_id} [name="{field}"]')
    field_id = await control.get_attribute("id")
    shown_errors = [await e.inner_text() for e in await page.locator(f"#{form_id} .error").all()]
    assert await control.get_attribute("aria-invalid") == "true", (field, await summary.inner_text(), shown_errors)
    beside = (await page.locator(f"#{field_id}-error").inner_text()).strip()
    assert beside.startswith("Error:"), beside
    words = beside.removeprefix("Error:").strip()
    links = await summary.evaluate(LINKS)
    assert {"id": field_id, "text": words, "found": True} in links, (field_id, words, links)
    assert not MACHINE.search(words), words
    assert label in words, (label, words)
    for shown in dates:
        assert shown in words, (shown, words)
    return words


async def submitted(page, form, button=None) -> object:
    """The form sent by its last button (or `button`), as a browser without script sends it; the answer to the
    POST."""
    async with page.expect_response(lambda r: r.request.method == "POST") as answer:
        await send(page, button or form.get_by_role("button").last)
    return await answer.value


async def recorded(page, operation: str, done: str) -> None:
    assert re.search(rf"done={operation}", page.url), page.url
    assert done in await page.get_by_role("status").inner_text()


async def test_each_date_out_of_order_is_refused_beside_its_field_naming_both_dates(settings, worker, people):
    async with serving(settings) as url, chromium() as browser:
        api = httpx.AsyncClient(base_url=url)
        driver = Driver(api, people)

        async def case_now() -> dict:
            response = await driver.get(case["id"])
            assert response.status_code == 200, response.text
            return response.json()

        # At filing: a witness's statement taken before the incident.
        officer = await sign_in(browser, url, people.tokens["officer"], script=False)
        incident = datetime.fromisoformat(FILING["occurred_at"])
        early = minute(incident - timedelta(minutes=10))
        await officer.goto("/desk/file")
        fill = officer.locator
        await fill('[name="occurred_at"]').fill(chicago(incident))
        await fill('[name="district"]').select_option("010")
        await fill('[name="location"]').fill("W 26th St & S Pulaski Rd")
        await fill('[name="event_number"]').fill("2603104577")
        await fill('[name="summary"]').fill("Agents detained a man")
        await fill('[name="narrative"]').fill("At 13:05 masked agents detained a man.")
        await fill('[name="recordings[0].camera_id"]').fill("X6031234")
        await fill('[name="recordings[0].officer_star"]').fill("12345")
        await fill('[name="recordings[0].started_at"]').fill(chicago(incident - timedelta(minutes=3)))
        await fill('[name="recordings[0].ended_at"]').fill(chicago(incident + timedelta(minutes=30)))
        await fill('[name="recordings[0].flag_reasons"][value="use_of_force"]').check()
        await fill('[name="people[0].part"]').select_option("witness")
        await fill('[name="people[0].name"]').fill("J. Doe")
        await fill('[name="people[0].statements[0].text"]').fill("I saw the agent strike her.")
        await fill('[name="people[0].statements[0].taken_by"]').fill("P.O. Ruiz, star 12345")
        await fill('[name="people[0].statements[0].taken_at"]').fill(chicago(early))
        await fill('[name="people[0].statements[0].place"]').fill("on scene")
        form = officer.locator("#main")
        answer = await submitted(officer, form, officer.get_by_role("button", name="File the incident").last)
        await refused(
            officer,
            answer,
            "main",
            "people[0].statements[0].taken_at",
            "Person 1, statement 1: when it was taken must not be before the incident",
            when(incident),
            when(early),
            title="Error: ",
        )
        assert await form.locator('[name="people[0].statements[0].taken_at"]').input_value() == chicago(early)

        # A person added later, with a statement taken before the incident; then taken after it: recorded.
        case = await driver.new_case("officer")
        await officer.goto(f"/desk/cases/{case['id']}")
        await unfold(officer, "form-add_person")
        form = officer.locator("#form-add_person")
        await form.locator('[name="part"]').select_option("witness")
        await form.locator('[name="name"]').fill("J. Doe")
        await form.locator('[name="statements[0].text"]').fill("I saw the agent strike her.")
        await form.locator('[name="statements[0].taken_by"]').fill("P.O. Ruiz, star 12345")
        await form.locator('[name="statements[0].taken_at"]').fill(chicago(early))
        await form.locator('[name="statements[0].place"]').fill("on scene")
        answer = await submitted(officer, form)
        await refused(
            officer,
            answer,
            "form-add_person",
            "statements[0].taken_at",
            "Statement 1: when it was taken must not be before the incident",
            when(incident),
            when(early),
        )
        assert (await case_now())["people"] == []
        form = officer.locator("#form-add_person")
        assert await form.locator('[name="statements[0].text"]').input_value() == "I saw the agent strike her."
        taken = minute(incident + timedelta(minutes=20))
        await form.locator('[name="statements[0].taken_at"]').fill(chicago(taken))
        await send(officer, form.get_by_role("button").last)
        await recorded(officer, "add_person", "Person added")
        [person] = (await case_now())["people"]
        assert datetime.fromisoformat(person["statements"][0]["taken_at"]) == taken
        assert when(taken) in await officer.locator("main").inner_text()

        # An evidence item collected before the incident (held in another system: no file).
        await unfold(officer, "form-add_evidence")
        form = officer.locator("#form-add_evidence")
        await form.locator('[name="kind"]').select_option("photo")
        await form.locator('[name="source"]').select_option(index=1)
        await form.locator('[name="description"]').fill("injury to the left palm")
        await form.locator('[name="collected_at"]').fill(chicago(early))
        await form.locator('[name="held_elsewhere.system"]').fill("Axon Evidence.com")
        await form.locator('[name="held_elsewhere.reference"]').fill("AXON-PHOTO-0001")
        answer = await submitted(officer, form)
        await refused(
            officer,
            answer,
            "form-add_evidence",
            "collected_at",
            "Collected at must not be before the incident",
            when(incident),
            when(early),
        )
        assert (await case_now())["evidence"] == []
        form = officer.locator("#form-add_evidence")
        assert await form.locator('[name="held_elsewhere.reference"]').input_value() == "AXON-PHOTO-0001"
        collected = minute(incident + timedelta(minutes=30))
        await form.locator('[name="collected_at"]').fill(chicago(collected))
        await send(officer, form.get_by_role("button").last)
        await recorded(officer, "add_evidence", "Evidence item 1 added")
        [entry] = (await case_now())["evidence"]
        assert datetime.fromisoformat(entry["item"]["collected_at"]) == collected

        # Investigated, referred and approved through the API; the liaison acknowledges at the desk: first dated
        # before the approval, then now: recorded.
        await driver.investigate(case["id"])
        await driver.ok(case["id"], "legal-review", "reviewer", REFER)
        await driver.ok(case["id"], "command-approval", "commander", APPROVE)
        approved = datetime.fromisoformat((await case_now())["command_decisions"][-1]["at"])
        liaison = await sign_in(browser, url, people.tokens["liaison"], script=False)
        await liaison.goto(f"/desk/cases/{case['id']}")
        await unfold(liaison, "form-referral_acknowledgement")
        form = liaison.locator("#form-referral_acknowledgement")
        await form.locator('[name="prosecutor_case_number"]').fill("26-FR-0193")
        await form.locator('[name="received_by"]').fill("ASA M. Lee")
        before_approval = minute(approved) - timedelta(minutes=2)
        await form.locator('[name="received_at"]').fill(chicago(before_approval))
        answer = await submitted(liaison, form)
        await refused(
            liaison,
            answer,
            "form-referral_acknowledgement",
            "received_at",
            "Received at must not be before the command's approval",
            when(approved),
            when(before_approval),
        )
        assert (await case_now())["tasks"]["referral_acknowledgement"]["status"] == "open"

        form = liaison.locator("#form-referral_acknowledgement")
        received = minute(datetime.now(UTC))
        await form.locator('[name="received_at"]').fill(chicago(received))
        await send(liaison, form.get_by_role("button").last)
        await recorded(liaison, "referral_acknowledgement", "Prosecutor's acknowledgement recorded")
        acknowledged = (await case_now())["acknowledgement"]["payload"]
        assert datetime.fromisoformat(acknowledged["received_at"]) == received
        assert when(received) in await liaison.locator("main").inner_text()

        # The charging decision dated before the acknowledgement; then in order, but with the arraignment the day
        # before the decision; then with the arraignment on the day of the decision: recorded.
        await unfold(liaison, "form-charging_decision")
        form = liaison.locator("#form-charging_decision")
        await form.locator('[name="decision"]').select_option("charged")
        await form.locator('[name="court_case_number"]').fill("26-CR-01234")
        await form.locator('[name="charges[0].statutes"]').first.check()
        before_ack = received - timedelta(minutes=2)
        await form.locator('[name="decided_at"]').fill(chicago(before_ack))
        answer = await submitted(liaison, form)
        await refused(
            liaison,
            answer,
            "form-charging_decision",
            "decided_at",
            "Decided at must not be before the prosecutor's acknowledgement",
            when(received),
            when(before_ack),
        )
        assert (await case_now())["tasks"]["charging_decision"]["status"] == "open"

        form = liaison.locator("#form-charging_decision")
        assert await form.locator('[name="court_case_number"]').input_value() == "26-CR-01234"
        decided = minute(datetime.now(UTC))
        arraigned = decided.astimezone(ZONE).date() - timedelta(days=1)
        await form.locator('[name="decided_at"]').fill(chicago(decided))
        await form.locator('[name="arraignment_date"]').fill(arraigned.isoformat())
        answer = await submitted(liaison, form)
        await refused(
            liaison,
            answer,
            "form-charging_decision",
            "arraignment_date",
            "Arraignment date must not be before the charging decision",
            when(decided),
            day(arraigned),
        )
        state = await case_now()
        assert state["tasks"]["charging_decision"]["status"] == "open"
        assert state["prosecution"]["decisions"] == []

        form = liaison.locator("#form-charging_decision")
        assert await form.locator('[name="decided_at"]').input_value() == chicago(decided)
        await form.locator('[name="arraignment_date"]').fill((arraigned + timedelta(days=1)).isoformat())
        await send(liaison, form.get_by_role("button").last)
        await recorded(liaison, "charging_decision", "Charging decision recorded")
        state = await case_now()
        [decision] = state["prosecution"]["decisions"]
        assert datetime.fromisoformat(decision["payload"]["decided_at"]) == decided
        assert state["prosecution"]["arraignment_date"] == (arraigned + timedelta(days=1)).isoformat()
        await api.aclose()


async def test_a_date_in_the_future_is_refused_naming_it_and_the_time_now(settings, worker, people):
    """Nothing that happened is dated in the future: an evidence item collected tomorrow is refused beside the field,
    the refusal naming the date typed and the time it is now, both as the desk shows them."""
    async with serving(settings) as url, chromium() as browser:
        api = httpx.AsyncClient(base_url=url)
        driver = Driver(api, people)
        case = await driver.new_case("officer")
        officer = await sign_in(browser, url, people.tokens["officer"], script=False)
        await officer.goto(f"/desk/cases/{case['id']}")
        await unfold(officer, "form-add_evidence")
        form = officer.locator("#form-add_evidence")
        await form.locator('[name="kind"]').select_option("photo")
        await form.locator('[name="source"]').select_option(index=1)
        await form.locator('[name="description"]').fill("injury to the left palm")
        tomorrow = minute(datetime.now(UTC) + timedelta(days=1))
        await form.locator('[name="collected_at"]').fill(chicago(tomorrow))
        await form.locator('[name="held_elsewhere.system"]').fill("Axon Evidence.com")
        await form.locator('[name="held_elsewhere.reference"]').fill("AXON-PHOTO-0002")
        now = datetime.now(UTC)
        answer = await submitted(officer, form)
        words = await refused(
            officer,
            answer,
            "form-add_evidence",
            "collected_at",
            "Collected at must not be in the future",
            when(tomorrow),
        )
        # The time it is now, as the desk shows it (the server's minute, or the next one).
        nows = {when(now), when(now + timedelta(minutes=1))}
        assert any(shown in words for shown in nows), (nows, words)
        response = await driver.get(case["id"])
        assert response.json()["evidence"] == []
        await api.aclose()
