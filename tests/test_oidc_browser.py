"""Signing in to the desk at the department's provider in a real browser: Chromium follows the real redirects to
the provider's own sign-in page (npm's oidc-provider on loopback), comes back signed in, and signs out there too;
a sign-in without a second factor gets its page, and no session."""

import json

import pytest
from pydantic import SecretStr

from referrals.devstack import oidc_provider
from referrals.devstack.procs import free_port
from tests.support.browser import SCREENSHOTS, Shots, chromium, needs_chromium, serving

pytestmark = [
    needs_chromium,
    pytest.mark.skipif(
        not oidc_provider.installed(),
        reason="Node.js or referrals/devstack/oidc's "
        "oidc-provider is missing (`python -m referrals.devstack.oidc_provider install`)",
    ),
]

ACCOUNTS = {
    "lopez": {
        "sub": "br-lopez",
        "password": "pw-lopez",
        "email": "br.lopez@cpd.test",
        "email_verified": True,
        "name": "Atty. Browser Lopez",
        "groups": ["CPD-Legal"],
        "mfa": True,
    },
    "nomfa": {
        "sub": "br-nomfa",
        "password": "pw-nomfa",
        "email": "br.nomfa@cpd.test",
        "email_verified": True,
        "name": "Sgt. Browser",
        "groups": ["CPD-Legal"],
        "mfa": False,
    },
}


async def test_signing_in_and_out_at_the_provider_in_chromium(settings, worker, tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    client = {
        "client_id": "desk-browser",
        "client_secret": "browser-secret",
        "redirect_uris": [f"{url}/desk/oidc/callback"],
        "post_logout_redirect_uris": [f"{url}/desk/sign-in?ended=signed_out"],
    }
    shots = Shots(SCREENSHOTS / "oidc-sign-in")
    with oidc_provider.start(tmp_path / "op", clients=[client], accounts=ACCOUNTS, resource=f"{url}/") as provider:
        desk_settings = settings.model_copy(
            update={
                "oidc_issuer": provider.issuer,
                "oidc_client_id": "desk-browser",
                "oidc_client_secret": SecretStr("browser-secret"),
                "oidc_require_mfa": True,
                "oidc_group_roles": json.dumps({"CPD-Legal": "legal_reviewer"}),
            }
        )
        async with serving(desk_settings, port) as base, chromium() as browser:
            context = await browser.new_context(base_url=base)
            page = await context.new_page()
            await page.goto("/desk/cases")
            await page.click("#provider-sign-in")
            await page.wait_for_url(f"{provider.issuer}/**")  # the provider's own page, on its own origin
            await shots.take(page, "provider-sign-in-page")
            await page.fill("input[name=login]", "lopez")
            await page.fill("input[name=password]", "pw-lopez")
            await page.click("button:has-text('Sign in')")
            await page.wait_for_url(f"{base}/desk/cases")
            assert "Atty. Browser Lopez" in await page.inner_text("header")
            await shots.take(page, "signed-in-cases")

            await page.click("header button:has-text('Sign out')")
            await page.wait_for_url(f"{provider.issuer}/**")
            await page.click("button:has-text('Sign out')")  # the provider's confirmation: signed out there too
            await page.wait_for_url(f"{base}/desk/sign-in?ended=signed_out")
            assert "You are signed out." in await page.inner_text("main")
            await page.goto("/desk/cases")
            assert "/desk/sign-in" in page.url
            # The provider's session is over too: signing in again asks for the password.
            await page.click("#provider-sign-in")
            await page.wait_for_selector("input[name=password]")
            await context.close()

            context = await browser.new_context(base_url=base)
            page = await context.new_page()
            await page.goto("/desk/sign-in")
            await page.click("#provider-sign-in")
            await page.fill("input[name=login]", "nomfa")
            await page.fill("input[name=password]", "pw-nomfa")
            await page.click("button:has-text('Sign in')")
            await page.wait_for_selector("#refusal")
            assert "Multi-factor sign-in required" in await page.inner_text("h1")
            await shots.take(page, "refused-without-mfa")
            assert not [c for c in await context.cookies() if c["name"] == "referrals_session"]
            await context.close()
