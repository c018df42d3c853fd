"""Signing in to the desk at a real OpenID provider (npm's oidc-provider on loopback), the API taking its access
tokens, and every refusal on the way: no session opened, an entry in the access trail."""

import asyncio
import html
import json
import re
from contextlib import nullcontext
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import update
from sqlmodel import select

from referrals.api.main import create_app
from referrals.devstack import oidc_provider
from referrals.store.tables import AppUser, OidcLogin, WebSession
from tests.support import oidc
from tests.support.access_log import entries
from tests.support.scenario import Driver

pytestmark = pytest.mark.skipif(
    not oidc_provider.installed(),
    reason="Node.js or referrals/devstack/oidc's oidc-provider is "
    "missing (`python -m referrals.devstack.oidc_provider install`; `make install` does it)",
)

APP = "http://api"  # the ASGI app's origin, as the provider redirects to it
API_AUDIENCE = "http://api/"
SECRET = "desk-client-secret"
GROUPS = {"CPD-Legal": "legal_reviewer", "CPD-Command": "command", "CPD-Patrol": "officer", "CPD-Audit": "auditor"}
ACCOUNTS = {
    "lopez": {
        "sub": "op-lopez",
        "password": "pw-lopez",
        "email": "lopez@cpd.test",
        "email_verified": True,
        "name": "Atty. M. Lopez",
        "groups": ["CPD-Legal"],
        "mfa": True,
    },
    "patrol": {
        "sub": "op-patrol",
        "password": "pw-patrol",
        "email": "patrol@cpd.test",
        "email_verified": True,
        "name": "P.O. J. Reyes",
        "groups": ["CPD-Patrol"],
        "district": "010",
        "star": "31313",
        "mfa": True,
    },
    "nomfa": {
        "sub": "op-nomfa",
        "password": "pw-nomfa",
        "email": "nomfa@cpd.test",
        "email_verified": True,
        "name": "Sgt. No Factor",
        "groups": ["CPD-Legal"],
        "mfa": False,
    },
    "parking": {
        "sub": "op-parking",
        "password": "pw-parking",
        "email": "parking@cpd.test",
        "email_verified": True,
        "name": "Parking Clerk",
        "groups": ["Parking"],
        "mfa": True,
    },
    # Its e-mail is an admin-made user's; not verified at first (test_a_first_sign_in_takes_over…).
    "takeover": {
        "sub": "op-takeover",
        "password": "pw-takeover",
        "email": "takeover@cpd.test",
        "email_verified": False,
        "name": "Atty. After",
        "groups": ["CPD-Legal"],
        "mfa": True,
    },
    "changing": {
        "sub": "op-changing",
        "password": "pw-changing",
        "email": "changing@cpd.test",
        "email_verified": True,
        "name": "Lt. Moving",
        "groups": ["CPD-Legal"],
        "mfa": True,
    },
}


@pytest.fixture(scope="module")
def provider(tmp_path_factory):
    client = {
        "client_id": "referrals-desk",
        "client_secret": SECRET,
        "redirect_uris": [f"{APP}/desk/oidc/callback"],
        "post_logout_redirect_uris": [f"{APP}/desk/sign-in?ended=signed_out"],
    }
    with oidc_provider.start(
        tmp_path_factory.mktemp("op"), clients=[client], accounts=ACCOUNTS, resource=API_AUDIENCE, access_token_ttl=600
    ) as op:
        yield op


def oidc_settings(settings, provider, **more):
    return settings.model_copy(
        update={
            "public_url": APP,
            "oidc_issuer": provider.issuer,
            "oidc_client_id": "referrals-desk",
            "oidc_client_secret": SecretStr(SECRET),
            "oidc_audience": API_AUDIENCE,
            "oidc_group_roles": json.dumps(GROUPS),
            "oidc_require_mfa": True,
            "oidc_clock_skew_seconds": 0,
            **more,
        }
    )


@pytest.fixture(scope="module")
async def app(settings, worker, provider):
    app = create_app(oidc_settings(settings, provider))
    async with app.router.lifespan_context(app):
        yield app


def desk(app, client=("192.0.2.10", 5000)) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=client), base_url=APP)


async def begin(page: httpx.AsyncClient, back_to: str = "/desk/") -> str:
    """The desk's sign-in button: the provider's authorization URL it redirects to."""
    begun = await page.get("/desk/sign-in/provider", params={"next": back_to})
    assert begun.status_code == 303, begun.text
    return begun.headers["location"]


async def at_provider(url: str, login: str) -> str:
    """The person signs in at the provider's own pages; the URL it sends them back to the desk with."""
    async with httpx.AsyncClient() as browser:
        back = await oidc.password_login(url, login, ACCOUNTS[login]["password"], client=browser)
    return back.headers["location"]


async def sign_in(page, login: str, back_to: str = "/desk/") -> httpx.Response:
    callback = await at_provider(await begin(page, back_to), login)
    return await page.get(callback)


async def sessions_of(sessions, subject: str) -> list[WebSession]:
    async with sessions() as s:
        user = (await s.exec(select(AppUser).where(AppUser.subject == subject))).first()
        if user is None:
            return []
        return list((await s.exec(select(WebSession).where(WebSession.user_id == user.id))).all())


async def test_signing_in_at_the_provider_creates_the_user_from_its_claims(app, provider, sessions):
    since = datetime.now(UTC)
    async with desk(app) as page:
        signed = await sign_in(page, "patrol", "/desk/cases")
        # Back from another site, the desk moves on from its own page, so its SameSite=Strict cookie goes along.
        assert signed.status_code == 200 and 'content="0;url=/desk/cases"' in signed.text, signed.text
        assert "referrals_session" in page.cookies
        assert (await page.get("/desk/cases")).status_code == 200
    async with sessions() as s:
        user = (await s.exec(select(AppUser).where(AppUser.subject == f"{provider.issuer} op-patrol"))).one()
    assert (user.roles, user.district, user.star, user.email) == (["officer"], "010", "31313", "patrol@cpd.test")
    [opened] = await sessions_of(sessions, user.subject)
    assert opened.via == "oidc" and opened.id_token
    [entry] = [e for e in await entries(sessions, since, "sign_in") if e.user_id == user.id]
    assert (entry.outcome, entry.client, entry.component) == ("allowed", "192.0.2.10", "desk")
    assert json.loads(entry.details)["via"] == "oidc"
    [created] = [e for e in await entries(sessions, since, "user_updated") if e.user_id == user.id]
    assert json.loads(created.details)["created"] is True


async def test_a_case_link_followed_signed_out_lands_on_the_case_after_the_provider(app, api, people):
    """The e-mail's link (the case's desk page): signed out, the desk asks for a sign-in; its provider button carries
    where the person was going, kept on the server with the sign-in's state, and the callback moves on there."""
    case = await Driver(api, people).new_case()
    path = urlsplit(app.state.settings.case_url(case["id"])).path
    assert path == f"/desk/cases/{case['id']}"
    async with desk(app) as page:
        followed = await page.get(path)
        assert followed.status_code == 303 and followed.headers["location"] == f"/desk/sign-in?next={path}"
        form = await page.get(followed.headers["location"])
        button = re.search(r'id="provider-sign-in" href="([^"]+)"', form.text).group(1)
        begun = await page.get(html.unescape(button))
        assert begun.status_code == 303 and "next" not in parse_qs(urlsplit(begun.headers["location"]).query)
        signed = await page.get(await at_provider(begun.headers["location"], "lopez"))
        assert signed.status_code == 200 and f'content="0;url={path}"' in signed.text, signed.text
        landed = await page.get(path)
        assert landed.status_code == 200 and case["case_number"] in landed.text


@pytest.mark.parametrize(
    "hostile", ["//evil.example/desk/", "https://evil.example", "/desk/%2e%2e/%2e%2e/x", "/\\evil"]
)
async def test_a_provider_sign_in_never_moves_on_off_the_desk(app, hostile):
    async with desk(app) as page:
        signed = await sign_in(page, "lopez", hostile)
        assert signed.status_code == 200 and 'content="0;url=/desk/"' in signed.text, signed.text
        assert "evil" not in signed.text


async def test_groups_changed_at_the_provider_change_the_roles_at_the_next_sign_in(app, provider, sessions):
    subject = f"{provider.issuer} op-changing"
    async with desk(app) as page:
        assert (await sign_in(page, "changing")).status_code == 200
    provider.set_account("changing", groups=["CPD-Command", "Parking"])
    since = datetime.now(UTC)
    async with desk(app) as page:
        assert (await sign_in(page, "changing")).status_code == 200
    async with sessions() as s:
        user = (await s.exec(select(AppUser).where(AppUser.subject == subject))).one()
    assert user.roles == ["command"]
    [changed] = await entries(sessions, since, "user_updated")
    assert json.loads(changed.details)["fields"] == ["roles"] and json.loads(changed.details)["roles"] == ["command"]
    provider.set_account("changing", groups=["Parking"])  # no group with access any more: no way in
    async with desk(app) as page:
        refused = await sign_in(page, "changing")
        assert refused.status_code == 403 and "not in any group that has access" in refused.text
        assert "referrals_session" not in page.cookies


async def test_a_sign_in_without_a_second_factor_gets_a_clear_page_and_no_session(app, provider, sessions):
    since = datetime.now(UTC)
    async with desk(app) as page:
        refused = await sign_in(page, "nomfa")
        assert refused.status_code == 403
        assert "Multi-factor sign-in required" in refused.text and "second factor" in refused.text
        assert "referrals_session" not in page.cookies
    assert await sessions_of(sessions, f"{provider.issuer} op-nomfa") == []
    [entry] = await entries(sessions, since, "sign_in")
    assert (entry.outcome, entry.who, json.loads(entry.details)["reason"]) == (
        "failed",
        f"{provider.issuer} op-nomfa",
        "mfa",
    )


async def test_claims_that_map_to_no_role_give_no_access_and_no_user(app, provider, sessions):
    since = datetime.now(UTC)
    async with desk(app) as page:
        refused = await sign_in(page, "parking")
        assert refused.status_code == 403 and "No access" in refused.text
        assert "referrals_session" not in page.cookies
    async with sessions() as s:
        assert (await s.exec(select(AppUser).where(AppUser.subject == f"{provider.issuer} op-parking"))).first() is None
    [entry] = await entries(sessions, since, "sign_in")
    assert (entry.outcome, json.loads(entry.details)["reason"]) == ("failed", "no_role")


async def refused_without_session(page, response, sessions, since, reason: str, status: int = 400):
    assert response.status_code == status, response.text
    assert "referrals_session" not in page.cookies
    async with sessions() as s:
        opened = (await s.exec(select(WebSession).where(WebSession.created_at >= since))).all()
    assert opened == []
    failed = await entries(sessions, since, "sign_in")
    assert [json.loads(e.details)["reason"] for e in failed] == [reason]
    assert failed[0].outcome == "failed"


async def test_a_callback_with_a_state_this_browser_did_not_begin_is_refused(app, sessions):
    async with desk(app) as page:
        callback = await at_provider(await begin(page), "lopez")
    since = datetime.now(UTC)
    async with desk(app) as other:  # the same answer, in a browser that never began a sign-in (login CSRF)
        refused = await other.get(callback)
        await refused_without_session(other, refused, sessions, since, "state")
        assert "was not begun in this browser" in refused.text


async def test_a_replayed_callback_and_a_replayed_code_are_refused(app, sessions):
    async with desk(app) as page:
        callback = await at_provider(await begin(page), "lopez")
        assert (await page.get(callback)).status_code == 200
        page.cookies.delete("referrals_session")
        since = datetime.now(UTC)
        again = await page.get(callback)  # its state was used: refused before the provider is even asked
        await refused_without_session(page, again, sessions, since, "state")
    async with desk(app) as page:
        await begin(page)  # a fresh sign-in of this browser, answered with the old code
        state = page.cookies["referrals_oidc_state"]
        code = parse_qs(urlsplit(callback).query)["code"][0]
        since = datetime.now(UTC)
        replayed = await page.get("/desk/oidc/callback", params={"code": code, "state": state})
        await refused_without_session(page, replayed, sessions, since, "code")


async def test_an_id_token_with_another_nonce_is_refused(app, sessions):
    async with desk(app) as page:
        url = await begin(page)
        async with sessions() as s:  # the sign-in as stored here now expects another nonce than the one sent
            await s.exec(
                update(OidcLogin)
                .where(OidcLogin.created_at >= datetime.now(UTC) - timedelta(seconds=5))
                .values(nonce="another-nonce")
            )
            await s.commit()
        since = datetime.now(UTC)
        refused = await page.get(await at_provider(url, "lopez"))
        await refused_without_session(page, refused, sessions, since, "nonce")


async def test_a_tampered_id_token_is_refused(settings, worker, provider, sessions):
    """Between us and the provider's token endpoint, the ID token's payload is altered (its signature kept)."""
    real = httpx.AsyncHTTPTransport()

    class Tampering(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request):
            response = await real.handle_async_request(request)
            if not request.url.path.endswith("/token"):
                return response
            body = json.loads(await response.aread())
            header, payload, signature = body["id_token"].split(".")
            claims = json.loads(_b64decode(payload))
            claims["groups"] = ["CPD-Command"]
            body["id_token"] = ".".join([header, _b64encode(json.dumps(claims)), signature])
            return httpx.Response(200, json=body)

    app = create_app(oidc_settings(settings, provider))
    async with app.router.lifespan_context(app):
        app.state.oidc._http = httpx.AsyncClient(transport=Tampering())
        async with desk(app) as page:
            url = await begin(page)
            since = datetime.now(UTC)
            refused = await page.get(await at_provider(url, "lopez"))
            await refused_without_session(page, refused, sessions, since, "signature")


async def test_an_answer_naming_another_issuer_is_refused(app, sessions):
    async with desk(app) as page:
        callback = await at_provider(await begin(page), "lopez")
        query = parse_qs(urlsplit(callback).query)
        since = datetime.now(UTC)
        refused = await page.get(
            "/desk/oidc/callback",
            params={"code": query["code"][0], "state": query["state"][0], "iss": "https://idp.evil.example"},
        )
        await refused_without_session(page, refused, sessions, since, "issuer")


async def test_a_provider_that_is_not_the_configured_issuer_is_not_used(settings, worker, provider, sessions):
    """Discovery must name the issuer configured; one that names another is not trusted for anything."""
    app = create_app(oidc_settings(settings, provider, oidc_issuer=provider.issuer.replace("127.0.0.1", "localhost")))
    async with app.router.lifespan_context(app):
        async with desk(app) as page:
            refused = await page.get("/desk/sign-in/provider")
            assert refused.status_code == 503 and "cannot be reached" in refused.text
            assert refused.headers["retry-after"] == "5"
            assert "referrals_oidc_state" not in page.cookies


async def test_signing_out_ends_the_session_here_and_at_the_provider(app, provider, sessions):
    async with desk(app) as page, httpx.AsyncClient() as browser:
        callback = await oidc.password_login(await begin(page), "lopez", "pw-lopez", client=browser)
        assert (await page.get(callback.headers["location"])).status_code == 200
        cookie = page.cookies["referrals_session"]
        home = await page.get("/desk/")
        csrf = home.text.split('name="csrf_token" value="')[1].split('"')[0]
        since = datetime.now(UTC)
        out = await page.post("/desk/sign-out", data={"csrf_token": csrf})
        assert out.status_code == 200
        there = out.text.split('content="0;url=')[1].split('"')[0].replace("&amp;", "&")
        assert there.startswith(provider.metadata()["end_session_endpoint"]) and "id_token_hint=" in there
        sent = {name: values[0] for name, values in parse_qs(urlsplit(there).query).items()}
        back = await oidc.end_session(provider, client=browser, **sent)  # its "Sign out" button
        assert back.headers["location"].startswith(f"{APP}/desk/sign-in?ended=signed_out")
        notice = await page.get(back.headers["location"])
        assert "You are signed out." in notice.text
        async with desk(app) as stolen:
            stolen.cookies.set("referrals_session", cookie)
            assert (await stolen.get("/desk/")).status_code == 303
    [entry] = await entries(sessions, since, "sign_out")
    assert json.loads(entry.details)["via"] == "oidc"


def _b64decode(part: str) -> bytes:
    import base64

    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _b64encode(text: str) -> str:
    import base64

    return base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode()


# --- the API and the provider's access tokens ---


async def token_for(provider, login: str, resource: str = API_AUDIENCE) -> str:
    return await oidc.access_token(
        provider, "referrals-desk", SECRET, f"{APP}/desk/oidc/callback", login, ACCOUNTS[login]["password"], resource
    )


async def test_the_api_takes_the_providers_access_tokens(app, provider):
    token = await token_for(provider, "lopez")
    async with desk(app) as api:
        me = await api.get("/users/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200, me.text
    assert me.json()["roles"] == ["legal_reviewer"] and me.json()["email"] == "lopez@cpd.test"


async def test_a_key_rotation_at_the_provider_is_followed(app, provider):
    before = await token_for(provider, "lopez")
    async with desk(app) as api:
        assert (await api.get("/users/me", headers={"Authorization": f"Bearer {before}"})).status_code == 200
        kid = provider.rotate_keys()
        after = await token_for(provider, "lopez")
        assert _header(after)["kid"] == kid != _header(before)["kid"]
        # A key not seen yet: the key set is fetched again, and both the new and the old key verify.
        assert (await api.get("/users/me", headers={"Authorization": f"Bearer {after}"})).status_code == 200
        assert (await api.get("/users/me", headers={"Authorization": f"Bearer {before}"})).status_code == 200


def _header(token: str) -> dict:
    return json.loads(_b64decode(token.split(".")[0]))


@pytest.mark.parametrize(
    ("case", "reason"),
    [("wrong_audience", "audience"), ("without_mfa", "mfa"), ("tampered", "signature"), ("id_token", "id_token")],
)
async def test_the_api_refuses_bad_provider_tokens_and_records_each(app, provider, sessions, case, reason):
    if case == "wrong_audience":
        token = await token_for(provider, "lopez", oidc_provider.WRONG_AUDIENCE)
    elif case == "id_token":  # an ID token of a deployment whose API audience is the client id, as by default
        app = create_app(oidc_settings(app.state.settings, provider, oidc_audience=None))
        signed_in = await oidc.sign_in(
            provider,
            client_id="referrals-desk",
            client_secret=SECRET,
            redirect_uri=f"{APP}/desk/oidc/callback",
            login="lopez",
            password="pw-lopez",
            nonce="n-1",
        )
        token = signed_in["id_token"]
    elif case == "without_mfa":
        token = await token_for(provider, "nomfa")
    else:
        token = await token_for(provider, "lopez")
    if case == "tampered":
        header, payload, signature = token.split(".")
        claims = json.loads(_b64decode(payload)) | {"groups": ["CPD-Audit"]}
        token = ".".join([header, _b64encode(json.dumps(claims)), signature])
    since = datetime.now(UTC)
    async with (
        app.router.lifespan_context(app) if case == "id_token" else nullcontext(),
        desk(app, client=("192.0.2.77", 5000)) as api,
    ):
        refused = await api.get("/users/me", headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 401, refused.text
    assert refused.headers["www-authenticate"] == "Bearer"
    [entry] = await entries(sessions, since, "authenticate")
    assert (entry.outcome, entry.client, json.loads(entry.details)["reason"]) == ("failed", "192.0.2.77", reason)


async def test_an_expired_provider_token_is_refused(settings, worker, sessions, tmp_path):
    client = {"client_id": "short", "client_secret": SECRET, "redirect_uris": [f"{APP}/desk/oidc/callback"]}
    with oidc_provider.start(
        tmp_path / "op", clients=[client], accounts=ACCOUNTS, resource=API_AUDIENCE, access_token_ttl=1
    ) as short:
        app = create_app(oidc_settings(settings, short, oidc_client_id="short"))
        async with app.router.lifespan_context(app):
            token = await oidc.access_token(
                short, "short", SECRET, f"{APP}/desk/oidc/callback", "lopez", "pw-lopez", API_AUDIENCE
            )
            await asyncio.sleep(2.1)  # issued for a second; no clock skew allowed here
            since = datetime.now(UTC)
            async with desk(app, client=("192.0.2.78", 5000)) as api:
                refused = await api.get("/users/me", headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 401 and "expired" in refused.json()["error"]["message"]
    [entry] = [e for e in await entries(sessions, since, "authenticate") if e.client == "192.0.2.78"]
    assert (entry.outcome, json.loads(entry.details)["reason"]) == ("failed", "expired")


async def test_a_first_sign_in_takes_over_an_admin_made_user_only_with_a_verified_e_mail(
    app, provider, api, people, sessions
):
    made = await api.post(
        "/users",
        headers=people.headers("admin"),
        json={"name": "Atty. Before", "email": "takeover@cpd.test", "roles": ["auditor"]},
    )
    old_token = made.json()["token"]
    async with desk(app) as page:
        refused = await sign_in(page, "takeover")
        assert refused.status_code == 403 and "belongs to another account" in refused.text
        assert "referrals_session" not in page.cookies
    provider.set_account("takeover", email_verified=True)
    async with desk(app) as page:
        assert (await sign_in(page, "takeover")).status_code == 200
    async with sessions() as s:
        user = await s.get(AppUser, made.json()["id"])
    assert (user.subject, user.roles) == (f"{provider.issuer} op-takeover", ["legal_reviewer"])
    # The token the admin gave out ends: from now on the provider decides who this is.
    assert (await api.get("/users/me", headers={"Authorization": f"Bearer {old_token}"})).status_code == 401
    assert (await api.post(f"/users/{user.id}/revoke", headers=people.headers("admin"))).status_code == 200
    since = datetime.now(UTC)
    async with desk(app) as page:
        revoked = await sign_in(page, "takeover")
        assert revoked.status_code == 403 and "revoked" in revoked.text
        assert "referrals_session" not in page.cookies
    [entry] = await entries(sessions, since, "sign_in")
    assert json.loads(entry.details)["reason"] == "revoked"
