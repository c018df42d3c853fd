"""Every refusal: the right status, the field named, and nothing changed (no event, no row, no history)."""

import pytest

from domain.case import workflow_id_for
from tests.scenario import ACK, APPROVE, FILING, HOLD_1, IDENTIFIED, PURGE_DATE, REFER, VIOLATIONS, Driver, filing, quiet


async def footprint(d: Driver, dev_server, cid: str) -> tuple:
    handle = dev_server.client.get_workflow_handle(workflow_id_for(cid))
    await quiet(handle)  # the documents that follow the last step are made
    history = await handle.fetch_history()
    case = (await d.get(cid)).json()
    return len(history.events), len((await d.events(cid))["items"]), case["event_seq"], case["stage"]


async def refused(d: Driver, dev_server, cid, path, who, body, status, field=None, says=None):
    before = await footprint(d, dev_server, cid)
    response = await d.step(cid, path, who, body)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"code", "message", "details"}
    if field:
        assert any(x["field"] == field for x in error["details"]), error
        assert field in error["message"]
    if says:
        assert says in error["message"], error["message"]
    assert await footprint(d, dev_server, cid) == before
    return error


async def test_validator_refusals_in_investigation(api, people, dev_server):
    d = Driver(api, people)
    cid = (await d.new_case())["id"]
    unknown = {**HOLD_1, "camera_id": "NOPE"}
    await refused(d, dev_server, cid, "footage-hold", "custodian", {"holds": [unknown]}, 422, "holds[0].camera_id",
                  "not among this case's recordings")
    early = {**HOLD_1, "retained_until": PURGE_DATE.isoformat()}
    await refused(d, dev_server, cid, "footage-hold", "custodian", {"holds": [early]}, 422,
                  "holds[0].retained_until", f"after the recording's purge date {PURGE_DATE.isoformat()}")
    await d.ok(cid, "footage-hold", "custodian", {"holds": [HOLD_1]})
    await refused(d, dev_server, cid, "footage-hold", "custodian", {"holds": [HOLD_1]}, 409, "holds[0].camera_id",
                  "already held under AXON-2026-0042")
    await refused(d, dev_server, cid, "supervisor-identification", "officer", {**IDENTIFIED, "camera_id": "Z1"}, 422,
                  "camera_id")
    bad_statute = {**VIOLATIONS, "allegations": [{**VIOLATIONS["allegations"][0], "statute": "18 U.S.C. 242"}]}
    await refused(d, dev_server, cid, "violation-report", "officer", bad_statute, 422, "allegations[0].statute",
                  "not in the statute catalogue")
    await refused(d, dev_server, cid, "legal-review", "reviewer", REFER, 409, says="legal_review is not open")
    await refused(d, dev_server, cid, "command-approval", "commander", APPROVE, 409)
    await refused(d, dev_server, cid, "referral-acknowledgement", "liaison", ACK, 409)
    await d.ok(cid, "supervisor-identification", "officer", IDENTIFIED)
    await refused(d, dev_server, cid, "supervisor-identification", "officer", IDENTIFIED, 409, says="already done")


async def test_validator_refusals_in_review_and_approval(api, people, dev_server):
    d = Driver(api, people)
    cid = (await d.new_case("officer_commander"))["id"]
    await d.investigate(cid)
    not_alleged = {**REFER, "charges": ["720 ILCS 5/10-1"]}
    await refused(d, dev_server, cid, "legal-review", "reviewer_commander", not_alleged, 422, "charges[0]",
                  "not among the alleged statutes")
    await d.ok(cid, "legal-review", "reviewer_commander", REFER)
    await refused(d, dev_server, cid, "command-approval", "reviewer_commander", APPROVE, 403,
                  says="the legal reviewer may not approve")
    await refused(d, dev_server, cid, "command-approval", "officer_commander", APPROVE, 403,
                  says="the filer may not approve")
    await refused(d, dev_server, cid, "legal-review", "reviewer", REFER, 409, says="already done")
    case = await d.ok(cid, "command-approval", "commander", APPROVE)
    assert case["stage"] == "referral"


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("legal-review", {"decision": "refer", "rationale": "x", "immunity": REFER["immunity"]}, "charges"),
        ("legal-review", {"decision": "refer", "rationale": "x", "charges": ["720 ILCS 5/12-3"]}, "immunity"),
        ("legal-review", {**REFER, "immunity": {**REFER["immunity"], "finding": "immune"}}, "immunity"),
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
        ("withdrawal", {"reason": ""}, "reason"),
        ("withdrawal", {"reason": "bad\u0000byte"}, "reason"),
    ],
)
async def test_malformed_bodies_name_the_field(api, people, dev_server, path, body, field):
    d = Driver(api, people)
    cid = (await d.new_case())["id"]
    who = {"legal-review": "reviewer", "supervisor-identification": "officer", "footage-hold": "custodian",
           "violation-report": "officer", "command-approval": "commander",
           "referral-acknowledgement": "liaison", "withdrawal": "admin"}[path]
    await refused(d, dev_server, cid, path, who, body, 422, field)


@pytest.mark.parametrize(
    ("body", "field", "says"),
    [
        (filing(immigration_status="undocumented"), "body", "immigration status, citizenship"),
        (filing(federal_personnel=[{"agency": "ICE", "citizenship": "US"}]), "federal_personnel[0]", "TRUST Act"),
        (filing(occurred_at="2026-01-31T13:05:00"), "occurred_at", "timezone"),
        (filing(officers=[]), "officers", None),
        (filing(recordings=[{**FILING["recordings"][0], "ended_at": "2020-01-31T12:00:00-06:00"}]),
         "recordings[0].ended_at", "before started_at"),
        (filing(recordings=[FILING["recordings"][0], FILING["recordings"][0]]), "recordings", "more than once"),
        (filing(recordings=[{**FILING["recordings"][0], "flag_reasons": ["looked_suspicious"]}]),
         "recordings[0].flag_reasons[0]", None),
        (filing(district="0 1 0; drop"), "district", None),
        (filing(summary="x" * 501), "summary", None),
    ],
)
async def test_bad_filings_are_refused_and_store_nothing(api, people, sessions, body, field, says):
    from sqlalchemy import func
    from sqlmodel import select

    from store.tables import Incident

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


@pytest.mark.parametrize(("method", "path", "allow"), [
    ("OPTIONS", "/incidents", "GET, HEAD, POST"),
    ("DELETE", "/incidents/some-case", "GET, HEAD"),
    ("PUT", "/incidents/some-case/footage-hold", "POST"),
])
async def test_a_method_a_path_does_not_serve_is_405_naming_every_method_it_does(api, people, method, path, allow):
    response = await api.request(method, path, headers=people.headers("auditor"))
    assert response.status_code == 405, response.text
    assert response.headers["allow"] == allow
    assert response.json()["error"]["code"] == "method_not_allowed"
