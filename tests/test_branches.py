"""The lifecycle's other ends: return, decline, reject, withdrawal."""

from datetime import date, timedelta

from tests.support.scenario import (
    ACK,
    APPROVE,
    CHARGED,
    DECLINE,
    HOLD_1,
    HOLD_2,
    IDENTIFIED,
    REFER,
    RETURN,
    VIOLATIONS,
    Driver,
)


async def test_return_reopens_only_the_named_tasks(api, people):
    d = Driver(api, people)
    cid = (await d.new_case())["id"]
    await d.investigate(cid)
    case = await d.ok(cid, "legal-review", "reviewer", RETURN)
    assert case["stage"] == "investigation"
    assert case["tasks"]["supervisor_identification"]["status"] == "open"
    assert case["tasks"]["supervisor_identification"]["completed_by"] is None
    assert case["tasks"]["footage_hold"]["status"] == "done"
    assert case["tasks"]["violation_report"]["status"] == "done"
    assert case["tasks"]["legal_review"]["status"] == "done"
    assert case["investigation_round"] == 2

    # The done tasks refuse a second submission; the reopened one takes it and review comes back.
    assert (await d.step(cid, "violation-report", "officer", VIOLATIONS)).status_code == 409
    refused = {
        **IDENTIFIED,
        "outcome": "refused",
        "name": None,
        "badge": None,
        "agency": "ICE",
        "notes": "The supervisor refused to show a credential, on camera.",
    }
    case = await d.ok(cid, "supervisor-identification", "officer", refused)
    assert case["stage"] == "legal_review"
    assert case["tasks"]["legal_review"]["status"] == "open"
    assert case["supervisor_identification"]["payload"]["outcome"] == "refused"
    assert case["supervisor_identification"]["payload"]["camera_id"] == "X6031234"
    case = await d.ok(cid, "legal-review", "reviewer", REFER)
    assert case["stage"] == "command_approval"
    assert [r["payload"]["decision"] for r in case["legal_reviews"]] == ["return", "refer"]
    kinds = [e["kind"] for e in (await d.events(cid))["items"]]
    assert kinds.count("tasks_reopened") == 1


async def test_returned_footage_hold_must_be_confirmed_again(api, people):
    d = Driver(api, people)
    cid = (await d.new_case())["id"]
    await d.investigate(cid)
    back = {**RETURN, "return_tasks": ["footage_hold"]}
    case = await d.ok(cid, "legal-review", "reviewer", back)
    assert case["tasks"]["footage_hold"]["status"] == "open"
    case = await d.ok(cid, "footage-hold", "custodian", {"holds": [HOLD_1]})
    assert case["tasks"]["footage_hold"]["status"] == "open"
    case = await d.ok(cid, "footage-hold", "custodian", {"holds": [{**HOLD_2, "hold_reference": "AXON-2026-0099"}]})
    assert case["stage"] == "legal_review"
    assert case["recordings"][1]["hold_reference"] == "AXON-2026-0099"


async def test_decline_closes_the_case_declined(api, people):
    d = Driver(api, people)
    cid = (await d.new_case())["id"]
    await d.investigate(cid)
    case = await d.ok(cid, "legal-review", "reviewer", DECLINE)
    assert (case["stage"], case["disposition"]) == ("closed", "declined")
    assert case["tasks"]["command_approval"]["status"] == "cancelled"
    assert (await d.step(cid, "command-approval", "commander", APPROVE)).status_code == 409


async def test_command_rejection_closes_the_case_declined(api, people):
    d = Driver(api, people)
    cid = (await d.new_case())["id"]
    await d.investigate(cid)
    await d.ok(cid, "legal-review", "reviewer", REFER)
    case = await d.ok(cid, "command-approval", "commander", {"decision": "reject", "note": "Insufficient."})
    assert (case["stage"], case["disposition"]) == ("closed", "declined")
    assert case["command_decisions"][0]["by"]["name"] == "Test commander"
    assert case["tasks"]["referral_acknowledgement"]["status"] == "cancelled"


async def test_withdrawal_from_every_open_stage(api, people):
    d = Driver(api, people)
    reason = {"reason": "The complainant's account was contradicted by all footage."}

    cid = (await d.new_case())["id"]
    case = await d.ok(cid, "withdrawal", "commander", reason)
    assert (case["stage"], case["disposition"]) == ("closed", "withdrawn")
    assert case["withdrawal"]["payload"]["reason"] == reason["reason"]
    assert {t["status"] for t in case["tasks"].values()} == {"cancelled"}

    cid = (await d.new_case())["id"]
    await d.investigate(cid)
    case = await d.ok(cid, "withdrawal", "admin", reason)
    assert case["disposition"] == "withdrawn"
    assert case["tasks"]["footage_hold"]["status"] == "done"  # finished work stays finished
    assert case["tasks"]["legal_review"]["status"] == "cancelled"

    cid = (await d.new_case())["id"]
    await d.investigate(cid)
    await d.ok(cid, "legal-review", "reviewer", REFER)
    assert (await d.ok(cid, "withdrawal", "commander", reason))["disposition"] == "withdrawn"

    cid = (await d.new_case())["id"]
    await d.investigate(cid)
    await d.ok(cid, "legal-review", "reviewer", REFER)
    await d.ok(cid, "command-approval", "commander", APPROVE)
    case = await d.ok(cid, "withdrawal", "admin", reason)
    assert case["disposition"] == "withdrawn"
    again = await d.step(cid, "withdrawal", "admin", reason)
    assert again.status_code == 409
    assert "closed" in again.json()["error"]["message"]
    kinds = [e["kind"] for e in (await d.settled(cid))["items"] if e["kind"] != "document_generated"]
    assert kinds[-1] == "case_withdrawn" and "case_closed" not in kinds


async def test_closed_histories_replay_deterministically(api, people, dev_server):
    from temporalio.worker import Replayer

    from referrals.domain.case import workflow_id_for
    from referrals.temporal_client import data_converter
    from referrals.workflows.incident import IncidentWorkflow
    from tests.support.keys import TEST_KEYS

    d = Driver(api, people)
    cid = (await d.new_case())["id"]
    await d.investigate(cid)
    await d.ok(cid, "legal-review", "reviewer", RETURN)
    await d.ok(cid, "supervisor-identification", "officer", IDENTIFIED)
    await d.ok(cid, "legal-review", "reviewer", REFER)
    await d.ok(cid, "command-approval", "commander", APPROVE)
    history = await dev_server.client.get_workflow_handle(workflow_id_for(cid)).fetch_history()
    replayer = Replayer(workflows=[IncidentWorkflow], data_converter=data_converter(TEST_KEYS))
    result = await replayer.replay_workflow(history)
    assert result.replay_failure is None


async def test_declined_charges_close_the_case_referred(api, people):
    d = Driver(api, people)
    cid = (await d.new_case())["id"]
    case = await d.refer_to_the_end(cid)
    assert case["stage"] == "prosecution"
    case = await d.decline_charges(cid)
    assert (case["stage"], case["disposition"]) == ("closed", "referred")
    assert case["prosecution"]["decisions"][0]["payload"]["reason"].startswith("Insufficient evidence")
    assert case["prosecution"]["outcome"] is None
    closed = next(e for e in (await d.settled(cid))["items"] if e["kind"] == "case_closed")
    assert (closed["kind"], closed["data"]) == (
        "case_closed",
        {"disposition": "referred", "charging_decision": "declined"},
    )


async def test_further_investigation_reopens_the_named_tasks_then_a_new_review(api, people):
    d = Driver(api, people)
    cid = (await d.new_case())["id"]
    await d.refer_to_the_end(cid)
    further = {
        "decision": "further_investigation",
        "decided_at": CHARGED["decided_at"],
        "requested": "Identify the supervisor by name: the credential on camera is not legible.",
        "return_tasks": ["supervisor_identification"],
    }
    case = await d.ok(cid, "charging-decision", "liaison", further)
    assert case["stage"] == "investigation" and case["investigation_round"] == 2
    assert case["tasks"]["supervisor_identification"]["status"] == "open"
    assert case["tasks"]["violation_report"]["status"] == "done"
    assert case["tasks"]["charging_decision"]["status"] == "done"
    case = await d.ok(cid, "supervisor-identification", "officer", IDENTIFIED)
    assert case["stage"] == "legal_review"  # a new legal review, approval, and the packet's next version
    await d.ok(cid, "legal-review", "reviewer", REFER)
    await d.ok(cid, "command-approval", "commander", APPROVE)
    case = await d.ok(cid, "referral-acknowledgement", "liaison", ACK)
    assert case["stage"] == "prosecution" and case["tasks"]["charging_decision"]["status"] == "open"
    case = await d.ok(cid, "charging-decision", "liaison", CHARGED)
    assert [x["payload"]["decision"] for x in case["prosecution"]["decisions"]] == ["further_investigation", "charged"]
    assert [r["payload"]["decision"] for r in case["legal_reviews"]] == ["refer", "refer"]


async def test_a_grand_jury_keeps_the_decision_open_until_its_date_has_passed(api, people):
    d = Driver(api, people)
    cid = (await d.new_case())["id"]
    await d.refer_to_the_end(cid)
    sits = date.today() + timedelta(days=20)
    case = await d.ok(
        cid,
        "charging-decision",
        "liaison",
        {"decision": "grand_jury", "decided_at": CHARGED["decided_at"], "grand_jury_date": sits.isoformat()},
    )
    task = case["tasks"]["charging_decision"]
    assert task["status"] == "open" and task["escalation_level"] == 0
    assert task["due_at"][:10] == (sits + timedelta(days=31)).isoformat()  # 30 days after the day it sits
    case = await d.ok(cid, "charging-decision", "liaison", CHARGED)  # a true bill
    assert case["tasks"]["charging_decision"]["status"] == "done" and case["stage"] == "prosecution"
