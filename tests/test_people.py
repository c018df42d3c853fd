"""The people involved: named at filing or added later, their contact details sealed and need-to-know."""

import base64
import os

import pytest
from cryptography.exceptions import InvalidTag
from sqlalchemy import text

from referrals.domain.messages import Contact
from referrals.domain.permissions import ALLOWED, Operation
from referrals.sealing import Sealer
from tests.support.people import PEOPLE
from tests.support.scenario import CLEAR, FILING, VICTIM, WITNESS, Driver, filing


@pytest.fixture(scope="module")
async def case(api, people):
    """Filed with the victim; the witness added afterwards by the legal reviewer."""
    d = Driver(api, people)
    filed = await d.new_case(body=filing(people=[VICTIM]))
    added = await d.ok(filed["id"], "people", "reviewer", WITNESS)
    await d.settled(filed["id"])  # the preservation request made and recorded: nothing more will be stored
    return filed, added


async def test_people_named_at_filing_and_added_later(api, people, case):
    filed, added = case
    assert [p["id"] for p in filed["people"]] == ["P1"]
    victim = filed["people"][0]
    assert victim["part"] == "victim" and victim["name"] == "Jane Roe"
    assert victim["contact"] == VICTIM["contact"]  # the filing officer may read it
    assert victim["injuries"]["hospital"] == "Mount Sinai Hospital"
    assert victim["statements"][0]["camera_id"] == "X6031234"
    assert victim["added_by"]["name"] == "Test officer"

    assert [(p["id"], p["part"], p["name"], p["name_withheld"]) for p in added["people"]] == [
        ("P1", "victim", "Jane Roe", None),
        ("P2", "witness", None, "declined"),
    ]
    assert added["people"][1]["added_by"]["name"] == "Test reviewer"
    assert added["stage"] == "investigation"  # adding a person completes no task
    events = await Driver(api, people).events(filed["id"])
    kinds = [e["kind"] for e in events["items"]]
    assert kinds.count("person_added") == 1 and events["chain_valid"]
    person_added = next(e for e in events["items"] if e["kind"] == "person_added")
    assert person_added["actor_name"] == "Test reviewer" and person_added["data"]["part"] == "witness"


# One who may read them and one who may not; the matrix's every role: tests/unit/test_permissions.py.
@pytest.mark.parametrize("who", ["officer", "commander"])
async def test_contact_details_only_for_the_roles_that_need_them(api, people, case, who):
    """The matrix: READ_CONTACT's roles read the details; everyone else who sees the case sees that they exist."""
    shown = (await Driver(api, people).get(case[0]["id"], who)).json()["people"]
    may_read = any(role in ALLOWED[Operation.READ_CONTACT] for role in PEOPLE[who][0])
    assert [p["contact_on_file"] for p in shown] == [True, True]
    assert [p["contact"] for p in shown] == (
        [VICTIM["contact"], {"phone": "773-555-0199", "email": None, "address": None}] if may_read else [None, None]
    )
    assert [p["name"] for p in shown] == ["Jane Roe", None]  # names are the case file's, not need-to-know


async def test_contact_details_are_sealed_everywhere_they_are_kept(api, people, case, sessions, dev_server):
    case_id = case[0]["id"]
    async with sessions() as session:
        state = (
            await session.exec(text("select state::text from incident where id = :id"), params={"id": case_id})
        ).scalar()
        events = (
            await session.exec(
                text("select string_agg(data::text, ' ') from case_event where case_id = :id"), params={"id": case_id}
            )
        ).scalar()
    assert "Jane Roe" in state and '"key_id"' in state and '"key_id"' in events  # stored, with the contact sealed
    for clear in CLEAR:
        assert clear not in state and clear not in events
    # The workflow holds them sealed too (its history is encrypted again by the payload codec), and
    # the Temporal UI's summary and details of the case carry no person at all.
    handle = dev_server.client.get_workflow_handle(case[0]["workflow_id"])
    held = await handle.query("case")
    assert set(held["people"][0]["contact"]) == {"key_id", "data"}
    described = await handle.describe()
    shown = f"{await described.static_summary()} {await described.static_details()} {described.typed_search_attributes}"
    for clear in [*CLEAR, "Jane Roe"]:
        assert clear not in shown


COUNTS = text("select (select count(*) from incident), (select count(*) from case_event)")


async def test_no_status_field_is_taken_with_a_person(api, people, case, sessions):
    """A status field in a statement, on both endpoints that take a person; nothing stored. The other spellings
    and nestings: tests/unit/test_privacy.py."""
    d = Driver(api, people)
    body = {**VICTIM, "statements": [{**VICTIM["statements"][0], "Country-Of-Birth": "x"}]}
    async with sessions() as session:
        before = (await session.exec(COUNTS)).one()
    response = await d.step(case[0]["id"], "people", "officer", body)
    assert response.status_code == 422, response.text
    assert "never collects the immigration status" in response.json()["error"]["message"]
    response = await d.file(body=filing(people=[body]))
    assert response.status_code == 422, response.text
    assert "never collects the immigration status" in response.json()["error"]["message"]
    async with sessions() as session:
        after = (await session.exec(COUNTS)).one()
    assert tuple(after) == tuple(before)  # nothing stored
    assert len((await d.get(case[0]["id"])).json()["people"]) == 2


async def test_a_bad_person_is_refused_naming_the_field(api, people, case):
    """The field's path as the API names it. A person's other refusals: tests/unit/test_request_models.py; a
    statement taken in the future: tests/unit/test_arrival_checks.py; naming a camera not in the case (here or
    at filing): tests/unit/test_people_and_supplements.py, tests/unit/test_request_models.py."""
    d = Driver(api, people)
    response = await d.step(case[0]["id"], "people", "officer", {**WITNESS, "contact": {"phone": "call me"}})
    assert response.status_code == 422, response.text
    assert "contact.phone" in [detail["field"] for detail in response.json()["error"]["details"]], response.text
    assert len((await d.get(case[0]["id"])).json()["people"]) == 2


async def test_a_statement_dated_before_the_incident_is_refused_at_filing_and_later(api, people, case):
    """Through the API, both dates named in the department's zone. Every rule of the dates' order:
    tests/unit/test_chronology.py."""
    d = Driver(api, people)
    early = {**WITNESS["statements"][0], "taken_at": FILING["recordings"][0]["started_at"]}  # before the incident
    filed = await d.file(body=filing(people=[{**WITNESS, "statements": [early]}]))
    added = await d.step(case[0]["id"], "people", "officer", {**WITNESS, "statements": [early]})
    for response, field in ((filed, "people[0].statements[0].taken_at"), (added, "statements[0].taken_at")):
        assert response.status_code == 422, response.text
        (detail,) = response.json()["error"]["details"]
        assert detail["field"] == field, response.text
        assert detail["message"].startswith("must not be before the incident ("), response.text
        assert "; it is dated " in detail["message"] and any(z in detail["message"] for z in (" CST", " CDT")), detail
    assert len((await d.get(case[0]["id"])).json()["people"]) == 2


async def test_who_may_add_a_person(api, people):
    """Refused by role, through the API. Every role, and a closed case: tests/unit/test_people_and_supplements.py
    and tests/unit/test_permissions.py."""
    d = Driver(api, people)
    case_id = (await d.new_case())["id"]
    response = await d.step(case_id, "people", "custodian", WITNESS)
    assert response.status_code == 403, response.text
    assert len((await d.get(case_id)).json()["people"]) == 0


def test_sealed_contact_opens_after_a_key_rotation():
    old = ("k1", os.urandom(32))
    new = ("k2", os.urandom(32))
    contact = Contact(phone="312-555-0100", address="2700 S Pulaski Rd")
    sealed = Sealer([old]).seal(contact)
    assert sealed.key_id == "k1" and "555" not in sealed.data
    rotated = Sealer([new, old])  # the new key seals, the old one still opens
    assert rotated.open(sealed) == contact
    assert rotated.seal(contact).key_id == "k2"
    with pytest.raises(ValueError, match="k1"):
        Sealer([new]).open(sealed)
    tampered = sealed.model_copy(update={"data": base64.b64encode(b"\0" * 40).decode()})
    with pytest.raises(InvalidTag):
        rotated.open(tampered)
