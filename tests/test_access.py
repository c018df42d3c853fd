"""Who may do what, and who may see which case: the role and visibility matrix of DESIGN.md."""

import pytest

from domain.permissions import ALLOWED, Operation
from tests.conftest import PEOPLE
from tests.scenario import ACK, APPROVE, HOLD_1, IDENTIFIED, REFER, VIOLATIONS, Driver, filing

STEPS = {
    "footage-hold": (Operation.FOOTAGE_HOLD, {"holds": [HOLD_1]}),
    "supervisor-identification": (Operation.SUPERVISOR_IDENTIFICATION, IDENTIFIED),
    "violation-report": (Operation.VIOLATION_REPORT, VIOLATIONS),
    "legal-review": (Operation.LEGAL_REVIEW, REFER),
    "command-approval": (Operation.COMMAND_APPROVAL, APPROVE),
    "referral-acknowledgement": (Operation.REFERRAL_ACKNOWLEDGEMENT, ACK),
    "withdrawal": (Operation.WITHDRAW, {"reason": "matrix"}),
}
# Who sees the scenario case filed by "officer" (star 12345) in district 010.
SEES_CASE = set(PEOPLE) - {"officer_elsewhere", "supervisor_elsewhere"}


@pytest.fixture(scope="module")
async def case_id(api, people):
    return (await Driver(api, people).new_case("officer"))["id"]


@pytest.mark.parametrize("who", sorted(PEOPLE))
async def test_reading_a_case_follows_visibility(api, people, case_id, who):
    d = Driver(api, people)
    response = await d.get(case_id, who)
    assert response.status_code == (200 if who in SEES_CASE else 404)
    events = await api.get(f"/incidents/{case_id}/events", headers=people.headers(who))
    assert events.status_code == (200 if who in SEES_CASE else 404)
    listing = await api.get("/incidents?limit=200&district=010", headers=people.headers(who))
    assert listing.status_code == 200
    assert (case_id in [c["id"] for c in listing.json()["items"]]) == (who in SEES_CASE)


@pytest.mark.parametrize("path", sorted(STEPS))
@pytest.mark.parametrize("who", sorted(PEOPLE))
async def test_each_step_is_refused_to_other_roles(api, people, case_id, path, who):
    operation, body = STEPS[path]
    roles = PEOPLE[who][0]
    response = await Driver(api, people).step(case_id, path, who, body if path != "withdrawal" else {"reason": ""})
    if not any(role in ALLOWED[operation] for role in roles):
        assert response.status_code == 403, response.text
        assert response.json()["error"]["code"] == "forbidden"
    elif who not in SEES_CASE:
        assert response.status_code == 404, response.text
    else:
        # Allowed and visible: refused, if at all, for the body or the stage, never for who asks.
        assert response.status_code in (200, 409, 422), response.text


async def test_officers_see_cases_they_filed_or_appear_in(api, people):
    d = Driver(api, people)
    stranger = [{"name": "P.O. B. Stone", "star": "99999"}]
    elsewhere = (await d.new_case("supervisor_elsewhere", filing(district="012", officers=stranger, recordings=[])))["id"]
    for who, sees in (("officer", False), ("partner", False), ("supervisor", False), ("supervisor_elsewhere", True),
                      ("auditor", True)):
        assert ((await d.get(elsewhere, who)).status_code == 200) == sees, who
    mine = (await d.new_case("officer_elsewhere", filing(officers=stranger, recordings=[])))["id"]
    assert (await d.get(mine, "officer_elsewhere")).status_code == 200
    assert (await d.get(mine, "officer")).status_code == 404


async def test_filing_needs_an_officer_or_supervisor(api, people):
    d = Driver(api, people)
    for who, (roles, _, _) in PEOPLE.items():
        response = await d.file(who)
        allowed = any(r in ALLOWED[Operation.FILE] for r in roles)
        assert response.status_code == (201 if allowed else 403), (who, response.text)


async def test_missing_and_wrong_tokens_get_401(api):
    for headers in ({}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic Zm9vOmJhcg=="}):
        response = await api.get("/incidents", headers=headers)
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.json()["error"]["code"] == "unauthenticated"


async def test_users_are_created_by_admins_only(api, people):
    body = {"name": "Sgt. Kim", "email": "kim@test.invalid", "roles": ["supervisor"], "district": "011"}
    assert (await api.post("/users", json=body, headers=people.headers("commander"))).status_code == 403
    created = await api.post("/users", json=body, headers=people.headers("admin"))
    assert created.status_code == 201, created.text
    token = created.json()["token"]
    me = await api.get("/users/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["roles"] == ["supervisor"] and me.json()["district"] == "011"
    assert "token" not in me.json()
    again = await api.post("/users", json=body, headers=people.headers("admin"))
    assert again.status_code == 409
    bad = await api.post("/users", json={**body, "email": "nope", "roles": ["sheriff"]}, headers=people.headers("admin"))
    assert bad.status_code == 422
    assert {x["field"] for x in bad.json()["error"]["details"]} == {"email", "roles[0]"}
