"""Filing (idempotent), listing with filters and cursors, search attributes, readiness."""

import asyncio
import re
import uuid

from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.client import WorkflowExecutionStatus

from referrals.domain import search_attributes as sa
from referrals.domain.case import workflow_id_for
from tests.support.scenario import HOLD_1, HOLD_2, Driver, filing


async def test_idempotency_key_returns_the_same_case(api, people, dev_server):
    d = Driver(api, people)
    key = str(uuid.uuid4())
    first = await d.file("officer", None, **{"Idempotency-Key": key})
    assert first.status_code == 201
    again = await d.file("officer", None, **{"Idempotency-Key": key})
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["case_number"] == first.json()["case_number"]
    assert again.headers["location"] == f"/incidents/{first.json()['id']}"
    kinds = [e["kind"] for e in (await d.settled(first.json()["id"]))["items"]]
    assert kinds == ["case_filed", "document_generated"]  # one filing, one preservation request
    different = await d.file("officer", filing(summary="Another incident"), **{"Idempotency-Key": key})
    assert different.status_code == 409
    assert different.json()["error"]["details"] == {"field": "Idempotency-Key"}
    # The same key from another user is another filing.
    other = await d.file("supervisor", None, **{"Idempotency-Key": key})
    assert other.status_code == 201 and other.json()["id"] != first.json()["id"]
    handle = dev_server.client.get_workflow_handle(workflow_id_for(first.json()["id"]))
    assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING


async def test_search_attributes_and_ui_details_follow_the_case(api, people, dev_server):
    d = Driver(api, people)
    case = await d.new_case()
    cid = case["id"]
    handle = dev_server.client.get_workflow_handle(workflow_id_for(cid))
    attrs = (await handle.describe()).typed_search_attributes
    assert attrs.get(sa.CASE_NUMBER) == case["case_number"]
    assert attrs.get(sa.CASE_STAGE) == "investigation"
    assert sorted(attrs.get(sa.OPEN_TASKS)) == ["footage_hold", "supervisor_identification", "violation_report"]
    assert attrs.get(sa.DISTRICT) == "010"
    await d.investigate(cid)
    description = await handle.describe()
    attrs = description.typed_search_attributes
    assert attrs.get(sa.CASE_STAGE) == "legal_review"
    assert attrs.get(sa.OPEN_TASKS) == ["legal_review"]
    assert attrs.get(sa.NEXT_DEADLINE) is not None
    assert case["case_number"] in await description.static_summary()
    metadata = await handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
    # In the desk's words and Chicago's clock, with the way back to the case on the desk.
    assert "stage **Legal review**" in metadata.current_details
    assert re.search(r"- Legal review: open, due \w{3} \d\d \w{3} \d{4}, \d\d:\d\d C[SD]T", metadata.current_details)
    assert f"[open the case on the desk](/desk/cases/{cid})" in metadata.current_details
    # No personal data in search attributes: no names, badges or narrative.
    values = " ".join(str(attrs.get(k)) for k in sa.ALL)
    for secret in ("Ruiz", "12345", "J. Doe", "4411", "bystander"):
        assert secret not in values
    # The visibility store finds it with the README's queries.
    query = f"CaseStage = 'legal_review' AND CaseNumber = '{case['case_number']}'"
    found = [w.id async for w in dev_server.client.list_workflows(query)]
    assert found == [workflow_id_for(cid)]


async def new_officer(api, people, district: str) -> dict[str, str]:
    """An officer of a district of our own (an officer files in their own district only): their headers."""
    created = await api.post(
        "/users",
        headers=people.headers("admin"),
        json={
            "name": f"P.O. District {district}",
            "email": f"district{district}.{uuid.uuid4().hex[:8]}@test.invalid",
            "roles": ["officer"],
            "district": district,
            "star": str(uuid.uuid4().int % 10**7),
        },
    )
    assert created.status_code == 201, created.text
    return {"Authorization": f"Bearer {created.json()['token']}"}


async def test_listing_filters_and_cursor_pagination(api, people):
    d = Driver(api, people)
    district = "025"  # a district of Chicago's no other test files in
    own = await new_officer(api, people, district)
    filed = [await api.post("/incidents", json=filing(district=district), headers=own) for _ in range(5)]
    assert all(f.status_code == 201 for f in filed), filed[0].text
    ids = [f.json()["id"] for f in filed]
    await d.ok(ids[0], "footage-hold", "custodian", {"holds": [HOLD_1, HOLD_2]})
    headers = people.headers("auditor")

    seen, cursor = [], None
    while True:
        url = f"/incidents?district={district}&limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = (await api.get(url, headers=headers)).json()
        seen += [c["id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == list(reversed(ids))  # newest first, each once

    open_holds = (await api.get(f"/incidents?district={district}&task=footage_hold&limit=200", headers=headers)).json()
    assert sorted(c["id"] for c in open_holds["items"]) == sorted(ids[1:])
    in_review = (await api.get(f"/incidents?district={district}&stage=legal_review", headers=headers)).json()
    assert in_review["items"] == []
    item = open_holds["items"][0]
    assert set(item) >= {"id", "case_number", "stage", "district", "open_tasks", "next_deadline", "links"}

    for bad, field in (
        ("stage=paused", "stage"),
        ("task=coffee", "task"),
        ("limit=0", "limit"),
        ("cursor=%%%", "cursor"),
    ):
        response = await api.get(f"/incidents?{bad}", headers=headers)
        assert response.status_code == 422, bad
        assert response.json()["error"]["details"][0]["field"] == field


async def test_an_officer_or_supervisor_files_only_in_their_own_district(api, people, sessions):
    """Refused before anything is stored, naming `district` in the policy's word, and recorded in the trail;
    command files in any district (the shipped policy's `file_in_any_district`). A supervisor's own district, an
    account without one, another policy's word and rule: tests/unit/test_filing_rules.py."""
    from sqlalchemy import func
    from sqlmodel import select

    from referrals.store.tables import Incident
    from tests.support.access_log import newest

    async with sessions() as s:
        before = (await s.exec(select(func.count()).select_from(Incident))).one()
    refused = await api.post(
        "/incidents",
        json=filing(district="007", recordings=[]),
        headers={**people.headers("officer"), "Idempotency-Key": str(uuid.uuid4())},
    )
    assert refused.status_code == 403, refused.text
    error = refused.json()["error"]
    assert error["code"] == "forbidden" and error["details"][0]["field"] == "district"
    assert error["details"][0]["message"] == "you may file only in your own district, 010, not in district 007"
    entry = await newest(sessions, user_id=people.ids["officer"])
    assert (entry.action, entry.outcome, entry.details) == (
        "file_incident",
        "refused",
        '{"district":"007","operation":"file"}',
    )
    async with sessions() as s:
        assert (await s.exec(select(func.count()).select_from(Incident))).one() == before
    # A district the policy does not list is still named as such (422), whoever files.
    unknown = await api.post("/incidents", json=filing(district="ZZ9"), headers=people.headers("officer"))
    assert unknown.status_code == 422 and "is not a district of the" in unknown.json()["error"]["message"]
    anywhere = await api.post(
        "/incidents", json=filing(district="007", recordings=[]), headers=people.headers("officer_commander")
    )
    assert anywhere.status_code == 201 and anywhere.json()["district"] == "007", anywhere.text


async def test_unknown_case_is_404_with_the_error_shape(api, people):
    response = await api.get(f"/incidents/{uuid.uuid4()}", headers=people.headers("auditor"))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


async def test_health_and_readiness(api):
    assert (await api.get("/healthz")).json() == {"status": "ok"}
    ready = await api.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "temporal": "ok"}


async def test_footage_past_its_purge_date_is_reported_at_filing(api, people):
    d = Driver(api, people)
    old = {
        "camera_id": "X6031234",
        "officer_star": "12345",
        "started_at": "2026-01-31T13:02:00-06:00",
        "ended_at": "2026-01-31T13:40:00-06:00",
        "flag_reasons": [],
    }  # unflagged: kept 90 days
    case = await d.new_case("officer", filing(recordings=[old]))
    assert case["purge_warnings"] == [
        {"camera_id": "X6031234", "purge_at": "2026-05-01T13:02:00-06:00", "status": "purged"}
    ]
    for _ in range(100):
        footage = (await d.get(case["id"])).json()["tasks"]["footage_hold"]
        if footage["escalation_level"] == 3:
            break
        await asyncio.sleep(0.1)
    assert footage["escalation_level"] == 3  # the top of the ladder, at once
