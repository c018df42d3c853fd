"""Every refusal: the right status, the field named, and nothing changed (no event, no row, no history)."""

import pytest

from referrals.domain.case import workflow_id_for
from tests.support.refusals import refused
from tests.support.scenario import (
    ACK,
    APPROVE,
    CHARGED,
    DECLINED,
    FILING,
    HOLD_1,
    IDENTIFIED,
    PURGE_DATE,
    REFER,
    REFER_SINGLE_BLOCK,
    REMANDED,
    REMOVAL,
    SUBJECT,
    VIOLATIONS,
    Driver,
    filing,
)


def with_subject(**changes) -> dict:
    return {**REFER, "subjects": [{**SUBJECT, **changes}]}


async def test_validator_refusals_in_investigation(api, people, dev_server):
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
    early = {**HOLD_1, "retained_until": PURGE_DATE.isoformat()}
    await refused(
        d,
        dev_server,
        cid,
        "footage-hold",
        "custodian",
        {"holds": [early]},
        422,
        "holds[0].retained_until",
        f"after the recording's purge date {PURGE_DATE.isoformat()}",
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
    await refused(
        d, dev_server, cid, "supervisor-identification", "officer", {**IDENTIFIED, "camera_id": "Z1"}, 422, "camera_id"
    )
    bad_statute = {**VIOLATIONS, "allegations": [{**VIOLATIONS["allegations"][0], "statute": "18 U.S.C. 242"}]}
    await refused(
        d,
        dev_server,
        cid,
        "violation-report",
        "officer",
        bad_statute,
        422,
        "allegations[0].statute",
        "not in the statute catalogue",
    )
    await refused(d, dev_server, cid, "legal-review", "reviewer", REFER, 409, says="legal_review is not open")
    await refused(d, dev_server, cid, "command-approval", "commander", APPROVE, 409)
    await refused(d, dev_server, cid, "referral-acknowledgement", "liaison", ACK, 409)
    await d.ok(cid, "supervisor-identification", "officer", IDENTIFIED)
    await refused(d, dev_server, cid, "supervisor-identification", "officer", IDENTIFIED, 409, says="already done")


async def test_validator_refusals_in_review_and_approval(api, people, dev_server):
    d = Driver(api, people)
    cid = (await d.new_case("officer_commander"))["id"]
    await d.investigate(cid)
    not_alleged = with_subject(charges=[{"statute": "720 ILCS 5/10-1", "elements": []}])
    await refused(
        d,
        dev_server,
        cid,
        "legal-review",
        "reviewer_commander",
        not_alleged,
        422,
        "subjects[0].charges[0].statute",
        "not among the alleged statutes",
    )
    # To refer, each element of a charge is addressed; an element the statute does not have is refused.
    one_element = with_subject(
        charges=[{"statute": "720 ILCS 5/12-3", "elements": [SUBJECT["charges"][0]["elements"][0]]}]
    )
    await refused(
        d,
        dev_server,
        cid,
        "legal-review",
        "reviewer_commander",
        one_element,
        422,
        "subjects[0].charges[0].elements",
        "element 2 (caused bodily harm",
    )
    third = {"element": 3, "facts": "x"}
    too_many = with_subject(
        charges=[{"statute": "720 ILCS 5/12-3", "elements": [*SUBJECT["charges"][0]["elements"], third]}]
    )
    await refused(
        d,
        dev_server,
        cid,
        "legal-review",
        "reviewer_commander",
        too_many,
        422,
        "subjects[0].charges[0].elements[2].element",
        "has 2 elements",
    )
    cited = {**SUBJECT["charges"][0]["elements"][0], "evidence": ["no-such-item"]}
    no_item = with_subject(
        charges=[{"statute": "720 ILCS 5/12-3", "elements": [cited, SUBJECT["charges"][0]["elements"][1]]}]
    )
    await refused(
        d,
        dev_server,
        cid,
        "legal-review",
        "reviewer_commander",
        no_item,
        422,
        "subjects[0].charges[0].elements[0].evidence[0]",
        "no evidence no-such-item",
    )
    await d.ok(cid, "legal-review", "reviewer_commander", REFER)
    await refused(
        d,
        dev_server,
        cid,
        "command-approval",
        "reviewer_commander",
        APPROVE,
        403,
        says="the legal reviewer may not approve",
    )
    await refused(
        d, dev_server, cid, "command-approval", "officer_commander", APPROVE, 403, says="the filer may not approve"
    )
    await refused(d, dev_server, cid, "legal-review", "reviewer", REFER, 409, says="already done")
    case = await d.ok(cid, "command-approval", "commander", APPROVE)
    assert case["stage"] == "referral"


async def test_prosecution_steps_only_in_their_turn(api, people, dev_server):
    d = Driver(api, people)
    cid = (await d.new_case())["id"]
    # Before the acknowledgement: nothing of the prosecution stage can be recorded.
    await refused(
        d, dev_server, cid, "charging-decision", "liaison", CHARGED, 409, says="charging_decision is not open"
    )
    await refused(
        d, dev_server, cid, "removal-notice", "liaison", REMOVAL, 409, says="after the prosecutor's acknowledgement"
    )
    await d.refer_to_the_end(cid)
    await refused(d, dev_server, cid, "charging-decision", "officer", CHARGED, 403, says="prosecutor_liaison")
    await refused(d, dev_server, cid, "removal-notice", "liaison", REMOVAL, 409, says="'charged' first")
    await refused(
        d,
        dev_server,
        cid,
        "prosecution-outcome",
        "liaison",
        {"outcome": "plea", "decided_on": REMANDED["decided_on"]},
        409,
        says="'charged' first",
    )
    stranger = {**CHARGED, "charges": [{"subject": "Agent Smith", "statutes": ["720 ILCS 5/12-3"]}]}
    await refused(
        d,
        dev_server,
        cid,
        "charging-decision",
        "liaison",
        stranger,
        422,
        "charges[0].subject",
        "not among the subjects the legal review referred",
    )
    unknown = {**CHARGED, "charges": [{"subject": SUBJECT["subject"], "statutes": ["18 U.S.C. 242"]}]}
    await refused(d, dev_server, cid, "charging-decision", "liaison", unknown, 422, "charges[0].statutes[0]")
    without_date = {key: value for key, value in CHARGED.items() if key != "arraignment_date"}
    case = await d.ok(cid, "charging-decision", "commander", without_date)  # command may record it too
    assert case["prosecution"]["removal_deadline"] is None
    await refused(d, dev_server, cid, "charging-decision", "liaison", DECLINED, 409, says="already done")
    await refused(d, dev_server, cid, "removal-outcome", "liaison", REMANDED, 409, says="no notice of removal")
    case = await d.ok(cid, "arraignment", "liaison", {"arraignment_date": CHARGED["arraignment_date"]})
    assert case["prosecution"]["removal_deadline"]
    await refused(
        d,
        dev_server,
        cid,
        "arraignment",
        "liaison",
        {"arraignment_date": CHARGED["arraignment_date"]},
        409,
        "arraignment_date",
        "already recorded",
    )
    await d.ok(cid, "removal-notice", "liaison", REMOVAL)
    await refused(d, dev_server, cid, "removal-notice", "liaison", REMOVAL, 409, says="already recorded")
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
    early = {**REMANDED, "decided_on": "2020-01-01"}
    await refused(d, dev_server, cid, "removal-outcome", "liaison", early, 422, "decided_on", "before the notice")
    case = await d.ok(
        cid, "prosecution-outcome", "liaison", {"outcome": "dismissed", "decided_on": REMANDED["decided_on"]}
    )
    assert (case["stage"], case["disposition"], case["prosecution"]["outcome"]["payload"]["outcome"]) == (
        "closed",
        "referred",
        "dismissed",
    )
    await refused(d, dev_server, cid, "removal-outcome", "liaison", REMANDED, 409, says="closed")


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
    # The moment between them: the outcome recorded, the case not yet closed (a handler queued on the lock
    # re-checks there). The check itself refuses a second outcome.
    from referrals.domain.case import CaseState
    from referrals.domain.enums import Stage
    from referrals.domain.errors import Rejection
    from referrals.domain.messages import Actor, ProsecutionOutcomeIn, Step
    from referrals.domain.steps.prosecution import check_prosecution_outcome
    from tests.support.policies import CHICAGO

    stored = await dev_server.client.get_workflow_handle(workflow_id_for(cid)).query("case")
    between = CaseState.model_validate(stored).model_copy(update={"stage": Stage.PROSECUTION})
    liaison = Actor(user_id="u", name="Liaison", roles=["prosecutor_liaison"])
    with pytest.raises(Rejection, match="outcome is already recorded"):
        check_prosecution_outcome(
            between, Step(actor=liaison, payload=ProsecutionOutcomeIn(outcome="nolle", decided_on=day)), CHICAGO
        )


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("legal-review", {"decision": "refer", "rationale": "x"}, "subjects"),
        # A review-level `charges` list and `immunity` block are refused: the analysis is per subject.
        ("legal-review", {**REFER_SINGLE_BLOCK, "subjects": [SUBJECT]}, "charges"),
        ("legal-review", {**REFER, "subjects": [{**SUBJECT, "finding": "immune"}]}, "subjects[0].finding"),
        (
            "legal-review",
            {
                **REFER,
                "subjects": [
                    {
                        **SUBJECT,
                        "charges": [],
                    }
                ],
            },
            "subjects",
        ),
        ("legal-review", {**REFER, "subjects": [SUBJECT, SUBJECT]}, "subjects"),
        (
            "legal-review",
            {**REFER, "subjects": [{**SUBJECT, "authority": {**SUBJECT["authority"], "legal_basis": "hunch"}}]},
            "subjects[0].authority.legal_basis",
        ),
        ("legal-review", {"decision": "return", "rationale": "x"}, "return_tasks"),
        ("legal-review", {"decision": "return", "rationale": "x", "return_tasks": ["legal_review"]}, "return_tasks"),
        ("legal-review", {**REFER, "decision": "maybe"}, "decision"),
        ("supervisor-identification", {**IDENTIFIED, "badge": None}, "badge"),
        ("supervisor-identification", {"outcome": "refused"}, "camera_id"),
        ("footage-hold", {"holds": []}, "holds"),
        ("footage-hold", {"holds": [HOLD_1, HOLD_1]}, "holds"),
        ("footage-hold", {"holds": [{**HOLD_1, "retained_until": "soon"}]}, "holds[0].retained_until"),
        ("violation-report", {"allegations": [], "narrative": "x"}, "allegations"),
        ("command-approval", {"decision": "approve", "approved_by": "someone else"}, "approved_by"),
        ("referral-acknowledgement", {**ACK, "received_at": "2026-02-10T09:00:00"}, "received_at"),
        ("charging-decision", {**CHARGED, "court_case_number": None}, "court_case_number"),
        ("charging-decision", {**DECLINED, "reason": None}, "reason"),
        ("charging-decision", {**DECLINED, "court_case_number": "26-CR-1"}, "court_case_number"),
        ("charging-decision", {"decision": "grand_jury", "decided_at": CHARGED["decided_at"]}, "grand_jury_date"),
        (
            "charging-decision",
            {
                "decision": "further_investigation",
                "decided_at": CHARGED["decided_at"],
                "requested": "The agents' radio traffic.",
            },
            "return_tasks",
        ),
        ("charging-decision", {**CHARGED, "arraignment_date": "2999-01-01"}, "arraignment_date"),
        ("removal-notice", {**REMOVAL, "federal_case_number": ""}, "federal_case_number"),
        ("removal-outcome", {**REMANDED, "result": "vanished"}, "result"),
        ("prosecution-outcome", {"outcome": "convicted"}, "decided_on"),
        ("withdrawal", {"reason": ""}, "reason"),
        ("withdrawal", {"reason": "bad\u0000byte"}, "reason"),
    ],
)
async def test_malformed_bodies_name_the_field(api, people, dev_server, path, body, field):
    d = Driver(api, people)
    cid = (await d.new_case())["id"]
    who = {
        "legal-review": "reviewer",
        "supervisor-identification": "officer",
        "footage-hold": "custodian",
        "violation-report": "officer",
        "command-approval": "commander",
        "referral-acknowledgement": "liaison",
        "withdrawal": "admin",
    }.get(path, "liaison")
    await refused(d, dev_server, cid, path, who, body, 422, field)


@pytest.mark.parametrize(
    ("body", "field", "says"),
    [
        (filing(immigration_status="undocumented"), "body", "immigration status, citizenship"),
        (filing(federal_personnel=[{"agency": "ICE", "citizenship": "US"}]), "federal_personnel[0]", "TRUST Act"),
        (filing(occurred_at="2026-01-31T13:05:00"), "occurred_at", "timezone"),
        (filing(officers=[]), "officers", None),
        (
            filing(recordings=[{**FILING["recordings"][0], "ended_at": "2020-01-31T12:00:00-06:00"}]),
            "recordings[0].ended_at",
            "before started_at",
        ),
        (filing(recordings=[FILING["recordings"][0], FILING["recordings"][0]]), "recordings", "more than once"),
        (
            filing(recordings=[{**FILING["recordings"][0], "flag_reasons": ["looked_suspicious"]}]),
            "recordings[0].flag_reasons[0]",
            None,
        ),
        (filing(district="0 1 0; drop"), "district", None),
        (filing(summary="x" * 501), "summary", None),
    ],
)
async def test_bad_filings_are_refused_and_store_nothing(api, people, sessions, body, field, says):
    from sqlalchemy import func
    from sqlmodel import select

    from referrals.store.tables import Incident

    async with sessions() as s:
        before = (await s.exec(select(func.count()).select_from(Incident))).one()
    response = await Driver(api, people).file("officer", body)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert any(x["field"] == field for x in error["details"]), error
    if says:
        assert says in error["message"]
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
