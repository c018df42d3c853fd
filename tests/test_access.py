"""Who may do what, and who may see which case: the role and visibility matrix of DESIGN.md."""

import httpx
import pytest

from referrals.domain.permissions import ALLOWED
from tests.support.people import PEOPLE, SEES_CASE
from tests.support.routes import ROUTES
from tests.support.scenario import Driver, filing

GUARDED = sorted((method, path) for (method, path), operation in ROUTES.items() if operation is not None)


@pytest.fixture(scope="module")
async def case_id(api, people):
    return (await Driver(api, people).new_case("officer"))["id"]


async def test_the_table_names_every_operation_of_the_api(api):
    schema = (await api.get("/openapi.json")).json()
    served = {(method.upper(), path) for path, operations in schema["paths"].items() for method in operations}
    assert served == set(ROUTES)
    assert {operation for operation in ROUTES.values() if operation} == set(ALLOWED)  # every step and operation


@pytest.mark.parametrize("who", sorted(PEOPLE))
@pytest.mark.parametrize(("method", "path"), GUARDED)
async def test_every_guarded_operation_follows_the_table(api, people, case_id, method, path, who):
    """Each (operation, person) pair: 403 unless one of the person's roles is allowed; an allowed
    person who may not see the case gets 404; otherwise the request is judged on its body, invalid
    here: 422 (a guarded read answers 200)."""
    operation = ROUTES[(method, path)]
    body = {"payloads": "not a list"} if path.startswith("/codec/") else {}
    url = path.format(case_id=case_id, evidence_id="E-none", request_id="T1", user_id="U-none")
    response = await api.request(method, url, json=body, headers=people.headers(who))
    roles = PEOPLE[who][0]
    if not any(role in ALLOWED[operation] for role in roles):
        assert response.status_code == 403, response.text
        assert response.json()["error"]["code"] == "forbidden"
        assert str(operation) in response.json()["error"]["message"]
    elif "{case_id}" in path and who not in SEES_CASE:
        assert response.status_code == 404, response.text
    elif path.endswith("/evidence"):  # an upload is multipart, never JSON
        assert response.status_code == 415, response.text
    elif path.startswith("/users/"):  # an action on a user who does not exist
        assert response.status_code == 404, response.text
    elif path == "/public/snapshots":  # takes no body: a snapshot published at once
        assert response.status_code == 201, response.text
    else:  # a read has no body to judge: the contact sheet is made for whoever may read it
        assert response.status_code == (200 if method == "GET" else 422), response.text


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


async def test_officers_see_cases_they_filed_or_appear_in(api, people):
    d = Driver(api, people)
    stranger = [{"name": "P.O. B. Stone", "star": "99999"}]
    elsewhere = (await d.new_case("supervisor_elsewhere", filing(district="012", officers=stranger, recordings=[])))[
        "id"
    ]
    for who, sees in (
        ("officer", False),
        ("partner", False),
        ("supervisor", False),
        ("supervisor_elsewhere", True),
        ("auditor", True),
    ):
        assert ((await d.get(elsewhere, who)).status_code == 200) == sees, who
    mine = (await d.new_case("officer_elsewhere", filing(officers=stranger, recordings=[])))["id"]
    assert (await d.get(mine, "officer_elsewhere")).status_code == 200
    assert (await d.get(mine, "officer")).status_code == 404


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
    bad = await api.post(
        "/users", json={**body, "email": "nope", "roles": ["sheriff"]}, headers=people.headers("admin")
    )
    assert bad.status_code == 422
    assert {x["field"] for x in bad.json()["error"]["details"]} == {"email", "roles[0]"}


async def test_revoked_and_expired_tokens_are_refused(api, people, database_url, sessions):
    from datetime import UTC, datetime, timedelta

    from sqlmodel import select

    from referrals.store.tables import AppUser
    from tests.support.cli import referrals

    created = await api.post(
        "/users",
        headers=people.headers("admin"),
        json={"name": "Det. Short", "email": "short@test.invalid", "roles": ["auditor"], "token_valid_days": 1},
    )
    token = {"Authorization": f"Bearer {created.json()['token']}"}
    assert (await api.get("/users/me", headers=token)).status_code == 200
    async with sessions() as s:  # a day later
        user = (await s.exec(select(AppUser).where(AppUser.email == "short@test.invalid"))).one()
        user.token_expires_at = datetime.now(UTC) - timedelta(seconds=1)
        await s.commit()
    expired = await api.get("/users/me", headers=token)
    assert expired.status_code == 401 and "expired" in expired.json()["error"]["message"]

    leaving = await api.post(
        "/users",
        headers=people.headers("admin"),
        json={"name": "Det. Leaving", "email": "leaving@test.invalid", "roles": ["legal_reviewer"]},
    )
    leaving_token = {"Authorization": f"Bearer {leaving.json()['token']}"}
    assert (await api.get("/users/me", headers=leaving_token)).status_code == 200
    done = referrals(database_url, "users", "revoke", "leaving@test.invalid")
    assert done.returncode == 0, done.stderr
    assert (await api.get("/users/me", headers=leaving_token)).status_code == 401
    assert referrals(database_url, "users", "revoke", "nobody@test.invalid").returncode == 1


async def test_failed_authentication_is_rate_limited_per_client(settings, worker, people):
    from structlog.testing import capture_logs

    from referrals.api.main import create_app

    app = create_app(settings.model_copy(update={"auth_failures_per_minute": 3}))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 5000))
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            bad = {"Authorization": "Bearer guessed-token-123"}
            with capture_logs() as logged:
                assert [(await client.get("/users/me", headers=bad)).status_code for _ in range(3)] == [401] * 3
            failures = [e for e in logged if e["event"] == "authentication_failed"]
            assert [(e["reason"], e["client"]) for e in failures] == [("rejected", "203.0.113.7")] * 3
            assert "guessed-token-123" not in repr(logged)
            blocked = await client.get("/users/me", headers=bad)
            assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) >= 1
            assert blocked.json()["error"]["code"] == "too_many_requests"
            # Valid credentials from the same client pass; its failing attempts stay refused.
            assert (await client.get("/users/me", headers=people.headers("auditor"))).status_code == 200
            assert (await client.get("/users/me", headers=bad)).status_code == 429
        other = httpx.ASGITransport(app=app, client=("198.51.100.9", 5000))
        async with httpx.AsyncClient(transport=other, base_url="http://api") as client:
            assert (await client.get("/users/me", headers=bad)).status_code == 401  # another client is not blocked


async def test_a_filing_links_to_every_operation_on_its_case(api):
    """OpenAPI links from POST /incidents (`case_id` from the answer's `id`) to each operation of the case."""
    schema = (await api.get("/openapi.json")).json()
    on_a_case = {
        op["operationId"]
        for path, ops in schema["paths"].items()
        if path.startswith("/incidents/{case_id}")
        for op in ops.values()
    }
    for status in ("200", "201"):
        links = schema["paths"]["/incidents"]["post"]["responses"][status]["links"]
        assert set(links) == on_a_case and len(on_a_case) >= 12
        assert all(link["parameters"] == {"case_id": "$response.body#/id"} for link in links.values())
