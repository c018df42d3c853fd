"""Refusals end to end: the right status, the field named, and nothing changed (no event, no row, no history).
One representative of each kind; the rules' variations are the unit tier's (tests/unit/)."""

import pytest

from tests.support.refusals import refused
from tests.support.scenario import (
    APPROVE,
    CHARGED,
    HOLD_1,
    REFER,
    REMANDED,
    REMOVAL,
    SUBJECT,
    Driver,
    filing,
)


async def test_validator_refusals_in_investigation(api, people, dev_server):
    """One refusal of each status a validator gives, through the API with the field named and nothing changed.
    The other rules of the investigation's steps (a hold past the purge date, the identification's camera, the
    statute catalogue, a step not open yet or done already): tests/unit/test_investigation_steps.py,
    tests/unit/test_review_steps.py."""
    d = Driver(api, people)
    cid = (await d.new_case())["id"]
    unknown = {**HOLD_1, "camera_id": "NOPE"}
    await refused(
        d,
        dev_server,
        cid,
        "footage-hold",
        "custodian",
        {"holds": [unknown]},
        422,
        "holds[0].camera_id",
        "not among this case's recordings",
    )
    await d.ok(cid, "footage-hold", "custodian", {"holds": [HOLD_1]})
    await refused(
        d,
        dev_server,
        cid,
        "footage-hold",
        "custodian",
        {"holds": [HOLD_1]},
        409,
        "holds[0].camera_id",
        "already held under AXON-2026-0042",
    )


async def test_validator_refusals_in_review_and_approval(api, people, dev_server):
    """Separation of duties, by the user the token names. The legal review's checks against the case and the
    catalogue, the legal reviewer who may not approve, a review taken twice: tests/unit/test_review_steps.py."""
    d = Driver(api, people)
    cid = (await d.new_case("officer_commander"))["id"]
    await d.investigate(cid)
    await d.ok(cid, "legal-review", "reviewer", REFER)
    await refused(
        d, dev_server, cid, "command-approval", "officer_commander", APPROVE, 403, says="the filer may not approve"
    )
    case = await d.ok(cid, "command-approval", "commander", APPROVE)
    assert case["stage"] == "referral"


async def test_prosecution_steps_only_in_their_turn(api, people, dev_server):
    """The prosecution through the API, and the one refusal its turn gives while a removal is pending. Each step
    out of its turn, by the wrong role, recorded twice, or naming what the case does not hold:
    tests/unit/test_prosecution_steps.py."""
    d = Driver(api, people)
    cid = (await d.new_case())["id"]
    await d.refer_to_the_end(cid)
    without_date = {key: value for key, value in CHARGED.items() if key != "arraignment_date"}
    case = await d.ok(cid, "charging-decision", "commander", without_date)  # command may record it too
    assert case["prosecution"]["removal_deadline"] is None
    case = await d.ok(cid, "arraignment", "liaison", {"arraignment_date": CHARGED["arraignment_date"]})
    assert case["prosecution"]["removal_deadline"]
    await d.ok(cid, "removal-notice", "liaison", REMOVAL)
    # While the removal is pending the state court cannot convict (28 U.S.C. § 1455(b)(3)); it can dismiss.
    await refused(
        d,
        dev_server,
        cid,
        "prosecution-outcome",
        "liaison",
        {"outcome": "convicted", "decided_on": REMANDED["decided_on"]},
        409,
        "outcome",
        "§ 1455(b)(3)",
    )
    case = await d.ok(
        cid, "prosecution-outcome", "liaison", {"outcome": "dismissed", "decided_on": REMANDED["decided_on"]}
    )
    assert (case["stage"], case["disposition"], case["prosecution"]["outcome"]["payload"]["outcome"]) == (
        "closed",
        "referred",
        "dismissed",
    )


async def test_two_outcomes_sent_at_once_record_one(api, people, dev_server):
    """The second, queued behind the first before the case closes, is refused by its own check: one outcome."""
    import asyncio

    d = Driver(api, people)
    cid = (await d.new_case())["id"]
    await d.refer_to_the_end(cid)
    await d.ok(cid, "charging-decision", "liaison", CHARGED)
    day = REMANDED["decided_on"]
    answers = await asyncio.gather(
        *(
            d.step(cid, "prosecution-outcome", who, {"outcome": outcome, "decided_on": day})
            for who, outcome in (("liaison", "plea"), ("commander", "dismissed"))
        )
    )
    assert sorted(a.status_code for a in answers) == [200, 409], [a.text for a in answers]
    kept = next(a for a in answers if a.status_code == 200).json()["prosecution"]["outcome"]["payload"]["outcome"]
    case = (await d.get(cid)).json()
    assert case["stage"] == "closed" and case["prosecution"]["outcome"]["payload"]["outcome"] == kept
    kinds = [e["kind"] for e in (await d.settled(cid))["items"]]
    assert kinds.count("prosecution_outcome_recorded") == 1 and kinds.count("case_closed") == 1
    # The moment between them (the outcome recorded, the case not yet closed), where the check itself refuses
    # the second: tests/unit/test_prosecution_steps.py, test_two_outcomes_queued_at_once_record_one.


async def test_a_malformed_body_names_the_field(api, people, dev_server):
    """A request model's refusal reaches the API's error shape with the nested field's path, and changes nothing.
    Every other malformed body of every step: tests/unit/test_request_models.py (and a date in the future:
    tests/unit/test_arrival_checks.py)."""
    d = Driver(api, people)
    cid = (await d.new_case())["id"]
    body = {**REFER, "subjects": [{**SUBJECT, "authority": {**SUBJECT["authority"], "legal_basis": "hunch"}}]}
    await refused(d, dev_server, cid, "legal-review", "reviewer", body, 422, "subjects[0].authority.legal_basis")


async def test_a_bad_filing_is_refused_and_stores_nothing(api, people, sessions):
    """The privacy rule, nested in a list, refusing a filing before anything is stored. The other spellings and
    nestings: tests/unit/test_privacy.py; the filing's other refusals: tests/unit/test_request_models.py and
    tests/unit/test_filing_rules.py (the policy's recording flags)."""
    from sqlalchemy import func
    from sqlmodel import select

    from referrals.store.tables import Incident

    async with sessions() as s:
        before = (await s.exec(select(func.count()).select_from(Incident))).one()
    response = await Driver(api, people).file(
        "officer", filing(federal_personnel=[{"agency": "ICE", "citizenship": "US"}])
    )
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert any(x["field"] == "federal_personnel[0]" for x in error["details"]), error
    assert "TRUST Act" in error["message"]
    async with sessions() as s:
        assert (await s.exec(select(func.count()).select_from(Incident))).one() == before


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("OPTIONS", "/incidents", "GET, HEAD, POST"),
        ("DELETE", "/incidents/some-case", "GET, HEAD"),
        ("PUT", "/incidents/some-case/footage-hold", "POST"),
    ],
)
async def test_a_method_a_path_does_not_serve_is_405_naming_every_method_it_does(api, people, method, path, allow):
    response = await api.request(method, path, headers=people.headers("auditor"))
    assert response.status_code == 405, response.text
    assert response.headers["allow"] == allow
    assert response.json()["error"]["code"] == "method_not_allowed"
