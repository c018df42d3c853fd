"""Session and account controls (CJIS 5.5.3, 5.5.5): idle desk sessions lock, sessions end at an absolute limit,
wrong tokens count against their address and never lock the account they name, valid credentials pass whatever
others did from their address, and the counts hold across several API processes; the client address is read from
forwarded headers only from a proxy configured as trusted. Each event is in the access trail."""

import json
import uuid
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import update
from sqlmodel import select

from referrals.api.main import create_app
from referrals.store.tables import AccessEntryRow, AppUser, AuthFailure, WebSession
from referrals.store.users import hash_token
from tests.support.access_log import entries
from tests.support.desk_client import browser, sign_in


async def new_user(api, people, roles=("legal_reviewer",)) -> tuple[str, str]:
    created = await api.post(
        "/users",
        headers=people.headers("admin"),
        json={"name": "Det. Controls", "email": f"controls.{uuid.uuid4().hex[:8]}@test.invalid", "roles": list(roles)},
    )
    assert created.status_code == 201, created.text
    return created.json()["id"], created.json()["token"]


async def test_an_idle_desk_session_locks_and_asks_to_sign_in_again(api, people, sessions):
    _, token = await new_user(api, people)
    async with browser(api) as page:
        assert (await sign_in(page, token)).status_code == 303
        value = page.cookies["referrals_session"]
        assert (await page.get("/desk/cases")).status_code == 200
        async with sessions() as s:  # 31 minutes without activity
            await s.exec(
                update(WebSession)
                .where(WebSession.id_hash == hash_token(value))
                .values(last_seen_at=datetime.now(UTC) - timedelta(minutes=31))
            )
            await s.commit()
        since = datetime.now(UTC)
        locked = await page.get("/desk/cases")
        assert locked.status_code == 303
        assert locked.headers["location"] == "/desk/sign-in?next=/desk/cases&ended=locked"
        notice = await page.get(locked.headers["location"])
        assert "Your session locked after 30 minutes without activity" in notice.text
        async with sessions() as s:
            assert (await s.exec(select(WebSession).where(WebSession.id_hash == hash_token(value)))).first() is None
    [entry] = await entries(sessions, since, "session_locked")
    assert entry.outcome == "allowed" and entry.component == "desk"


async def test_activity_keeps_the_session_and_the_absolute_limit_ends_it(api, people, sessions):
    _, token = await new_user(api, people)
    async with browser(api) as page:
        assert (await sign_in(page, token)).status_code == 303
        value = page.cookies["referrals_session"]
        async with sessions() as s:  # used 29 minutes ago: still open, and the activity moves the idle clock on
            await s.exec(
                update(WebSession)
                .where(WebSession.id_hash == hash_token(value))
                .values(last_seen_at=datetime.now(UTC) - timedelta(minutes=29))
            )
            await s.commit()
        assert (await page.get("/desk/cases")).status_code == 200
        async with sessions() as s:
            row = (await s.exec(select(WebSession).where(WebSession.id_hash == hash_token(value)))).one()
            assert datetime.now(UTC) - row.last_seen_at < timedelta(seconds=5)
            await s.exec(
                update(WebSession)
                .where(WebSession.id_hash == hash_token(value))
                .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
            )
            await s.commit()
        since = datetime.now(UTC)
        ended = await page.get("/desk/cases")
        assert ended.headers["location"].endswith("&ended=expired")
        assert "reached its time limit" in (await page.get(ended.headers["location"])).text
    assert len(await entries(sessions, since, "session_expired")) == 1


async def test_wrong_tokens_naming_an_account_never_lock_its_owner_out(settings, worker, api, people, sessions):
    """Anyone may read a user's id in a case's JSON: tokens made of it must not shut its owner out."""
    user_id, token = await new_user(api, people)
    wrong = [f"ref_{user_id}_x", token[:-6] + "xxxxxx"]  # the account's name, a wrong secret
    first, second = create_app(settings), create_app(settings)  # two API processes, one database
    address = f"192.0.2.{uuid.uuid4().int % 200 + 20}"
    since = datetime.now(UTC)
    async with first.router.lifespan_context(first), second.router.lifespan_context(second):
        clients = [
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(address, 1)), base_url="http://api")
            for app in (first, second)
        ]
        for attempt in range(8):  # alternating between the two processes
            refused = await clients[attempt % 2].get(
                "/users/me", headers={"Authorization": f"Bearer {wrong[attempt % 2]}"}
            )
            assert refused.status_code == 401
        for client in clients:
            me = await client.get("/users/me", headers={"Authorization": f"Bearer {token}"})
            assert me.status_code == 200 and me.json()["locked_until"] is None
            await client.aclose()
    async with browser(api) as page:  # the desk lets its owner in too
        assert (await sign_in(page, token)).status_code == 303
    async with sessions() as s:
        assert (await s.get(AppUser, user_id)).locked_until is None
        assert (await s.exec(select(AuthFailure).where(AuthFailure.key == user_id))).all() == []
        assert len((await s.exec(select(AuthFailure).where(AuthFailure.key == address))).all()) == 8
    failed = [e for e in await entries(sessions, since, "authenticate") if e.user_id == user_id]
    assert [e.outcome for e in failed] == ["failed"] * 8  # the trail still says which account was tried
    assert await entries(sessions, since, "account_locked") == []


async def test_a_lock_set_before_holds_until_an_admin_unlocks_it(api, people, sessions):
    """Nothing locks an account any more; one locked before this rule stays so until its time or an admin."""
    user_id, token = await new_user(api, people)
    async with sessions() as s:
        await s.exec(
            update(AppUser).where(AppUser.id == user_id).values(locked_until=datetime.now(UTC) + timedelta(minutes=30))
        )
        await s.commit()
    since = datetime.now(UTC)
    good = {"Authorization": f"Bearer {token}"}
    locked = await api.get("/users/me", headers=good)
    assert locked.status_code == 401 and "locked after repeated failed sign-ins" in locked.json()["error"]["message"]
    async with browser(api) as page:  # the desk refuses it too, with the reason
        refused = await sign_in(page, token)
        assert refused.status_code == 401 and "locked after repeated failed sign-ins" in refused.text
        assert "referrals_session" not in page.cookies
    unlocked = await api.post(f"/users/{user_id}/unlock", headers=people.headers("admin"))
    assert unlocked.status_code == 200 and unlocked.json()["locked_until"] is None
    assert (await api.get("/users/me", headers=good)).status_code == 200
    refusals = [e for e in await entries(sessions, since, "authenticate") if e.user_id == user_id]
    assert [(e.outcome, json.loads(e.details)["reason"]) for e in refusals] == [("refused", "account_locked")]
    [unlock] = await entries(sessions, since, "account_unlock")
    assert (unlock.user_id, unlock.target) == (people.ids["admin"], user_id)


async def test_the_lock_ends_by_itself_when_its_time_is_up(api, people, sessions):
    user_id, token = await new_user(api, people)
    async with sessions() as s:
        await s.exec(
            update(AppUser).where(AppUser.id == user_id).values(locked_until=datetime.now(UTC) - timedelta(seconds=1))
        )
        await s.commit()
    assert (await api.get("/users/me", headers={"Authorization": f"Bearer {token}"})).status_code == 200


async def test_the_per_client_limit_is_shared_by_every_process_and_spares_valid_credentials(
    settings, worker, api, people, sessions
):
    """One bad actor behind an office's NAT address: their guesses get 429, the office's valid tokens still pass."""
    user_id, token = await new_user(api, people)
    limited = settings.model_copy(update={"auth_failures_per_minute": 3})
    first, second = create_app(limited), create_app(limited)
    address = f"198.51.100.{uuid.uuid4().int % 200 + 20}"
    since = datetime.now(UTC)
    async with first.router.lifespan_context(first), second.router.lifespan_context(second):
        a, b = (
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(address, 1)), base_url="http://api")
            for app in (first, second)
        )
        bad, good = {"Authorization": "Bearer guessed"}, {"Authorization": f"Bearer {token}"}
        assert [(await a.get("/users/me", headers=bad)).status_code for _ in range(2)] == [401, 401]
        assert (await b.get("/users/me", headers=bad)).status_code == 401
        blocked = await b.get("/users/me", headers=bad)
        assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) >= 1
        assert blocked.json()["error"]["code"] == "too_many_requests"
        assert (await a.get("/users/me", headers=bad)).status_code == 429
        # A wrong token naming a real account, at the limit: 429 too, nothing told about the account.
        named = await a.get("/users/me", headers={"Authorization": f"Bearer ref_{user_id}_x"})
        assert named.status_code == 429 and int(named.headers["retry-after"]) >= 1
        for client in (a, b):
            assert (await client.get("/users/me", headers=good)).status_code == 200
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=first, client=(address, 1)), base_url="http://api"
        ) as page:  # the desk alike
            assert (await sign_in(page, "ref_not_it")).status_code == 429
            assert (await sign_in(page, token)).status_code == 303
        await a.aclose()
        await b.aclose()
    async with sessions() as s:  # the refusals at the limit are not counted, so the Retry-After it named holds
        assert len((await s.exec(select(AuthFailure).where(AuthFailure.key == address))).all()) == 3
    refused = [
        json.loads(e.details)["reason"]
        for e in await entries(sessions, since, "authenticate")
        if e.client == address and e.outcome == "refused"
    ]
    assert refused == ["too_many_failures"] * 3


async def test_forwarded_addresses_are_believed_only_from_a_trusted_proxy(settings, worker, people, sessions):
    behind = settings.model_copy(update={"trusted_proxies": "10.1.0.0/16"})
    app = create_app(behind)
    headers = {"X-Forwarded-For": "203.0.113.99, 198.51.100.23", **people.headers("auditor")}
    async with app.router.lifespan_context(app):
        since = datetime.now(UTC)
        for peer in ("10.1.2.3", "192.0.2.200"):
            transport = httpx.ASGITransport(app=app, client=(peer, 1))
            async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
                assert (await client.get("/incidents", params={"district": "010"}, headers=headers)).status_code == 200
    listed = await entries(sessions, since, "list_cases")
    # Through the proxy: the nearest hop it did not add itself; straight from a stranger: the stranger.
    assert [e.client for e in listed] == ["198.51.100.23", "192.0.2.200"]


async def test_user_administration_on_the_command_line_is_in_the_trail(api, people, database_url, sessions):
    from tests.support.cli import referrals

    since = datetime.now(UTC)
    email = f"cli.{uuid.uuid4().hex[:8]}@test.invalid"
    added = referrals(
        database_url, "users", "add", "--name", "Det. Cli", "--email", email, "--role", "auditor", "--json"
    )
    assert added.returncode == 0, added.stderr
    user_id, token = json.loads(added.stdout)["id"], json.loads(added.stdout)["token"]
    async with sessions() as s:
        await s.exec(
            update(AppUser).where(AppUser.id == user_id).values(locked_until=datetime.now(UTC) + timedelta(minutes=30))
        )
        await s.commit()
    assert (await api.get("/users/me", headers={"Authorization": f"Bearer {token}"})).status_code == 401
    assert referrals(database_url, "users", "unlock", email).returncode == 0
    assert (await api.get("/users/me", headers={"Authorization": f"Bearer {token}"})).status_code == 200
    assert referrals(database_url, "users", "revoke", email).returncode == 0
    async with sessions() as s:
        done = (
            await s.exec(
                select(AccessEntryRow)
                .where(AccessEntryRow.at >= since, AccessEntryRow.target == user_id)
                .order_by(AccessEntryRow.seq)
            )
        ).all()
    assert [(e.action, e.component, e.outcome) for e in done] == [
        ("user_create", "cli", "allowed"),
        ("account_unlock", "cli", "allowed"),
        ("token_revoke", "cli", "allowed"),
    ]
    assert all(e.who.startswith("cli:") for e in done)


async def test_locking_an_account_ends_its_open_desk_session(api, people, sessions):
    user_id, token = await new_user(api, people)
    async with browser(api) as page:
        assert (await sign_in(page, token)).status_code == 303
        async with sessions() as s:
            await s.exec(
                update(AppUser)
                .where(AppUser.id == user_id)
                .values(locked_until=datetime.now(UTC) + timedelta(minutes=30))
            )
            await s.commit()
        ended = await page.get("/desk/cases")
        assert ended.status_code == 303 and ended.headers["location"].endswith("&ended=account_locked")
        assert "Your account is locked" in (await page.get(ended.headers["location"])).text
        # The codec with the cookie, the Temporal UI's way in, is closed too.
        assert (await page.post("/codec/encode", json={"payloads": []})).status_code == 401


async def test_a_name_a_spreadsheet_would_run_is_defused_in_the_csv(api, people):
    made = await api.post(
        "/users",
        headers=people.headers("admin"),
        json={
            "name": '=HYPERLINK("http://evil.example")',
            "email": f"f.{uuid.uuid4().hex[:6]}@test.invalid",
            "roles": ["auditor"],
        },
    )
    token = {"Authorization": f"Bearer {made.json()['token']}"}
    assert (await api.get("/incidents", params={"district": "010"}, headers=token)).status_code == 200
    csv_text = (
        await api.get(
            "/access-log",
            params={"user": made.json()["id"]},
            headers={**people.headers("auditor"), "Accept": "text/csv"},
        )
    ).text
    assert "'=HYPERLINK" in csv_text and ",=HYPERLINK" not in csv_text and '"=HYPERLINK' not in csv_text
