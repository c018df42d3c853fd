"""The desk's forms without script, taking what the case already records: the supervisor chosen from the federal
personnel ("Fill in", or the details of the person chosen filling those left blank when sent), a correction's field
chosen ("Choose") bringing back the control its value needs, and an element citing the case's exhibits."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from referrals.domain.corrections import TIME_FORMAT
from tests.support.desk_client import filled, send, step_form
from tests.support.pages import repeated_ids, text
from tests.support.scenario import FILING, HOLD_1, HOLD_2, IDENTIFIED, VIOLATIONS, Driver, filing

CHICAGO = ZoneInfo("America/Chicago")
PERSONNEL = [
    {"agency": "ICE", "name": "J. Doe", "badge": "4411", "description": None},
    {"agency": "CBP", "name": None, "badge": None, "description": "driver of the grey SUV"},
]


async def test_the_supervisor_is_chosen_from_the_federal_personnel_without_script(api, people, desk):
    d = Driver(api, people)
    case = await d.new_case("officer", filing(federal_personnel=PERSONNEL))
    url = f"/desk/cases/{case['id']}"
    officer = await desk("officer")
    page = (await officer.get(url)).text
    assert not repeated_ids(page)  # (the controls a correction may need are templates: inert, ids apart)
    form = step_form(page, "supervisor_identification")
    assert ("federal_person", "") in form["fields"]
    assert "ICE: J. Doe, badge 4411" in page and "CBP: driver of the grey SUV" in page

    # "Fill in": the same form back, the person's details in their fields; nothing recorded.
    chosen = await send(officer, form, [*filled(form, {"federal_person": "0"}), ("choose", "federal_person")])
    assert chosen.status_code == 200, chosen.text
    again = step_form(chosen.text, "supervisor_identification")
    assert {("name", "J. Doe"), ("agency", "ICE"), ("badge", "4411")} <= set(again["fields"])
    assert (await d.get(case["id"])).json()["supervisor_identification"] is None

    # Sent with the person chosen and their fields left blank: the server takes their details.
    sent = await send(
        officer,
        form,
        filled(
            form,
            {
                "outcome": "identified",
                "federal_person": "0",
                "verification": "credential_viewed",
                "camera_id": "X6031234",
            },
        ),
    )
    assert sent.status_code == 303, sent.text
    recorded = (await d.get(case["id"])).json()["supervisor_identification"]["payload"]
    assert (recorded["name"], recorded["agency"], recorded["badge"]) == ("J. Doe", "ICE", "4411")


async def test_choose_brings_back_the_control_of_the_field_to_correct(api, people, desk):
    d = Driver(api, people)
    case = await d.new_case("officer", filing())
    url = f"/desk/cases/{case['id']}"
    officer = await desk("officer")
    form = step_form((await officer.get(url)).text, "file_supplement")
    back = await send(
        officer,
        form,
        [*filled(form, {"corrections[0].field": "occurred_at"}), ("choose", "corrections[0]")],
    )
    assert back.status_code == 200, back.text
    assert 'name="corrections[0].value" type="datetime-local"' in back.text
    again = step_form(back.text, "file_supplement")
    assert ("corrections[0].field", "occurred_at") in again["fields"]
    # Sent: the wall-clock time is read on Chicago's clock, and the case page says it in words.
    occurred = datetime.fromisoformat(FILING["occurred_at"]).astimezone(CHICAGO)
    corrected = occurred - timedelta(minutes=2)
    done = await send(
        officer,
        again,
        filled(
            again,
            {"corrections[0].value": corrected.strftime("%Y-%m-%dT%H:%M"), "corrections[0].reason": "the dispatch log"},
        ),
    )
    assert done.status_code == 303, done.text
    shown = text((await officer.get(url)).text)
    assert f"When it happened {occurred.strftime(TIME_FORMAT)}" in shown, shown  # as filed, then corrected to
    assert corrected.replace(second=0, microsecond=0).strftime(TIME_FORMAT) in shown
    stored = datetime.fromisoformat((await d.get(case["id"])).json()["details"]["occurred_at"])
    assert stored == corrected.replace(second=0, microsecond=0)


async def test_an_element_cites_the_case_s_exhibits_by_key(api, people, desk):
    d = Driver(api, people)
    case = await d.new_case("officer", filing(federal_personnel=PERSONNEL))
    await d.ok(case["id"], "footage-hold", "custodian", {"holds": [HOLD_1, HOLD_2]})
    await d.ok(case["id"], "supervisor-identification", "officer", IDENTIFIED)
    await d.ok(case["id"], "violation-report", "officer", VIOLATIONS)
    reviewer = await desk("reviewer")
    page = (await reviewer.get(f"/desk/cases/{case['id']}")).text
    form = step_form(page, "legal_review")
    element = "subjects[0].charges[0].elements[0]"
    assert (f"{element}.exhibits", "A1") in form["boxes"] and (f"{element}.exhibits", "A2") in form["boxes"]
    assert "A1: Body-worn camera recording, camera X6031234" in text(page)
    # An exhibit ticked without the element's facts: the refusal names the facts, the box stays ticked.
    refused = await send(
        reviewer,
        form,
        filled(
            form,
            {"decision": "refer", "rationale": "The force was gratuitous."},
            [("subjects[0].charges[0].statute", "720 ILCS 5/12-3"), (f"{element}.exhibits", "A1")],
        ),
    )
    assert refused.status_code == 422, refused.text
    again = step_form(refused.text, "legal_review")
    assert (f"{element}.exhibits", "A1") in again["fields"]
