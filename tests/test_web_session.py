"""Signing in to the desk with a token, the session cookie, CSRF, signing out, and the codec with the cookie."""

import re
from datetime import UTC, datetime, timedelta

from sqlmodel import select

from referrals.store.tables import AppUser, WebSession
from referrals.store.users import hash_token
from tests.support.desk_client import browser, sign_in


async def test_pages_ask_for_sign_in_first_and_come_back(api, people):
    async with browser(api) as page:
        first = await page.get("/desk/dashboard?x=1")
        assert first.status_code == 303
        assert first.headers["location"] == "/desk/sign-in?next=/desk/dashboard%3Fx%3D1"
        signed = await sign_in(page, people.tokens["reviewer"], "/desk/dashboard?x=1")
        assert signed.status_code == 303 and signed.headers["location"] == "/desk/dashboard?x=1"
        # Signed in, the sign-in page sends the person on.
        again = await page.get("/desk/sign-in", params={"next": "/desk/dashboard"})
        assert again.status_code == 303 and again.headers["location"] == "/desk/dashboard"


async def test_the_session_cookie_is_httponly_strict_and_stored_only_as_a_hash(api, people, sessions):
    async with browser(api) as page:
        signed = await sign_in(page, people.tokens["custodian"])
        cookie = next(c for c in signed.headers.get_list("set-cookie") if c.startswith("referrals_session="))
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
        value = page.cookies["referrals_session"]
        assert value != people.tokens["custodian"]
        async with sessions() as s:
            row = (await s.exec(select(WebSession).where(WebSession.id_hash == hash_token(value)))).one()
            assert row.user_id == people.ids["custodian"]
            assert timedelta(hours=11) < row.expires_at - datetime.now(UTC) <= timedelta(hours=12)
            stored = [r.id_hash for r in (await s.exec(select(WebSession))).all()]
        assert value not in stored


async def test_a_wrong_token_is_refused_on_the_page_and_sets_no_session(api):
    async with browser(api) as page:
        refused = await sign_in(page, "not-a-token")
        assert refused.status_code == 401
        assert "That token is not valid" in refused.text and 'aria-invalid="true"' in refused.text
        assert "referrals_session" not in page.cookies
        empty = await sign_in(page, "")
        assert empty.status_code == 401 and "Enter your access token" in empty.text


async def test_sign_in_and_sign_out_need_the_forms_csrf_token(api, people, sessions):
    async with browser(api) as page:
        await page.get("/desk/sign-in")
        forged = await page.post("/desk/sign-in", data={"token": people.tokens["auditor"], "csrf_token": "guess"})
        assert forged.status_code == 403 and "did not come from this site" in forged.text
        assert "referrals_session" not in page.cookies

        await sign_in(page, people.tokens["auditor"])
        value = page.cookies["referrals_session"]
        forged_out = await page.post("/desk/sign-out", data={"csrf_token": "guess"})
        assert forged_out.status_code == 403
        assert (await page.get("/desk/sign-in")).status_code == 303  # still signed in

        home = await page.get("/desk/sign-in?next=/desk/")
        assert home.status_code == 303
        async with sessions() as s:
            csrf = (await s.exec(select(WebSession).where(WebSession.id_hash == hash_token(value)))).one().csrf_token
        out = await page.post("/desk/sign-out", data={"csrf_token": csrf})
        assert out.status_code == 303 and out.headers["location"] == "/desk/sign-in?ended=signed_out"
        async with sessions() as s:
            assert (await s.exec(select(WebSession).where(WebSession.id_hash == hash_token(value)))).first() is None
        # The old cookie, replayed, opens nothing.
        async with browser(api) as stolen:
            stolen.cookies.set("referrals_session", value)
            assert (await stolen.get("/desk/dashboard")).status_code == 303


async def test_revoking_or_expiring_the_token_ends_its_browser_sessions(api, people, sessions):
    created = await api.post(
        "/users",
        headers=people.headers("admin"),
        json={"name": "Det. Browser", "email": "browser@test.invalid", "roles": ["legal_reviewer"]},
    )
    token = created.json()["token"]
    async with browser(api) as page:
        assert (await sign_in(page, token)).status_code == 303
        assert (await page.get("/desk/sign-in")).status_code == 303
        async with sessions() as s:
            user = (await s.exec(select(AppUser).where(AppUser.email == "browser@test.invalid"))).one()
            user.token_expires_at = datetime.now(UTC) - timedelta(seconds=1)
            await s.commit()
        assert (await page.get("/desk/sign-in")).status_code == 200  # signed out: the form again
        async with sessions() as s:
            user = (await s.exec(select(AppUser).where(AppUser.email == "browser@test.invalid"))).one()
            user.token_expires_at, user.active = None, False
            await s.commit()
        assert (await sign_in(page, token)).status_code == 401


async def test_only_the_desk_may_be_returned_to(api, people):
    async with browser(api) as page:
        signed = await sign_in(page, people.tokens["auditor"], "https://evil.example/desk/")
        assert signed.headers["location"] == "/desk/"
        for elsewhere in ("//evil.example/desk/", "/incidents", "/desk/\\evil"):
            again = await page.get("/desk/sign-in", params={"next": elsewhere})
            assert again.headers["location"] == "/desk/"


async def test_pages_forbid_framing_and_foreign_assets(api):
    async with browser(api) as page:
        form = await page.get("/desk/sign-in")
    policy = form.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert (
        'href="/desk/static/desk.css"' in form.text
        and "http" not in re.sub(r'"http[^"]*"', "", form.text).split("<body")[0]
    )


async def test_the_temporal_ui_decodes_with_the_desk_cookie_of_those_who_see_every_case(api, people):
    sample = {"payloads": [{"metadata": {"encoding": "YmluYXJ5L3BsYWlu"}, "data": "aGVsbG8="}]}
    encoded = await api.post("/codec/encode", json=sample, headers=people.headers("admin"))
    assert encoded.status_code == 200
    async with browser(api) as page:
        assert (await page.post("/codec/decode", json=encoded.json())).status_code == 401
        await sign_in(page, people.tokens["auditor"])
        decoded = await page.post("/codec/decode", json=encoded.json())
        assert decoded.json() == sample
        # Encoding is for admins: a read-only UI has no use for it.
        refused = await page.post("/codec/encode", json=sample)
        assert refused.status_code == 403 and "encode_payloads" in refused.json()["error"]["message"]
    async with browser(api) as page:
        await sign_in(page, people.tokens["officer"])
        refused = await page.post("/codec/decode", json=sample)
        assert refused.status_code == 403 and "decode_payloads" in refused.json()["error"]["message"]
